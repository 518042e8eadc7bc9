"""Without a reachable database the service answers 503 + Retry-After, never 500, and recovers."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from impl.db.embedded import embedded_postgres
from tests.conftest import LOG_DIR, new_user, service_settings
from tests.support.contract import Contract
from tests.support.server import free_port, running_service


@pytest.fixture(scope="module")
def service_without_database() -> Iterator[str]:
    nobody_listens = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    settings = service_settings(
        nobody_listens, MIGRATE_ON_STARTUP="false", DB_CONNECT_TIMEOUT_SECONDS="2"
    )
    with running_service(settings, LOG_DIR / "service-without-database.log") as url:
        yield url


def test_liveness_does_not_need_the_database(service_without_database: str) -> None:
    response = httpx.get(f"{service_without_database}/health/live")

    assert response.status_code == 200


def test_readiness_is_503_with_retry_after(
    service_without_database: str, contract: Contract
) -> None:
    response = httpx.get(f"{service_without_database}/health/ready", timeout=10)

    contract.assert_conforms(response)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"] == "service_unavailable"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "", None), ("POST", "", {"title": "t"}), ("PATCH", "/1/complete", None)],
)
def test_task_operations_are_503_with_retry_after(
    service_without_database: str, contract: Contract, method: str, suffix: str, body: object
) -> None:
    user = new_user("carol")

    response = httpx.request(
        method,
        f"{service_without_database}{user.tasks_path}{suffix}",
        headers={"Authorization": f"Bearer {user.token}"},
        json=body,
        timeout=10,
    )

    contract.assert_conforms(response)
    assert response.status_code == 503
    assert "Retry-After" in response.headers


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="stops an embedded server")
def test_service_recovers_when_the_database_comes_back(contract: Contract) -> None:
    root = Path(tempfile.mkdtemp(prefix="taskapi-test-restart-"))
    root.chmod(0o755)
    user = new_user("dave")
    auth = {"Authorization": f"Bearer {user.token}"}
    try:
        with ExitStack() as stack:
            first_run = ExitStack()
            url = first_run.enter_context(embedded_postgres(root / "data"))
            base = stack.enter_context(
                running_service(service_settings(url), LOG_DIR / "service-restart.log")
            )
            created = httpx.post(f"{base}{user.tasks_path}", json={"title": "t"}, headers=auth)

            first_run.close()
            while_down = httpx.get(f"{base}{user.tasks_path}", headers=auth, timeout=10)
            stack.enter_context(embedded_postgres(root / "data"))
            after = httpx.get(f"{base}{user.tasks_path}", headers=auth, timeout=10)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    assert created.status_code == 201
    contract.assert_conforms(while_down)
    assert while_down.status_code == 503
    assert after.status_code == 200
    assert after.json() == {"items": [created.json()], "next_cursor": None}
