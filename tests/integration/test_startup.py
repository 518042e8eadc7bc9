"""Starting the service: a bad configuration is refused; no DATABASE_URL means an embedded one."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import LOG_DIR, new_user, service_settings
from tests.support.contract import Contract
from tests.support.server import (
    DEVELOPMENT,
    PRODUCTION,
    running_service,
    service_environment,
    service_process,
    worker_processes,
)
from tests.support.tokens import SECRET

SHORT_SECRET = "too-short-secret-31-bytes-long!"


def start(
    settings: dict[str, str], command: tuple[str, ...] = DEVELOPMENT
) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as workdir:
        return subprocess.run(
            [sys.executable, "-m", "impl", *command],
            cwd=workdir,
            env=service_environment(settings),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def test_secret_shorter_than_32_bytes_is_refused() -> None:
    assert len(SHORT_SECRET.encode()) == 31

    result = start({"BETTER_AUTH_SECRET": SHORT_SECRET, "DATABASE_URL": "postgresql://x@h/db"})

    assert result.returncode == 2
    assert "BETTER_AUTH_SECRET" in result.stderr
    assert SHORT_SECRET not in result.stdout + result.stderr


def test_missing_secret_is_refused() -> None:
    result = start({"DATABASE_URL": "postgresql://x@h/db"})

    assert result.returncode == 2
    assert "BETTER_AUTH_SECRET" in result.stderr


@pytest.mark.parametrize("command", [DEVELOPMENT, PRODUCTION], ids=["run", "serve"])
@pytest.mark.parametrize("url", ["mysql://user:hunter2@host/db", "not a url at all"])
def test_database_url_that_is_not_postgresql_is_refused(url: str, command: tuple[str, ...]) -> None:
    result = start({"BETTER_AUTH_SECRET": "s" * 32, "DATABASE_URL": url}, command)

    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_without_database_url_an_embedded_postgresql_is_started_and_stopped(
    tmp_path: Path, contract: Contract
) -> None:
    tmp_path.chmod(0o755)  # the embedded server runs as its own user and must reach its folder
    data_dir = tmp_path / "postgres"
    user = new_user("erin")
    settings = {"BETTER_AUTH_SECRET": SECRET, "EMBEDDED_DB_DIR": str(data_dir)}

    with running_service(settings, LOG_DIR / "service-embedded.log", DEVELOPMENT) as base:
        ready = httpx.get(f"{base}/health/ready", timeout=10)
        created = httpx.post(
            f"{base}{user.tasks_path}",
            json={"title": "t"},
            headers={"Authorization": f"Bearer {user.token}"},
        )
        assert (data_dir / "postmaster.pid").exists()

    contract.assert_conforms(created)
    assert ready.status_code == 200
    assert created.status_code == 201
    assert not (data_dir / "postmaster.pid").exists(), (
        "the embedded server must stop with the service"
    )


def test_embedded_postgresql_stops_even_after_a_killed_run(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    data_dir = tmp_path / "postgres"
    settings = {"BETTER_AUTH_SECRET": SECRET, "EMBEDDED_DB_DIR": str(data_dir)}
    with running_service(settings, LOG_DIR / "service-embedded.log", DEVELOPMENT):
        pass
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    # A run that was killed without cleaning up leaves its process id among the server's users.
    (data_dir / ".handle_pids.json").write_text(json.dumps([killed.pid]))

    with running_service(settings, LOG_DIR / "service-embedded.log", DEVELOPMENT) as base:
        assert httpx.get(f"{base}/health/ready", timeout=10).status_code == 200

    assert not (data_dir / "postmaster.pid").exists()


def test_production_server_refuses_to_start_without_a_database_url() -> None:
    result = start({"BETTER_AUTH_SECRET": SECRET}, PRODUCTION)

    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr


def test_production_server_runs_the_configured_number_of_workers(
    database_url: str, contract: Contract
) -> None:
    user = new_user("frank")
    settings = service_settings(database_url, API_WORKERS="2")

    with service_process(settings, LOG_DIR / "service-workers.log") as (base, process):
        workers = worker_processes(process.pid)
        answers = [
            httpx.post(
                f"{base}{user.tasks_path}",
                json={"title": f"task {n}"},
                headers={"Authorization": f"Bearer {user.token}"},
            )
            for n in range(20)
        ]
        listed = httpx.get(
            f"{base}{user.tasks_path}", headers={"Authorization": f"Bearer {user.token}"}
        )

    assert len(workers) == 2
    assert [a.status_code for a in answers] == [201] * 20
    contract.assert_conforms(listed)
    assert len(listed.json()["items"]) == 20
