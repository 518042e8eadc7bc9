"""The connection pool: a connection is lent for the statements of one unit of work, no longer.

Written for the request path rather than taken from asyncpg: its pool spends a task on every
release (`asyncio.shield`) and, with a timeout, another on every acquire, and cannot tell a full
pool from a database that does not answer. Here a release is a list append or a hand-over to the
first waiter, and a wait is one future with one timer.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from impl.db.url import ConnectionTarget

logger = logging.getLogger(__name__)

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


class DatabaseUnavailable(Exception):
    """PostgreSQL could not be reached or dropped the connection: retry later."""


class PoolExhausted(Exception):
    """Every pooled connection stayed in use for the whole wait: the service is busy."""

    def __init__(self, pool_size: int, waited_seconds: float) -> None:
        super().__init__(f"all {pool_size} connections in use for {waited_seconds} s")


@dataclass(frozen=True)
class PoolSettings:
    size: int
    acquire_timeout_seconds: float
    idle_lifetime_seconds: float = 300.0


@dataclass
class _Idle:
    connection: asyncpg.Connection
    since: float


class Database:
    """Up to `size` connections per process, opened on demand, so the service starts while
    PostgreSQL is down; idle ones are closed after `idle_lifetime_seconds`.

    Waiting for a free connection and opening one fail differently: a full pool for the whole
    wait is `PoolExhausted` (the service is busy), a failed connect or a dropped connection is
    `DatabaseUnavailable` (the database is down). They are answered and logged differently.
    """

    def __init__(self, target: ConnectionTarget, settings: PoolSettings) -> None:
        self._target = target
        self._settings = settings
        self._idle: list[_Idle] = []
        # Connections open or being opened, idle or lent.
        self._count = 0
        # A waiter's future gets a connection handed over, or None: "a slot is free, open one".
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._pruning: asyncio.TimerHandle | None = None
        self._closed = False

    @asynccontextmanager
    async def connection(
        self, wait_seconds: float | None = None
    ) -> AsyncIterator[asyncpg.Connection]:
        """A connection for the block, taken back as the block ends.

        `wait_seconds` bounds the wait for a free connection (default: the pool's setting).
        A connection whose block ended in anything but a completed statement (a cancellation, a
        timeout, a lost socket) is closed rather than reused.
        """
        connection = await self._acquire(
            self._settings.acquire_timeout_seconds if wait_seconds is None else wait_seconds
        )
        reusable = False
        try:
            yield connection
            reusable = True
        except asyncpg.PostgresError as error:
            # The server answered with an error: the connection itself is fine, unless the
            # error says it is not.
            reusable = not isinstance(error, UNREACHABLE_ERRORS)
            if not reusable:
                raise DatabaseUnavailable(str(error)) from error
            raise
        except UNREACHABLE_ERRORS as error:
            raise DatabaseUnavailable(str(error)) from error
        finally:
            self._release(connection, reusable)

    async def ping(self, wait_seconds: float) -> None:
        """One round trip, waiting at most `wait_seconds` for a connection and for the answer."""
        async with self.connection(wait_seconds) as connection:
            await connection.fetchval("SELECT 1", timeout=wait_seconds)

    async def close(self) -> None:
        self._closed = True
        if self._pruning is not None:
            self._pruning.cancel()
        idle, self._idle = self._idle, []
        self._count -= len(idle)
        for entry in idle:
            await entry.connection.close()

    async def _acquire(self, wait_seconds: float) -> asyncpg.Connection:
        if self._closed:
            raise RuntimeError("the pool is closed")
        deadline = time.monotonic() + wait_seconds
        while True:
            if self._idle:
                connection = self._idle.pop().connection
                if not connection.is_closed():
                    return connection
                self._count -= 1
                continue
            if self._count < self._settings.size:
                return await self._open()
            handed_over = await self._wait(deadline, wait_seconds)
            if handed_over is not None:
                return handed_over

    async def _open(self) -> asyncpg.Connection:
        self._count += 1
        try:
            return await asyncpg.connect(self._target.dsn, **self._target.connect_args)
        except BaseException as error:
            self._count -= 1
            self._wake_one(None)
            if isinstance(error, UNREACHABLE_ERRORS):
                raise DatabaseUnavailable(str(error)) from error
            raise

    async def _wait(self, deadline: float, wait_seconds: float) -> asyncpg.Connection | None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[asyncpg.Connection | None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(max(deadline - time.monotonic(), 0), _expire, waiter)
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
                    self._wake_one(None)
            raise
        finally:
            timer.cancel()

    def _release(self, connection: asyncpg.Connection, reusable: bool) -> None:
        if self._closed or not reusable or connection.is_closed() or connection.is_in_transaction():
            connection.terminate()
            self._count -= 1
            self._wake_one(None)
            return
        if not self._wake_one(connection):
            self._idle.append(_Idle(connection, time.monotonic()))
            self._schedule_pruning()

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
            self._count -= 1
        if self._idle:
            self._schedule_pruning()


def _expire(waiter: "asyncio.Future[asyncpg.Connection | None]") -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
