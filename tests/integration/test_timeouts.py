"""A slow statement cannot hold a request or a connection for ever: 504 database_timeout."""

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from impl.db.pool import CANCEL_CONFIRMATION_SECONDS
from tests.conftest import (
    LOG_DIR,
    OwnDatabaseService,
    User,
    new_user,
    service_on_fresh_database,
    service_settings,
)
from tests.support.contract import Contract
from tests.support.locks import RowLock, wait_until
from tests.support.postgres import PostgresServer
from tests.support.server import running_service

LOG_PATH = LOG_DIR / "service-timeouts.log"
STATEMENT_TIMEOUT_SECONDS = 1.0
# What a busy 2-core CI machine adds to a measured answer: the HTTP round trip, the service's
# event loop and PostgreSQL waiting for a core.
SLACK_SECONDS = 1.0


@pytest.fixture(scope="module")
def timed_service(postgres: PostgresServer) -> Iterator[OwnDatabaseService]:
    """The service with a one-second statement timeout and a pool of one connection."""
    with service_on_fresh_database(
        postgres,
        "taskapi_timeouts",
        LOG_PATH,
        DB_STATEMENT_TIMEOUT_SECONDS=str(STATEMENT_TIMEOUT_SECONDS),
        DB_POOL_SIZE="1",
    ) as service:
        yield service


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


def create_task(service: OwnDatabaseService, user: User, title: str) -> dict[str, object]:
    response = httpx.post(
        f"{service.base_url}{user.tasks_path}", json={"title": title}, headers=auth(user)
    )
    assert response.status_code == 201
    task: dict[str, object] = response.json()
    return task


def assert_database_timeout(response: httpx.Response, contract: Contract) -> None:
    contract.assert_conforms(response)
    assert response.status_code == 504
    assert response.json()["error"] == "database_timeout"
    assert response.headers["Retry-After"] == "1"


def test_a_write_stuck_on_a_lock_is_504_cancelled_and_leaves_the_task_as_it_was(
    timed_service: OwnDatabaseService, contract: Contract
) -> None:
    base, alice = timed_service.base_url, new_user("alice")
    task = create_task(timed_service, alice, "before")

    with RowLock(timed_service.database_url, int(str(task["id"]))) as lock:
        # Given another transaction holds the task's row,
        started = time.monotonic()
        # when the service's UPDATE waits on it past the statement timeout,
        response = httpx.patch(
            f"{base}{alice.task_path(str(task['id']))}",
            json={"title": "after"},
            headers=auth(alice),
            timeout=30,
        )
        waited = time.monotonic() - started
        # then the statement was cancelled in the database, not left waiting there,
        still_waiting = lock.waiting_statements()

    # the answer is 504 after the timeout and the cancel's confirmation (milliseconds from a
    # live server, at most its window), not a second wait for the database,
    assert_database_timeout(response, contract)
    assert (
        STATEMENT_TIMEOUT_SECONDS
        <= waited
        < STATEMENT_TIMEOUT_SECONDS + CANCEL_CONFIRMATION_SECONDS + SLACK_SECONDS
    )
    assert still_waiting == 0
    # nothing was written, and the pool's one connection serves the next request.
    after = httpx.get(f"{base}{alice.task_path(str(task['id']))}", headers=auth(alice))
    assert after.status_code == 200
    assert after.json()["title"] == "before"
    assert after.json()["version"] == task["version"]


def test_a_read_stuck_behind_a_table_lock_is_504_and_the_service_recovers(
    timed_service: OwnDatabaseService, contract: Contract
) -> None:
    base, alice = timed_service.base_url, new_user("alice")
    create_task(timed_service, alice, "listed")

    # Given the whole table is locked by a migration-like transaction,
    with RowLock(timed_service.database_url, None):
        # when a list waits on it past the statement timeout,
        response = httpx.get(f"{base}{alice.tasks_path}", headers=auth(alice), timeout=30)

    # then it is told so, and once the lock goes the same list answers.
    assert_database_timeout(response, contract)
    after = httpx.get(f"{base}{alice.tasks_path}", headers=auth(alice))
    assert after.status_code == 200
    assert [t["title"] for t in after.json()["items"]] == ["listed"]


def test_a_request_waiting_for_the_held_connection_is_busy_not_timed_out(
    timed_service: OwnDatabaseService, contract: Contract
) -> None:
    base, alice, bob = timed_service.base_url, new_user("alice"), new_user("bob")
    task = create_task(timed_service, alice, "t")
    stuck: list[httpx.Response] = []

    with RowLock(timed_service.database_url, int(str(task["id"]))) as lock:
        # Given the pool's only connection runs a statement stuck on a lock,
        toggle = threading.Thread(
            target=lambda: stuck.append(
                httpx.patch(
                    f"{base}{alice.task_path(str(task['id']))}/complete",
                    headers=auth(alice),
                    timeout=30,
                )
            )
        )
        toggle.start()
        wait_until(lambda: lock.waiting_statements() == 1)
        # when the statement times out while another request waits for the connection,
        waiting = httpx.get(f"{base}{bob.tasks_path}", headers=auth(bob), timeout=30)
        toggle.join(timeout=30)

    # then the stuck one is 504 and the waiting one gets the connection and its answer.
    assert [r.status_code for r in stuck] == [504]
    assert_database_timeout(stuck[0], contract)
    assert waiting.status_code == 200
    log = LOG_PATH.read_text()
    assert "database statement timed out" in log
    assert "Traceback" not in log


CONNECT_TIMEOUT_SECONDS = 1.0


@pytest.fixture(scope="module")
def silent_database_url() -> Iterator[str]:
    """A port that completes TCP handshakes and then never says a word, like a database host
    that hangs: the kernel accepts into the backlog, nothing ever answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"postgresql://nobody:x@127.0.0.1:{listener.getsockname()[1]}/none"


def test_a_database_that_accepts_but_never_answers_is_503_after_the_connect_timeout(
    silent_database_url: str, contract: Contract
) -> None:
    alice = new_user("alice")
    settings = service_settings(
        silent_database_url,
        MIGRATE_ON_STARTUP="false",
        DB_CONNECT_TIMEOUT_SECONDS=str(CONNECT_TIMEOUT_SECONDS),
    )
    with running_service(settings, LOG_DIR / "service-silent-database.log") as base:
        # Given a database host that never answers, when a request needs a connection,
        started = time.monotonic()
        response = httpx.get(f"{base}{alice.tasks_path}", headers=auth(alice), timeout=30)
        waited = time.monotonic() - started
        live = httpx.get(f"{base}/health/live", timeout=30)

    # then it is told the database is unavailable once the connect timeout has passed,
    contract.assert_conforms(response)
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert CONNECT_TIMEOUT_SECONDS <= waited < CONNECT_TIMEOUT_SECONDS + 5
    # and the process itself is alive all along.
    assert live.status_code == 200
