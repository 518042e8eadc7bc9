"""A full connection pool is "busy", not "database unavailable": its own answer, log and probe."""

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LOG_DIR, OwnDatabaseService, User, new_user, service_on_fresh_database
from tests.support.contract import Contract
from tests.support.locks import RowLock, wait_until
from tests.support.postgres import PostgresServer

LOG_PATH = LOG_DIR / "service-busy.log"
POOL_TIMEOUT_SECONDS = 1.0


@pytest.fixture(scope="module")
def one_connection_service(postgres: PostgresServer) -> Iterator[OwnDatabaseService]:
    """The service with a pool of one connection, on a database of its own."""
    with service_on_fresh_database(
        postgres,
        "taskapi_busy",
        LOG_PATH,
        DB_POOL_SIZE="1",
        DB_POOL_TIMEOUT_SECONDS=str(POOL_TIMEOUT_SECONDS),
    ) as service:
        yield service


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


def test_a_full_pool_answers_busy_and_recovers(
    one_connection_service: OwnDatabaseService, contract: Contract
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
