"""The connection pool on a real PostgreSQL: bounded, reused, busy is not down, nothing leaks.

Its turns, hand-overs and cancellations are proven on fake connections in
`tests/unit/test_connection_pool.py`; these check the same pool against the real server.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import asyncpg
import pytest

from impl.db.pool import Database, DatabaseUnavailable, PoolExhausted, PoolSettings
from tests.support.postgres import PostgresServer, target

SIZE = 3
# How long a condition on the server may take to hold on a busy machine.
PATIENCE_SECONDS = 10.0


@pytest.fixture(scope="module")
def pool_database_url(postgres: PostgresServer) -> Iterator[str]:
    with postgres.fresh_database("taskapi_pool") as url:
        yield url


def run_with_pool(
    url: str,
    scenario: Callable[[Database], Awaitable[None]],
    *,
    wait_seconds: float = 2.0,
    idle_lifetime_seconds: float = 300.0,
) -> None:
    async def main() -> None:
        database = Database(
            target(url),
            PoolSettings(
                size=SIZE,
                acquire_timeout_seconds=wait_seconds,
                idle_lifetime_seconds=idle_lifetime_seconds,
            ),
        )
        try:
            await scenario(database)
        finally:
            await database.close()

    asyncio.run(main())


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not await condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


async def server_fetchval(url: str, query: str, *arguments: object) -> object:
    admin = await asyncpg.connect(target(url).dsn)
    try:
        return await admin.fetchval(query, *arguments)
    finally:
        await admin.close()


async def holding_every_connection(
    database: Database, release: asyncio.Event
) -> list[asyncio.Task[int]]:
    """SIZE tasks that each hold a connection until `release`, then answer their backend's pid."""
    lent = asyncio.Semaphore(0)

    async def hold() -> int:
        async with database.connection() as connection:
            lent.release()
            await release.wait()
            pid: int = await connection.fetchval("SELECT pg_backend_pid()")
            return pid

    holders = [asyncio.create_task(hold()) for _ in range(SIZE)]
    for _ in holders:
        await lent.acquire()
    return holders


async def backend_pids(database: Database, concurrency: int) -> set[int]:
    async def one() -> int:
        async with database.connection() as connection:
            pid: int = await connection.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.05)")
            return pid

    return set(await asyncio.gather(*(one() for _ in range(concurrency))))


def test_many_concurrent_users_share_at_most_size_connections(pool_database_url: str) -> None:
    async def scenario(database: Database) -> None:
        first = await backend_pids(database, 20)
        second = await backend_pids(database, 20)

        assert len(first) <= SIZE
        assert second <= first, "connections are reused, not reopened"

    run_with_pool(pool_database_url, scenario)


def test_a_full_pool_for_the_whole_wait_is_busy_and_frees_up_after(
    pool_database_url: str,
) -> None:
    async def scenario(database: Database) -> None:
        release = asyncio.Event()
        holders = await holding_every_connection(database, release)

        with pytest.raises(PoolExhausted):
            async with database.connection():
                pass
        release.set()
        await asyncio.gather(*holders)
        async with database.connection() as connection:
            assert await connection.fetchval("SELECT 1") == 1

    run_with_pool(pool_database_url, scenario, wait_seconds=0.3)


def test_a_waiter_is_served_on_a_connection_given_back_not_a_new_one(
    pool_database_url: str,
) -> None:
    async def scenario(database: Database) -> None:
        release = asyncio.Event()
        holders = await holding_every_connection(database, release)
        waiter = asyncio.create_task(backend_pids(database, 1))
        await eventually(lambda: queued(waiter))
        release.set()

        held = set(await asyncio.gather(*holders))
        assert await waiter <= held
        opened = await server_fetchval(
            pool_database_url,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()",
        )
        assert opened == SIZE

    run_with_pool(pool_database_url, scenario)


async def queued(task: "asyncio.Task[object]") -> bool:
    """Whether `task` has run up to a wait (it cannot have been served: the pool is full)."""
    await asyncio.sleep(0)
    return not task.done()


def test_a_cancelled_statement_does_not_leave_its_connection_in_the_pool(
    pool_database_url: str,
) -> None:
    async def scenario(database: Database) -> None:
        async def slow() -> None:
            async with database.connection() as connection:
                await connection.execute("SELECT pg_sleep(10)")

        task = asyncio.create_task(slow())

        async def sleeping_on_the_server() -> bool:
            running = await server_fetchval(
                pool_database_url,
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)'"
                " AND state = 'active'",
            )
            return running == 1

        await eventually(sleeping_on_the_server)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        # Every connection still in the pool answers at once: none is stuck in the old statement.
        for _ in range(SIZE * 2):
            async with database.connection() as connection:
                assert await connection.fetchval("SELECT 1", timeout=2) == 1

    run_with_pool(pool_database_url, scenario)


def test_a_statement_error_keeps_the_connection(pool_database_url: str) -> None:
    async def scenario(database: Database) -> None:
        (before,) = await backend_pids(database, 1)
        with pytest.raises(asyncpg.UndefinedTableError):
            async with database.connection() as connection:
                await connection.execute("SELECT * FROM no_such_table")

        assert await backend_pids(database, 1) == {before}

    run_with_pool(pool_database_url, scenario)


def test_a_connection_the_server_closed_is_replaced(
    pool_database_url: str,
) -> None:
    async def scenario(database: Database) -> None:
        (victim,) = await backend_pids(database, 1)
        await server_fetchval(pool_database_url, "SELECT pg_terminate_backend($1)", victim)

        async def gone() -> bool:
            found = await server_fetchval(
                pool_database_url, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", victim
            )
            return found == 0

        await eventually(gone)

        pids = await backend_pids(database, 1)

        assert victim not in pids

    run_with_pool(pool_database_url, scenario)


def test_an_unreachable_database_is_unavailable_not_busy() -> None:
    async def scenario(database: Database) -> None:
        with pytest.raises(DatabaseUnavailable):
            async with database.connection():
                pass

    nobody_listens = "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2"
    run_with_pool(nobody_listens, scenario)


def test_idle_connections_are_closed_after_their_lifetime(pool_database_url: str) -> None:
    async def scenario(database: Database) -> None:
        used = await backend_pids(database, SIZE)

        async def all_closed() -> bool:
            alive = await server_fetchval(
                pool_database_url,
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])",
                list(used),
            )
            return alive == 0

        await eventually(all_closed)

    run_with_pool(pool_database_url, scenario, idle_lifetime_seconds=0.2)
