"""The connection pool: a connection is lent for the statements of one unit of work, no longer.

Written for the request path rather than taken from asyncpg: its pool spends a task on every
release (`asyncio.shield`) and, with a timeout, another on every acquire, and cannot tell a full
pool from a database that does not answer. Here a release is a list append or a hand-over to the
first waiter, and a wait is one future with one timer.
"""

import asyncio
import logging
import select
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, TypeVar

import asyncpg
import orjson
from asyncpg.connection import LoggedQuery

from impl.db.url import ConnectionTarget

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a database that is down, restarting, full or out of reach raises: socket errors and
# timeouts while connecting (OSError, TimeoutError), SQLSTATE class 08 (connection exceptions),
# 57P0x (shutdown, cannot connect now) and 53300 (too many connections). A connection closed
# under a statement is a PostgresConnectionError too (ConnectionDoesNotExistError).
UNREACHABLE_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)


# Past its deadline a unit of work's statement is cancelled in the database, and the answer waits
# this long at most for the database to confirm it: a live server does in milliseconds, so the
# statement is over when the client hears of it; one that does not answer at all (frozen, cut
# off) must not hold the answer, and the cancel is then seen through in the background.
CANCEL_CONFIRMATION_SECONDS = 0.5

# The loop time by which everything asked of the database must be over (`Database.within`).
_bound: ContextVar[float | None] = ContextVar("database_bound", default=None)


class DatabaseUnavailable(Exception):
    """PostgreSQL could not be reached or dropped the connection: retry later."""


class ConnectionLost(DatabaseUnavailable):
    """The connection closed under a statement, which may or may not have run."""


class DatabaseTimeout(Exception):
    """A unit of work's statements ran past its deadline and were cancelled."""


class PoolExhausted(Exception):
    """Every pooled connection stayed in use for the whole wait: the service is busy."""

    def __init__(self, pool_size: int, waited_seconds: float) -> None:
        super().__init__(f"all {pool_size} connections in use for {waited_seconds} s")


@dataclass(frozen=True)
class PoolSettings:
    size: int
    acquire_timeout_seconds: float
    # The bound of a unit of work's statements together, from when it is lent its connection:
    # past it the client cancels them on the server, because a pooler such as PgBouncer refuses
    # `statement_timeout` as a startup parameter. None: unbounded.
    statement_timeout_seconds: float | None = None
    idle_lifetime_seconds: float = 300.0
    # How long a cancelled statement may take to end, and a connection to close politely, before
    # the connection is dropped.
    settle_timeout_seconds: float = 5.0


# How a connection is opened: `asyncpg.connect`'s signature (a DSN, then keyword arguments).
Connect = Callable[..., Awaitable[asyncpg.Connection]]


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


async def read_json(connection: asyncpg.Connection) -> None:
    """`jsonb` read and written as Python values on `connection` (a task's `due` is one, and
    becomes part of the task's document as it is read)."""
    # A type of pg_catalog: asyncpg knows it without asking the server.
    await connection.set_type_codec(
        "jsonb", encoder=_json_text, decoder=orjson.loads, schema="pg_catalog"
    )


async def connect_reading_json(dsn: str, **arguments: object) -> asyncpg.Connection:
    """asyncpg's connect, then `read_json`."""
    connection = await asyncpg.connect(dsn, **arguments)
    try:
        await read_json(connection)
    except BaseException:
        connection.terminate()
        raise
    return connection


class PoolObserver(Protocol):
    """What the pool reports as it works, for metrics and traces; counts are changes."""

    def connections_opened(self, count: int) -> None: ...

    def connections_lent(self, count: int) -> None: ...

    def requests_waiting(self, count: int) -> None: ...

    def statement_finished(self, record: LoggedQuery) -> None: ...


@dataclass
class _Idle:
    connection: asyncpg.Connection
    since: float


@dataclass(frozen=True)
class _Loan:
    connection: asyncpg.Connection
    # The loop time by which the unit of work must be over; None: unbounded.
    deadline: float | None


class Database:
    """Up to `size` connections per process, opened on demand, so the service starts while
    PostgreSQL is down; idle ones are closed after `idle_lifetime_seconds`.

    Waiting for a free connection and opening one fail differently: a full pool for the whole
    wait is `PoolExhausted` (the service is busy), a failed connect or a dropped connection is
    `DatabaseUnavailable` (the database is down). They are answered and logged differently.
    """

    def __init__(
        self,
        target: ConnectionTarget,
        settings: PoolSettings,
        observer: PoolObserver | None = None,
        connect: Connect = connect_reading_json,
    ) -> None:
        self._target = target
        self._settings = settings
        self._observer = observer
        self._connect = connect
        self._idle: list[_Idle] = []
        # Slots taken: connections open or being opened, idle or lent, and slots handed to a
        # woken waiter that has yet to open its connection. Never more than `size`.
        self._count = 0
        # A waiter's future gets a connection handed over, or None: the slot of a connection
        # that closed, for the waiter to open one in. Either way the waiter's turn is kept: a
        # newcomer cannot take what was handed over.
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._pruning: asyncio.TimerHandle | None = None
        # Connections whose statement a cancelled request left running, until it has stopped.
        self._settling: dict[asyncio.Task[None], asyncpg.Connection] = {}
        self._closed = False

    @asynccontextmanager
    async def within(self, seconds: float) -> AsyncIterator[None]:
        """Everything the block asks of the database ends within `seconds`: waiting for a
        connection, opening one, every statement. A statement cut short is cancelled without
        waiting for the database to confirm it; its connection settles in the background."""
        token = _bound.set(asyncio.get_running_loop().time() + seconds)
        try:
            yield
        finally:
            _bound.reset(token)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection for the block, taken back as the block ends.

        Waiting for it is bounded by the pool's wait, opening it by the connect timeout, and the
        block's statements together by the statement timeout from when it is lent (or all of it
        by `within`). A block past its deadline is cancelled and raises `DatabaseTimeout`; one
        whose connection closed under a statement, `ConnectionLost` (never repeated here: it may
        have written). A connection whose block ended in anything but a completed statement (a
        cancellation, a timeout, a lost socket) is closed rather than reused.
        """
        async with self._unit(*_deadline_and_window()) as loan:
            yield loan.connection

    async def read(self, statements: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`statements`, which only read, on a pooled connection; once more on another one if
        the connection closed under them, within the same deadline.

        A read repeated changes nothing. A write must not be: the lost connection may have
        committed it first, so writes take `connection()`, and losing it is `ConnectionLost`.
        One repetition at most, and no more time than the first attempt had left, so a
        database that is really down is still answered in time.
        """
        deadline, window = _deadline_and_window()
        try:
            async with self._unit(deadline, window) as loan:
                deadline = loan.deadline
                return await statements(loan.connection)
        except ConnectionLost as error:
            logger.info("repeating a read on another connection: %s", error)
        async with self._unit(deadline, window) as loan:
            return await statements(loan.connection)

    async def ping(self) -> None:
        """One round trip on a pooled connection."""
        await self.read(lambda connection: connection.fetchval("/* ping */ SELECT 1"))

    @asynccontextmanager
    async def _unit(
        self, deadline: float | None, confirmation_seconds: float
    ) -> AsyncIterator[_Loan]:
        """A connection lent for one unit of work, under one deadline: `deadline` (loop time) for
        everything, or when it is None, the statement timeout from when the connection is lent.

        A timer cancels the block at the deadline (asyncpg then asks the server to cancel the
        statement under way), and the answer waits up to `confirmation_seconds` more for the
        server to confirm that. The block may still wait on the database as it unwinds (a
        transaction's ROLLBACK waits for the confirmation): CANCEL_CONFIRMATION_SECONDS past
        the deadline its connection is dropped under it, which ends that wait.
        """
        loop = asyncio.get_running_loop()
        connection = await self._acquire(deadline)
        if deadline is None and self._settings.statement_timeout_seconds is not None:
            deadline = loop.time() + self._settings.statement_timeout_seconds
        if self._observer is not None:
            self._observer.connections_lent(1)
        budget = asyncio.timeout_at(deadline)
        cut_off = (
            None
            if deadline is None
            else loop.call_at(deadline + CANCEL_CONFIRMATION_SECONDS, connection.terminate)
        )
        reusable = False
        settling = False
        try:
            try:
                async with budget:
                    yield _Loan(connection, deadline)
            finally:
                if cut_off is not None:
                    cut_off.cancel()
            reusable = True
        except BaseException as error:
            # The budget turns its own cancellation into TimeoutError: a CancelledError is
            # someone else's (a shutdown), and goes on as one.
            if budget.expired() and not isinstance(error, asyncio.CancelledError):
                # Whatever the block raised as it was cut short (the cancellation itself, or a
                # ROLLBACK on the dropped connection), it ran past its deadline.
                settling = True
                settled = self._settle_later(connection)
                assert deadline is not None, "a budget without a deadline never expires"
                window = deadline + confirmation_seconds - loop.time()
                if window > 0:
                    await asyncio.wait({settled}, timeout=window)
                raise DatabaseTimeout(
                    "the statements of one unit of work ran past its deadline"
                ) from error
            meaning, reusable, settling = self._meaning(connection, error)
            if meaning is error:
                raise
            raise meaning from error
        finally:
            if not settling:
                self._release_lent(connection, reusable)

    def _meaning(
        self, connection: asyncpg.Connection, error: BaseException
    ) -> tuple[BaseException, bool, bool]:
        """What `error`, which ended a block before its deadline, is to callers, and whether the
        connection is reusable and settling."""
        if isinstance(error, asyncio.CancelledError):
            # The request was cancelled mid-statement (a shutdown's time ran out): asyncpg has
            # asked the server to cancel the statement. Terminating the connection now would
            # abandon that request and leave the statement running, free to commit later.
            self._settle_later(connection)
            return error, False, True
        if isinstance(error, asyncpg.QueryCanceledError):
            # The server's own statement_timeout (a role's default, say): the statement is
            # over and the connection is fine.
            return DatabaseTimeout(str(error)), True, False
        if isinstance(error, UNREACHABLE_ERRORS):
            return _unavailable(connection, error), False, False
        if isinstance(error, asyncpg.PostgresError):
            # The server answered with an error: the connection itself is fine.
            return error, True, False
        if isinstance(error, asyncpg.InterfaceError) and connection.is_closed():
            # asyncpg refuses a statement on a connection it already knows is closed.
            return ConnectionLost(str(error)), False, False
        if isinstance(error, Exception) and not isinstance(error, asyncpg.InterfaceError):
            # The block's own error (a refused write, say), raised between statements: the
            # connection is at rest, and one left in a transaction is closed on release anyway.
            return error, not connection.is_closed(), False
        return error, False, False

    async def _settled(self, connection: asyncpg.Connection) -> bool:
        """Whether the statement that timed out is over and the connection usable again.

        asyncpg sends the server a cancel request in the background; terminating the connection
        now would abandon it, and the statement would go on (and perhaps commit) after its 504.
        The next statement on the connection waits for the cancel to be acknowledged.
        """
        try:
            await connection.execute(
                "/* settle */ SELECT 1", timeout=self._settings.settle_timeout_seconds
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, *UNREACHABLE_ERRORS):
            return False
        return True

    def _settle_later(self, connection: asyncpg.Connection) -> "asyncio.Task[None]":
        task = asyncio.get_running_loop().create_task(self._settle_then_release(connection))
        self._settling[task] = connection
        task.add_done_callback(self._settled_task_done)
        return task

    def _settled_task_done(self, task: "asyncio.Task[None]") -> None:
        del self._settling[task]

    async def _settle_then_release(self, connection: asyncpg.Connection) -> None:
        reusable = False
        try:
            reusable = await self._settled(connection)
        finally:
            # Cancelled itself (the pool closing, the loop ending), it still gives the slot back.
            self._release_lent(connection, reusable)

    def _release_lent(self, connection: asyncpg.Connection, reusable: bool) -> None:
        if self._observer is not None:
            self._observer.connections_lent(-1)
        self._release(connection, reusable)

    async def close(self) -> None:
        """Close every connection, once the statements of cancelled requests have stopped.

        Bounded: a connection whose statement does not stop, or that does not close, within the
        settle timeout is dropped.
        """
        self._closed = True
        if self._pruning is not None:
            self._pruning.cancel()
        timeout = self._settings.settle_timeout_seconds
        if self._settling:
            await asyncio.wait(self._settling, timeout=timeout)
        for task, connection in list(self._settling.items()):
            connection.terminate()
            task.cancel()
        if self._settling:
            await asyncio.wait(self._settling)
        idle, self._idle = self._idle, []
        self._closing(len(idle))
        await asyncio.gather(*(_close_quietly(entry.connection, timeout) for entry in idle))

    async def _acquire(self, deadline: float | None) -> asyncpg.Connection:
        """A connection at rest, a new one, or the next one given back: the wait is the pool's,
        and neither it nor opening a connection outlasts `deadline` (loop time) when given."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        loop = asyncio.get_running_loop()
        wait_seconds = self._settings.acquire_timeout_seconds
        if deadline is not None:
            wait_seconds = max(min(wait_seconds, deadline - loop.time()), 0.0)
        wait_deadline = loop.time() + wait_seconds
        while True:
            if self._idle:
                connection = self._idle.pop().connection
            elif self._count < self._settings.size:
                self._count += 1
                return await self._open(deadline)
            else:
                handed_over = await self._wait(wait_deadline, wait_seconds)
                if handed_over is None:
                    return await self._open(deadline)
                # It was alive when given back; the server may have closed it since.
                connection = handed_over
            if _alive(connection):
                return connection
            # Its slot is this request's to open a new one in.
            connection.terminate()
            if self._observer is not None:
                self._observer.connections_opened(-1)
            return await self._open(deadline)

    async def _open(self, deadline: float | None) -> asyncpg.Connection:
        """A new connection in a slot already counted as taken; on failure the slot is freed."""
        if self._observer is not None:
            self._observer.connections_opened(1)
        arguments = dict(self._target.connect_args)
        if deadline is not None:
            remaining = deadline - asyncio.get_running_loop().time()
            arguments["timeout"] = min(arguments.get("timeout", remaining), remaining)
        try:
            connection = await self._connect(self._target.dsn, **arguments)
        except BaseException as error:
            self._connection_gone()
            if isinstance(error, UNREACHABLE_ERRORS):
                raise DatabaseUnavailable(str(error)) from error
            raise
        if self._observer is not None:
            connection.add_query_logger(self._observer.statement_finished)
        return connection

    async def _wait(self, deadline: float, wait_seconds: float) -> asyncpg.Connection | None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[asyncpg.Connection | None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_at(deadline, _expire, waiter)
        if self._observer is not None:
            self._observer.requests_waiting(1)
        try:
            return await waiter
        except TimeoutError:
            logger.warning(
                "connection pool exhausted: all %d connections in use for %.1f s",
                self._settings.size,
                wait_seconds,
            )
            raise PoolExhausted(self._settings.size, wait_seconds) from None
        except asyncio.CancelledError:
            # Cancelled just after a connection was handed over: give it back, not away.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed_over = waiter.result()
                if handed_over is not None:
                    self._release(handed_over, reusable=True)
                else:
                    self._slot_freed()
            raise
        finally:
            timer.cancel()
            if self._observer is not None:
                self._observer.requests_waiting(-1)

    def _release(self, connection: asyncpg.Connection, reusable: bool) -> None:
        if self._closed or not reusable or connection.is_closed() or connection.is_in_transaction():
            connection.terminate()
            self._connection_gone()
            return
        if not self._wake_one(connection):
            self._idle.append(_Idle(connection, time.monotonic()))
            self._schedule_pruning()

    def _closing(self, count: int) -> None:
        """`count` idle connections closed: their slots are free (none waits while one is idle)."""
        self._count -= count
        if self._observer is not None:
            self._observer.connections_opened(-count)

    def _connection_gone(self) -> None:
        """A lent or opening connection closed: its slot goes to the longest waiter, if any."""
        if self._observer is not None:
            self._observer.connections_opened(-1)
        self._slot_freed()

    def _slot_freed(self) -> None:
        if not self._wake_one(None):
            self._count -= 1

    def _wake_one(self, connection: asyncpg.Connection | None) -> bool:
        """Hand `connection` (or a free slot) to the longest waiter; False if nobody waits."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    def _schedule_pruning(self) -> None:
        if self._pruning is None:
            loop = asyncio.get_running_loop()
            self._pruning = loop.call_later(self._settings.idle_lifetime_seconds, self._prune)

    def _prune(self) -> None:
        """Close connections idle for the whole lifetime (the oldest are at the bottom)."""
        self._pruning = None
        cutoff = time.monotonic() - self._settings.idle_lifetime_seconds
        while self._idle and self._idle[0].since <= cutoff:
            self._idle.pop(0).connection.terminate()
            self._closing(1)
        if self._idle:
            self._schedule_pruning()


def _deadline_and_window() -> tuple[float | None, float]:
    """The deadline `Database.within` set, if any, and how long a cancel may take to confirm:
    under `within` nothing may outlast the deadline, not even that wait."""
    bound = _bound.get()
    return bound, CANCEL_CONFIRMATION_SECONDS if bound is None else 0.0


def _alive(connection: asyncpg.Connection) -> bool:
    """Whether a connection at rest is fit to lend: not closed, and nothing unread from the server.

    PostgreSQL sends nothing unasked on a connection at rest but its goodbye (a FATAL error, then
    the end of the stream: a terminated backend, a suspended compute, a pooler dropping its
    client). asyncpg marks the connection closed only once the event loop has read that; a busy
    loop may not have yet, and a statement sent then is lost without knowing whether it ran.
    So the socket is asked directly, without waiting (one poll(2), no round trip).
    """
    if connection.is_closed():
        return False
    # asyncpg offers no public way to its socket.
    socket = connection._transport.get_extra_info("socket")
    poller = select.poll()
    poller.register(socket.fileno(), select.POLLIN)
    return not poller.poll(0)


def _unavailable(connection: asyncpg.Connection, error: BaseException) -> DatabaseUnavailable:
    """`ConnectionLost` when the connection is gone after `error`: it closed under the statement."""
    kind = ConnectionLost if connection.is_closed() else DatabaseUnavailable
    return kind(str(error))


async def _close_quietly(connection: asyncpg.Connection, seconds: float) -> None:
    """Close politely, or drop the connection if the server does not answer in `seconds`."""
    try:
        await connection.close(timeout=seconds)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, *UNREACHABLE_ERRORS):
        connection.terminate()


def _expire(waiter: "asyncio.Future[asyncpg.Connection | None]") -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
