"""Shared fixtures: one PostgreSQL server and one running service for the whole session."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.contract import Contract
from tests.support.postgres import PostgresServer, execute, postgres_server
from tests.support.server import running_service
from tests.support.tokens import SECRET, token_for

LOG_DIR = Path(__file__).resolve().parents[1] / "reports"
# The service migrates its database on startup, which may come after this runs for the first time.
TRUNCATE_TASKS = (
    "DO $$ BEGIN IF to_regclass('tasks') IS NOT NULL THEN"
    " TRUNCATE tasks, task_deletions, task_counts, idempotency_keys; END IF; END $$"
)


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def database_url(postgres: PostgresServer) -> Iterator[str]:
    """The session's database; the service migrates it when it starts."""
    with postgres.fresh_database() as url:
        yield url


def service_settings(database_url: str, **overrides: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "BETTER_AUTH_SECRET": SECRET,
        "MIGRATE_ON_STARTUP": "true",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


@pytest.fixture(scope="session")
def service_url(database_url: str) -> Iterator[str]:
    LOG_DIR.mkdir(exist_ok=True)
    with running_service(service_settings(database_url), LOG_DIR / "service.log") as url:
        yield url


@dataclass
class Api:
    """An HTTP client for the running service that checks every answer against the contract."""

    http: httpx.Client
    contract: Contract

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        response = self.http.request(method, path, json=json, content=content, headers=all_headers)
        self.contract.assert_conforms(response)
        return response


@pytest.fixture
def api(service_url: str, contract: Contract) -> Iterator[Api]:
    with httpx.Client(base_url=service_url, timeout=10) as http:
        yield Api(http, contract)


@pytest.fixture
def http(service_url: str) -> Iterator[httpx.Client]:
    """A plain client, for requests the contract does not describe (unknown paths, methods)."""
    with httpx.Client(base_url=service_url, timeout=10) as client:
        yield client


@dataclass(frozen=True)
class User:
    id: str
    token: str

    @property
    def tasks_path(self) -> str:
        return f"/api/{self.id}/tasks"

    def task_path(self, task_id: int | str) -> str:
        return f"{self.tasks_path}/{task_id}"


def new_user(name: str) -> User:
    user_id = f"{name}_{uuid.uuid4().hex[:8]}"
    return User(user_id, token_for(user_id))


@pytest.fixture
def alice() -> User:
    return new_user("alice")


@pytest.fixture
def bob() -> User:
    return new_user("bob")


@pytest.fixture(autouse=True)
def _empty_tasks_table(request: pytest.FixtureRequest) -> None:
    """Integration tests start from an empty table, whatever ran before them."""
    if "database_url" in request.fixturenames:
        database_url: str = request.getfixturevalue("database_url")
        execute(database_url, TRUNCATE_TASKS)
