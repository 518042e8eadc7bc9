"""The pool's hardest paths on fake connections: hand-overs, cancellations, closing, turns.

Each test drives the pool on one event loop with connections that answer at once unless told to
hang, so a race is a few loop iterations, not a sleep. The pool on a real PostgreSQL is
`tests/integration/test_pool.py`.
"""

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery

from impl.db.pool import (
    Database,
    DatabaseTimeout,
    DatabaseUnavailable,
    PoolExhausted,
    PoolSettings,
)
from impl.db.url import normalize_database_url

# Enough loop iterations for every task the pool wakes to have run, and few enough to be instant.
SETTLED_AFTER_ITERATIONS = 200


class FakeTransport:
    def __init__(self, client_end: socket.socket) -> None:
        self._socket = client_end

    def get_extra_info(self, name: str) -> Any:
        return self._socket if name == "socket" else None


class FakeConnection:
    """What the pool uses of an asyncpg connection, with a real socket pair for its liveness
    check: the server's end can say goodbye as PostgreSQL does before closing."""

    def __init__(self, number: int) -> None:
        self.number = number
        self._server_end, client_end = socket.socketpair()
        self._transport = FakeTransport(client_end)
        self.terminated = False
        self.closed_politely = False
        # While set, statements hang until the connection is terminated (a frozen server).
        self.statements_hang = False
        self._gone = asyncio.Event()

    def __repr__(self) -> str:
        return f"<connection {self.number}>"

    def is_closed(self) -> bool:
        return self.terminated or self.closed_politely

    def is_in_transaction(self) -> bool:
        return False

    def terminate(self) -> None:
        if not self.terminated:
            self.terminated = True
            self._gone.set()
            self._server_end.close()
            self._transport.get_extra_info("socket").close()

    async def close(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 asyncpg's signature
        self.closed_politely = True
        self.terminate()

    def add_query_logger(self, callback: Callable[[LoggedQuery], None]) -> None:
        pass

    async def execute(self, query: str, timeout: float | None = None) -> str:  # noqa: ASYNC109 asyncpg's signature
        if self.is_closed():
            raise asyncpg.ConnectionDoesNotExistError("connection was closed")
        if self.statements_hang:
            # asyncpg raises TimeoutError when a statement's own timeout passes.
            await asyncio.wait_for(self._gone.wait(), timeout)
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle")
        return "SELECT 1"

    def server_says_goodbye(self) -> None:
        self._server_end.send(b"E")


class FakeServer:
    """Opens fake connections; `refuse` makes the next connects fail as an unreachable server."""

    def __init__(self) -> None:
        self.opened: list[FakeConnection] = []
        self.refuse = False

    async def connect(self, dsn: str, **arguments: Any) -> FakeConnection:
        # A real connect takes round trips: other tasks run meanwhile.
        await asyncio.sleep(0)
        if self.refuse:
            raise ConnectionRefusedError("nobody listens")
        connection = FakeConnection(len(self.opened) + 1)
        self.opened.append(connection)
        return connection


class Counts:
    """The pool's reports summed: connections open and lent, requests waiting, and the most
    connections ever open at once."""

    def __init__(self) -> None:
        self.open = 0
        self.most_open = 0
        self.lent = 0
        self.waiting = 0

    def connections_opened(self, count: int) -> None:
        self.open += count
        self.most_open = max(self.most_open, self.open)

    def connections_lent(self, count: int) -> None:
        self.lent += count

    def requests_waiting(self, count: int) -> None:
        self.waiting += count

    def statement_finished(self, record: LoggedQuery) -> None:
        pass


class Pool:
    def __init__(self, size: int, **settings: float) -> None:
        self.server = FakeServer()
        self.counts = Counts()
        self.database = Database(
            normalize_database_url("postgresql://fake/db", connect_timeout_seconds=1.0),
            PoolSettings(
                size=size,
                acquire_timeout_seconds=settings.pop("acquire_timeout_seconds", 1.0),
                **settings,
            ),
            self.counts,
            connect=self.server.connect,
        )

    def connection(self) -> AbstractAsyncContextManager[FakeConnection]:
        return self.database.connection()


def run(
    scenario: Callable[[Pool], Coroutine[Any, Any, None]], size: int, **settings: float
) -> None:
    async def main() -> None:
        pool = Pool(size, **settings)
        try:
            await scenario(pool)
        finally:
            await pool.database.close()

    asyncio.run(main())


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until `condition` holds; fail if it never does."""
    for _ in range(SETTLED_AFTER_ITERATIONS):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


@asynccontextmanager
async def held(pool: Pool) -> AsyncIterator[FakeConnection]:
    """A connection held by the test itself, given back when the block ends."""
    async with pool.connection() as connection:
        yield connection


async def cancel_mid_statement(pool: Pool, *, settles: bool) -> FakeConnection:
    """A request cancelled while its statement runs; `settles`: the statement then stops, as on
    a live server, rather than hanging on (a frozen one). Answers the request's connection."""
    entered = asyncio.Event()

    async def statement_cancelled_midway() -> None:
        async with pool.connection() as connection:
            connection.statements_hang = True
            entered.set()
            await connection.execute("SELECT pg_sleep(10)")

    request = asyncio.create_task(statement_cancelled_midway())
    await entered.wait()
    connection = pool.server.opened[-1]
    connection.statements_hang = not settles
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    return connection


async def take_in_turn(pool: Pool, name: str, turns: list[tuple[str, int]]) -> None:
    async with pool.connection() as connection:
        turns.append((name, connection.number))


def test_a_connection_given_back_goes_to_the_longest_waiter() -> None:
    async def scenario(pool: Pool) -> None:
        turns: list[tuple[str, int]] = []
        async with held(pool):
            first = asyncio.create_task(take_in_turn(pool, "first", turns))
            await until(lambda: pool.counts.waiting == 1)
            second = asyncio.create_task(take_in_turn(pool, "second", turns))
            await until(lambda: pool.counts.waiting == 2)

        await asyncio.gather(first, second)

        assert turns == [("first", 1), ("second", 1)]
        assert len(pool.server.opened) == 1

    run(scenario, size=1)


def test_a_waiter_cancelled_just_after_the_hand_over_passes_the_connection_on() -> None:
    async def scenario(pool: Pool) -> None:
        turns: list[tuple[str, int]] = []
        async with held(pool):
            cancelled = asyncio.create_task(take_in_turn(pool, "cancelled", turns))
            await until(lambda: pool.counts.waiting == 1)
            next_in_line = asyncio.create_task(take_in_turn(pool, "next", turns))
            await until(lambda: pool.counts.waiting == 2)
        # The connection is handed over as the block ends; the waiter has not run since.
        cancelled.cancel()

        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await next_in_line

        assert turns == [("next", 1)]
        assert len(pool.server.opened) == 1
        assert pool.counts.lent == 0

    run(scenario, size=1)


def test_a_waiter_cancelled_just_after_being_handed_a_slot_passes_the_slot_on() -> None:
    async def scenario(pool: Pool) -> None:
        turns: list[tuple[str, int]] = []
        async with held(pool) as connection:
            cancelled = asyncio.create_task(take_in_turn(pool, "cancelled", turns))
            await until(lambda: pool.counts.waiting == 1)
            next_in_line = asyncio.create_task(take_in_turn(pool, "next", turns))
            await until(lambda: pool.counts.waiting == 2)
            # The server closes the connection: giving it back frees its slot instead.
            connection.terminate()
        cancelled.cancel()

        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await next_in_line

        assert turns == [("next", 2)]
        assert pool.counts.most_open == 1

    run(scenario, size=1)


def test_a_woken_waiter_keeps_its_turn_against_a_newcomer() -> None:
    async def scenario(pool: Pool) -> None:
        turns: list[tuple[str, int]] = []
        async with held(pool) as connection:
            first = asyncio.create_task(take_in_turn(pool, "first", turns))
            await until(lambda: pool.counts.waiting == 1)
            second = asyncio.create_task(take_in_turn(pool, "second", turns))
            await until(lambda: pool.counts.waiting == 2)
            connection.terminate()

        # The slot was handed to the first waiter, which has not run yet: the newcomer asks now.
        await take_in_turn(pool, "newcomer", turns)
        await asyncio.gather(first, second)

        assert [name for name, _ in turns] == ["first", "second", "newcomer"]
        assert pool.counts.most_open == 1

    run(scenario, size=1)


def test_a_waiter_cancelled_while_waiting_leaves_no_trace() -> None:
    async def scenario(pool: Pool) -> None:
        turns: list[tuple[str, int]] = []
        async with held(pool):
            cancelled = asyncio.create_task(take_in_turn(pool, "cancelled", turns))
            await until(lambda: pool.counts.waiting == 1)
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            assert pool.counts.waiting == 0

        await take_in_turn(pool, "later", turns)

        assert turns == [("later", 1)]

    run(scenario, size=1)


def test_a_full_pool_for_the_whole_wait_is_exhausted_not_unavailable() -> None:
    async def scenario(pool: Pool) -> None:
        async with held(pool):
            with pytest.raises(PoolExhausted):
                async with pool.connection():
                    pass
            assert pool.counts.waiting == 0

    run(scenario, size=1, acquire_timeout_seconds=0.01)


def test_a_failed_connect_is_unavailable_and_frees_its_slot() -> None:
    async def scenario(pool: Pool) -> None:
        pool.server.refuse = True
        with pytest.raises(DatabaseUnavailable):
            async with pool.connection():
                pass
        pool.server.refuse = False

        async with pool.connection() as connection:
            assert connection.number == 1
        assert pool.counts.open == 1

    run(scenario, size=1, acquire_timeout_seconds=0.01)


def test_an_idle_connection_the_server_said_goodbye_on_is_replaced_in_its_slot() -> None:
    async def scenario(pool: Pool) -> None:
        async with pool.connection() as connection:
            pass
        connection.server_says_goodbye()

        async with pool.connection() as replacement:
            assert replacement.number == 2
        assert connection.terminated
        assert pool.counts.open == 1

    run(scenario, size=1)


def test_a_request_cancelled_mid_statement_gives_its_connection_back_once_it_settles() -> None:
    async def scenario(pool: Pool) -> None:
        connection = await cancel_mid_statement(pool, settles=True)

        async with pool.connection() as after:
            assert after is connection
        assert pool.counts.lent == 0

    run(scenario, size=1)


def test_a_unit_of_work_past_its_deadline_times_out_and_its_connection_settles() -> None:
    async def scenario(pool: Pool) -> None:
        async def statement_past_the_deadline() -> None:
            async with pool.database.within(0.01), pool.connection() as connection:
                connection.statements_hang = True
                await connection.execute("SELECT pg_sleep(10)")

        with pytest.raises(DatabaseTimeout):
            await statement_past_the_deadline()
        frozen = pool.server.opened[0]

        # The settling statement hangs too; past the confirmation window the connection is
        # dropped, and its slot serves the next request.
        async with pool.connection() as after:
            assert after is not frozen
        assert frozen.terminated
        assert pool.counts.most_open == 1

    run(scenario, size=1, settle_timeout_seconds=0.01)


def test_close_drops_a_connection_whose_statement_does_not_stop() -> None:
    async def scenario(pool: Pool) -> None:
        await cancel_mid_statement(pool, settles=False)

        await pool.database.close()

        assert pool.server.opened[0].terminated
        assert (pool.counts.open, pool.counts.lent) == (0, 0)

    run(scenario, size=1, settle_timeout_seconds=0.01)


def test_a_settling_connection_cancelled_with_everything_else_frees_its_slot() -> None:
    async def scenario(pool: Pool) -> None:
        await cancel_mid_statement(pool, settles=False)

        # What a shutdown does to the tasks left running: the pool's settling one among them.
        background = asyncio.all_tasks() - {asyncio.current_task()}
        for task in background:
            task.cancel()
        await asyncio.wait(background)

        assert (pool.counts.open, pool.counts.lent) == (0, 0)
        async with pool.connection() as connection:
            assert connection.number == 2

    run(scenario, size=1, acquire_timeout_seconds=0.01)


def test_many_requests_share_at_most_size_connections_and_all_are_served() -> None:
    async def scenario(pool: Pool) -> None:
        turns: list[tuple[str, int]] = []

        async def request(number: int) -> None:
            await take_in_turn(pool, str(number), turns)

        await asyncio.gather(*(request(number) for number in range(50)))

        assert len(turns) == 50
        assert pool.counts.most_open == 3
        assert (pool.counts.lent, pool.counts.waiting) == (0, 0)

    run(scenario, size=3)


def test_a_block_that_raises_its_own_error_gives_its_connection_back_for_reuse() -> None:
    async def scenario(pool: Pool) -> None:
        # given a block that refuses a write after a statement
        async def refused_write() -> FakeConnection:
            async with pool.connection() as connection:
                await connection.execute("SELECT 1")
                raise LookupError(connection)

        with pytest.raises(LookupError) as refusal:
            await refused_write()
        connection = refusal.value.args[0]

        # when the next request takes a connection
        async with pool.connection() as next_connection:
            pass

        # then it is the same one, not a new one
        assert next_connection is connection
        assert not connection.terminated
        assert len(pool.server.opened) == 1

    run(scenario, size=2)
