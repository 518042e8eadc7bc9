"""Migrations are a release step: `taskapi migrate` applies them, `serve` only checks them, and
the previous release keeps serving on the schema the new migrations leave."""

import asyncio
import subprocess
import tarfile
from io import BytesIO
from pathlib import Path

import httpx
import pytest
import yaml

from impl.db.migrations import load_migrations, locked_runner
from tests.conftest import LOG_DIR, new_user, service_settings
from tests.support.contract import Contract
from tests.support.postgres import PostgresServer, target
from tests.support.server import ROOT, free_port, running_service, taskapi_command
from tests.support.tokens import SECRET

# `python -m impl serve` exits this way when it will not start.
REFUSED = 1


def production(database_url: str) -> dict[str, str]:
    """The settings of `serve` as production runs it: no migration at start-up."""
    settings = service_settings(database_url)
    del settings["MIGRATE_ON_STARTUP"]
    return settings


def migrate_all_but_the_last(url: str) -> None:
    async def run() -> None:
        async with locked_runner(target(url), load_migrations()[:-1]) as runner:
            await runner.up()

    asyncio.run(run())


def test_serve_does_not_migrate_and_refuses_a_database_without_the_schema(
    postgres: PostgresServer,
) -> None:
    with postgres.fresh_database() as url:
        # given an empty database, when `serve` starts as production runs it
        refused = taskapi_command(production(url), "serve")

    # then it exits at once, naming what is missing and the command that applies it
    assert refused.returncode == REFUSED
    assert load_migrations()[0].label in refused.stderr
    assert "taskapi migrate" in refused.stderr


def test_serve_refuses_a_schema_one_migration_behind(postgres: PostgresServer) -> None:
    with postgres.fresh_database() as url:
        migrate_all_but_the_last(url)

        refused = taskapi_command(production(url), "serve")

    assert refused.returncode == REFUSED
    assert load_migrations()[-1].label in refused.stderr
    assert load_migrations()[0].label not in refused.stderr


def test_migrate_applies_what_is_pending_once_then_serve_starts(
    postgres: PostgresServer, contract: Contract
) -> None:
    labels = [m.label for m in load_migrations()]
    with postgres.fresh_database() as url:
        first = taskapi_command(production(url), "migrate")
        second = taskapi_command(production(url), "migrate")
        with running_service(production(url), LOG_DIR / "service-release.log") as base:
            ready = httpx.get(f"{base}/health/ready", timeout=10)

    assert first.returncode == 0, first.stderr
    assert all(label in first.stdout for label in labels)
    assert second.returncode == 0, second.stderr
    assert "applied 0 migration(s)" in second.stdout
    contract.assert_conforms(ready)
    assert ready.status_code == 200


def test_readiness_names_the_migrations_a_schema_lacks(
    postgres: PostgresServer, contract: Contract
) -> None:
    latest = load_migrations()[-1]
    with postgres.fresh_database() as url:
        assert taskapi_command(production(url), "migrate").returncode == 0
        with running_service(production(url), LOG_DIR / "service-release.log") as base:
            # given a schema taken back after the service started (the check at start passed)
            assert taskapi_command(production(url), "migrate", "down").returncode == 0
            behind = httpx.get(f"{base}/health/ready", timeout=10)
            assert taskapi_command(production(url), "migrate").returncode == 0
            current = httpx.get(f"{base}/health/ready", timeout=10)

    contract.assert_conforms(behind)
    assert behind.status_code == 503
    assert behind.headers["Retry-After"] == "5"
    assert behind.json()["details"] == {"pending_migrations": [latest.label]}
    assert current.status_code == 200


@pytest.mark.parametrize(
    ("url", "exit_code"),
    [
        ("mysql://user:hunter2@host/db", 2),
        (f"postgresql://nobody:hunter2@127.0.0.1:{free_port()}/none", 3),
    ],
    ids=["not-postgresql", "unreachable"],
)
def test_migrate_exit_code_says_why_it_failed(url: str, exit_code: int) -> None:
    failed = taskapi_command(
        {
            "DATABASE_URL": url,
            "BETTER_AUTH_SECRET": SECRET,
            "DB_CONNECT_TIMEOUT_SECONDS": "2",
        },
        "migrate",
    )

    assert failed.returncode == exit_code
    assert "hunter2" not in failed.stdout + failed.stderr


def git(*arguments: str) -> bytes:
    return subprocess.run(
        ["git", *arguments], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout


def previous_release() -> str:
    """The commit before the newest migration was added: the release that is still serving
    while the new one's migrations run (HEAD while that migration is not committed yet)."""
    path = f"sql/{load_migrations()[-1].label}.up.sql"
    added = git("log", "-1", "--format=%H", "--diff-filter=A", "--", path).decode().strip()
    return f"{added}^" if added else "HEAD"


@pytest.fixture(scope="module")
def previous_release_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous release's source tree, from git."""
    directory = tmp_path_factory.mktemp("previous-release")
    archive = git("archive", "--format=tar", previous_release())
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory


def test_the_previous_release_serves_on_the_schema_after_the_new_migrations(
    postgres: PostgresServer, previous_release_code: Path
) -> None:
    user = new_user("previous")
    auth = {"Authorization": f"Bearer {user.token}"}
    with postgres.fresh_database() as url:
        # given the schema this release's `taskapi migrate` leaves
        assert taskapi_command(production(url), "migrate").returncode == 0
        settings = {**production(url), "MIGRATE_ON_STARTUP": "false"}
        # when the previous release, still running during the rollout, serves on it
        with (
            running_service(
                {**settings, "PYTHONPATH": str(previous_release_code)},
                LOG_DIR / "service-previous-release.log",
            ) as base,
            httpx.Client(base_url=base, headers=auth, timeout=10) as client,
        ):
            created = client.post(user.tasks_path, json={"title": "before", "tags": ["a"]})
            task = f"{user.tasks_path}/{created.json()['id']}"
            answers = [
                created,
                client.get(task),
                client.patch(task, json={"title": "during"}, headers={"If-Match": '"1"'}),
                client.patch(f"{task}/complete"),
                client.get(user.tasks_path, params={"tag": "a", "q": "during"}),
                client.get(f"{user.tasks_path}/changes"),
                client.post(
                    user.tasks_path, json={"title": "again"}, headers={"Idempotency-Key": "k-1"}
                ),
                client.delete(task),
                client.get("/health/ready"),
            ]

    # then every operation answers as its own contract says (the new one may add fields)
    assert [answer.status_code for answer in answers] == [
        201,
        200,
        200,
        200,
        200,
        200,
        201,
        204,
        200,
    ]
    contract = Contract(yaml.safe_load((previous_release_code / "openapi.yaml").read_text()))
    for answer in answers:
        contract.assert_conforms(answer)
    assert answers[4].json()["items"][0]["title"] == "during"
