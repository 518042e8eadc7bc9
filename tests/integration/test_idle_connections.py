"""Connections the server side closed are not the user's problem, as far as retrying is safe.

PostgreSQL closes a connection when its backend is terminated, Neon when it suspends an idle
compute, a pooler when it drops an idle client. A request that meets such a connection succeeds
if nothing had been sent on it yet (any statement), or if it only reads (repeated once on another
connection). A write that reached the server is never sent again: it may have committed.

Through PgBouncer (`--through-pgbouncer`) the service's connections lead to the pooler, whose
server connections are the ones terminated: the service must not notice, or, mid-statement, see
its client connection closed and answer as above. The test of a connection whose end the event
loop has not read yet works on the pool itself, on a direct connection in both runs: through a
pooler a terminated backend does not close the client's connection at all.
"""

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from impl.db.pool import Database, PoolSettings
from tests.conftest import Api, User
from tests.support.locks import RowLock, wait_until
from tests.support.postgres import PostgresServer, target

# Idle connections the service is made to hold before they are killed: fewer than PgBouncer's
# server connections in the run through it, one of which the lock that lines them up takes.
IDLE_CONNECTIONS = 3
# Every backend of the database but the one asking, the service's (or the pooler's) included.
OTHER_BACKENDS = (
    "FROM pg_stat_activity WHERE datname = current_database()"
    " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
)
WAITING_ON_A_LOCK = f"{OTHER_BACKENDS} AND wait_event_type = 'Lock'"


def database_name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


@pytest.fixture
def direct_url(postgres: PostgresServer, database_url: str) -> str:
    """The service's database reached without the pooler, which would hide its backends."""
    return postgres.direct().url_for(database_name(database_url))


def in_own_thread(coroutine: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run `coroutine` to its end on an event loop of its own thread, blocking the caller's."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine()).result()


def fetchval(url: str, statement: str, *arguments: object) -> Any:
    """One value, on a connection of its own; callable from inside a running event loop."""

    async def fetch() -> Any:
        connection = await asyncpg.connect(target(url).dsn)
        try:
            return await connection.fetchval(statement, *arguments)
        finally:
            await connection.close()

    return in_own_thread(fetch)


def terminate(direct_url: str, which: str) -> set[int]:
    """pg_terminate_backend on the backends `which` selects, once they are really gone."""
    pids: list[int] = fetchval(direct_url, f"SELECT coalesce(array_agg(pid), '{{}}') {which}")
    fetchval(direct_url, "SELECT count(pg_terminate_backend(pid)) FROM unnest($1::int[]) pid", pids)
    wait_until(
        lambda: (
            fetchval(
                direct_url, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids
            )
            == 0
        )
    )
    return set(pids)


def waiting_pids(direct_url: str) -> set[int]:
    pids: list[int] = fetchval(
        direct_url, f"SELECT coalesce(array_agg(pid), '{{}}') {WAITING_ON_A_LOCK}"
    )
    return set(pids)


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


def warm_pool(api: Api, user: User, database_url: str, direct_url: str) -> None:
    """Make the service open IDLE_CONNECTIONS connections: that many lists wait together on a
    lock of the whole table, then finish and leave their connections idle in the pool."""
    with ThreadPoolExecutor(IDLE_CONNECTIONS) as pool, RowLock(database_url, None) as lock:
        lists = [
            pool.submit(api.http.get, user.tasks_path, headers=auth(user))
            for _ in range(IDLE_CONNECTIONS)
        ]
        wait_until(lambda: lock.waiting_statements() == IDLE_CONNECTIONS)
    assert [future.result().status_code for future in lists] == [200] * IDLE_CONNECTIONS
    assert fetchval(direct_url, f"SELECT count(*) {OTHER_BACKENDS}") >= IDLE_CONNECTIONS


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str
    expected: int
    json: object = None
    content_type: str = "application/json"


def every_operation(user: User, task_id: int, doomed_id: int) -> list[Call]:
    task = user.task_path(task_id)
    return [
        Call("list_tasks", "GET", user.tasks_path, 200),
        Call("get_task", "GET", task, 200),
        Call("create_task", "POST", user.tasks_path, 201, {"title": "new"}),
        Call("replace_task", "PUT", task, 200, {"title": "replaced"}),
        Call(
            "update_task", "PATCH", task, 200, {"priority": "high"}, "application/merge-patch+json"
        ),
        Call("toggle_task_completion", "PATCH", f"{task}/complete", 200),
        Call("list_task_changes", "GET", f"{user.tasks_path}/changes", 200),
        Call("delete_task", "DELETE", user.task_path(doomed_id), 204),
        Call("check_readiness", "GET", "/health/ready", 200),
    ]


OPERATION_NAMES = [call.name for call in every_operation(User("-", "-"), 1, 2)]


def send(api: Api, user: User, call: Call) -> httpx.Response:
    headers = {} if call.json is None else {"Content-Type": call.content_type}
    return api.request(call.method, call.path, token=user.token, json=call.json, headers=headers)


def create(api: Api, user: User) -> int:
    response = api.request("POST", user.tasks_path, token=user.token, json={"title": "t"})
    assert response.status_code == 201
    task_id: int = response.json()["id"]
    return task_id


@pytest.mark.parametrize("first", OPERATION_NAMES)
def test_given_idle_connections_the_server_closed_when_any_operation_comes_first_then_none_fails(
    api: Api, alice: User, database_url: str, direct_url: str, first: str
) -> None:
    calls = every_operation(alice, create(api, alice), create(api, alice))
    # The operation under test meets the dead connections first; every other one follows.
    calls.sort(key=lambda call: call.name != first)
    warm_pool(api, alice, database_url, direct_url)

    terminate(direct_url, OTHER_BACKENDS)
    answers = [(call.name, send(api, alice, call).status_code) for call in calls]

    assert answers == [(call.name, call.expected) for call in calls]


def in_background(api: Api, user: User, call: Call) -> "Future[httpx.Response]":
    executor = ThreadPoolExecutor(1)
    future = executor.submit(send, api, user, call)
    executor.shutdown(wait=False)
    return future


def test_given_a_read_under_way_when_its_connection_is_closed_then_it_is_repeated_and_succeeds(
    api: Api, alice: User, database_url: str, direct_url: str
) -> None:
    task_id = create(api, alice)
    with RowLock(database_url, None):
        # Given a list that reached the server and waits there on a lock,
        listing = in_background(api, alice, Call("list_tasks", "GET", alice.tasks_path, 200))
        wait_until(lambda: len(waiting_pids(direct_url)) == 1)

        # when its connection is closed under it,
        killed = terminate(direct_url, WAITING_ON_A_LOCK)

        # then the service sends it again on another connection,
        wait_until(lambda: len(waiting_pids(direct_url) - killed) == 1)
    # which answers once the lock is gone.
    assert listing.result().status_code == 200
    assert [task["id"] for task in listing.result().json()["items"]] == [task_id]


def test_given_a_read_whose_connection_is_closed_twice_then_it_is_503_after_one_repetition(
    api: Api, alice: User, database_url: str, direct_url: str
) -> None:
    with RowLock(database_url, None):
        listing = in_background(api, alice, Call("list_tasks", "GET", alice.tasks_path, 200))
        wait_until(lambda: len(waiting_pids(direct_url)) == 1)
        first = terminate(direct_url, WAITING_ON_A_LOCK)
        wait_until(lambda: len(waiting_pids(direct_url) - first) == 1)

        terminate(direct_url, WAITING_ON_A_LOCK)

        response = listing.result()
        assert waiting_pids(direct_url) == set(), "a second repetition"
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"


def test_given_a_write_under_way_when_its_connection_is_closed_then_it_is_503_and_not_repeated(
    api: Api, alice: User, database_url: str, direct_url: str
) -> None:
    task_id = create(api, alice)
    with RowLock(database_url, task_id):
        # Given a toggle that reached the server and waits there on the task's row lock,
        toggle = Call("toggle", "PATCH", f"{alice.task_path(task_id)}/complete", 200)
        toggling = in_background(api, alice, toggle)
        wait_until(lambda: len(waiting_pids(direct_url)) == 1)

        # when its connection is closed under it,
        terminate(direct_url, WAITING_ON_A_LOCK)

        # then it is answered 503 while the lock is still held: it was not sent again,
        response = toggling.result()
        assert waiting_pids(direct_url) == set()
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    # and the task shows it ran at most once (here: not at all, it was cut before it wrote).
    task = api.request("GET", alice.task_path(task_id), token=alice.token).json()
    assert (task["version"], task["completed"]) == (1, False)


def test_given_a_dead_idle_connection_the_loop_missed_when_a_write_comes_then_it_runs_once(
    postgres: PostgresServer,
) -> None:
    with postgres.direct().fresh_database("taskapi_idle") as url:

        async def scenario() -> None:
            database = Database(target(url), PoolSettings(size=2, acquire_timeout_seconds=5))
            try:
                async with database.connection() as connection:
                    await connection.execute("CREATE TABLE writes (n int)")
                    victim = await connection.fetchval("SELECT pg_backend_pid()")
                # Given the pool's idle connection was closed by the server while this event
                # loop was kept from reading the news (every call below blocks it),
                terminate(url, f"FROM pg_stat_activity WHERE pid = {victim}")

                # when a write takes a connection at once,
                async with database.connection() as connection:
                    await connection.execute("INSERT INTO writes VALUES (1)")
                    writer = await connection.fetchval("SELECT pg_backend_pid()")

                # then it ran, once, on another connection.
                assert writer != victim
                async with database.connection() as connection:
                    assert await connection.fetchval("SELECT count(*) FROM writes") == 1
            finally:
                await database.close()

        asyncio.run(scenario())


def test_given_a_read_whose_connection_closed_between_its_statements_then_it_is_repeated(
    postgres: PostgresServer,
) -> None:
    with postgres.direct().fresh_database("taskapi_idle") as url:

        async def scenario() -> None:
            database = Database(target(url), PoolSettings(size=2, acquire_timeout_seconds=5))
            attempts: list[int] = []

            async def statements(connection: asyncpg.Connection) -> int:
                pid: int = await connection.fetchval("SELECT pg_backend_pid()")
                attempts.append(pid)
                if len(attempts) == 1:
                    # Given the first statement ran and the server then closed the connection,
                    # seen by asyncpg before the second statement is sent,
                    await admin.execute("SELECT pg_terminate_backend($1)", pid)
                    await until(connection.is_closed)
                value: int = await connection.fetchval("SELECT 2")
                return value

            admin = await asyncpg.connect(target(url).dsn)
            try:
                # when it is a read, then it runs again on another connection and succeeds.
                assert await database.read(statements) == 2
                assert len(attempts) == 2
                assert attempts[0] != attempts[1]
            finally:
                await admin.close()
                await database.close()

        asyncio.run(scenario())


async def until(condition: Callable[[], bool]) -> None:
    """Return once `condition` holds, letting the event loop run meanwhile."""
    deadline = asyncio.get_running_loop().time() + 10
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)
