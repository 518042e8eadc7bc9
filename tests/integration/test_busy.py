"""A full connection pool is "busy", not "database unavailable": its own answer, log and probe."""

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.conftest import LOG_DIR, User, new_user, service_settings
from tests.support.contract import Contract
from tests.support.postgres import PostgresServer, target
from tests.support.server import running_service

LOG_PATH = LOG_DIR / "service-busy.log"
POOL_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class OnePoolService:
    base_url: str
    database_url: str


@pytest.fixture(scope="module")
def one_connection_service(postgres: PostgresServer) -> Iterator[OnePoolService]:
    """The service with a pool of one connection, on a database of its own."""
    LOG_PATH.unlink(missing_ok=True)
    with postgres.fresh_database("taskapi_busy") as url:
        settings = service_settings(
            url, DB_POOL_SIZE="1", DB_POOL_TIMEOUT_SECONDS=str(POOL_TIMEOUT_SECONDS)
        )
        with running_service(settings, LOG_PATH) as base_url:
            yield OnePoolService(base_url, url)


class RowLock:
    """Holds a row lock from outside the service, so the service's statement on it waits."""

    def __init__(self, database_url: str, task_id: int) -> None:
        self._database_url = database_url
        self._task_id = task_id
        self._runner = asyncio.Runner()
        self._connection: asyncpg.Connection | None = None

    def __enter__(self) -> "RowLock":
        self._runner.__enter__()
        self._connection = self._runner.run(self._lock())
        return self

    async def _lock(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(target(self._database_url).dsn)
        await connection.execute("BEGIN")
        await connection.execute("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", self._task_id)
        return connection

    def waiting_statements(self) -> int:
        assert self._connection is not None
        count: int = self._runner.run(
            self._connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
        return count

    def __exit__(self, *exc_info: object) -> None:
        assert self._connection is not None
        self._runner.run(self._connection.close())
        self._runner.__exit__(None, None, None)


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


def test_a_full_pool_answers_busy_and_recovers(
    one_connection_service: OnePoolService, contract: Contract
) -> None:
    base, alice, bob = one_connection_service.base_url, new_user("alice"), new_user("bob")
    task = httpx.post(f"{base}{alice.tasks_path}", json={"title": "t"}, headers=auth(alice))
    assert task.status_code == 201
    stuck: list[httpx.Response] = []

    with RowLock(one_connection_service.database_url, task.json()["id"]) as lock:
        # Given the pool's only connection waits on a row lock held elsewhere,
        toggle = threading.Thread(
            target=lambda: stuck.append(
                httpx.patch(
                    f"{base}{alice.task_path(task.json()['id'])}/complete",
                    headers=auth(alice),
                    timeout=30,
                )
            )
        )
        toggle.start()
        wait_until(lambda: lock.waiting_statements() == 1)

        # when another user's request and the readiness probe need a connection,
        started = time.monotonic()
        busy = httpx.get(f"{base}{bob.tasks_path}", headers=auth(bob), timeout=10)
        waited = time.monotonic() - started
        not_ready = httpx.get(f"{base}/health/ready", timeout=10)

    toggle.join(timeout=30)
    after = httpx.get(f"{base}{bob.tasks_path}", headers=auth(bob), timeout=10)
    ready_again = httpx.get(f"{base}/health/ready", timeout=10)

    # then both are told the service is busy, after the configured wait and not before,
    for response in (busy, not_ready):
        contract.assert_conforms(response)
        assert response.status_code == 503
        assert response.json()["error"] == "service_busy"
        assert response.headers["Retry-After"] == "1"
    assert waited >= POOL_TIMEOUT_SECONDS
    # the stuck request completes once the lock goes, and the service serves again,
    assert [r.status_code for r in stuck] == [200]
    assert after.status_code == 200
    assert ready_again.status_code == 200
    # and the log names the cause, which is not a database outage.
    log = LOG_PATH.read_text()
    assert "connection pool exhausted" in log
    assert "database unavailable" not in log
