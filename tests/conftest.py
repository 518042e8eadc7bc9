"""Shared fixtures: one PostgreSQL server and one running service for the whole session."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.contract import Contract
from tests.support.pgbouncer import running_pgbouncer
from tests.support.postgres import PostgresServer, execute, postgres_server
from tests.support.server import running_service
from tests.support.tokens import SECRET, token_for

LOG_DIR = Path(__file__).resolve().parents[1] / "reports"
# `make pytest` runs the modules on several workers (pytest-xdist, a module per worker at a time):
# each worker has its own PostgreSQL, service and pooler, and logs them under its own name.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# The longest modules (seconds, measured on a 2-core machine) start first, so that the workers
# finish together. A module missing here only starts later: it costs time, never coverage.
SLOWEST_MODULES = {
    "test_breaking_changes.py": 151,
    "test_fresh_clone.py": 114,
    "test_jwks.py": 80,
    "test_web_app_in_a_browser.py": 50,
    "test_container.py": 55,
    "test_paging.py": 48,
    "test_shutdown.py": 43,
    "test_metrics.py": 39,
    "test_properties.py": 37,
    "test_list_queries.py": 34,
    "test_http_edge.py": 34,
    "test_preconditions.py": 33,
    "test_spec_lint.py": 33,
}
# The service migrates its database on startup, which may come after this runs for the first time.
TRUNCATE_TASKS = (
    "DO $$ BEGIN IF to_regclass('tasks') IS NOT NULL THEN"
    " TRUNCATE tasks, task_deletions, task_counts, idempotency_keys, task_lists,"
    " task_list_deletions, user_settings, task_occurrences, task_reminders, trash, trashed_tasks,"
    " trashed_lists, task_history; END IF; END $$"
)


THROUGH_PGBOUNCER = "--through-pgbouncer"
# A pooler in transaction mode changes how the service's statements reach PostgreSQL: prepared
# statements, transactions, cancellation, connections dropped, session state. The run through
# PgBouncer keeps every module whose statements or connections are its own (writes, lists, sync,
# idempotency, limits, timeouts, migrations, retention, replicas, shutdown); it leaves out each
# module below, which would run exactly as in the direct run (no database, a server of its own,
# checks made before any statement, or only statements a kept module runs already), or checks
# PostgreSQL's own view of the service's connections, which a pooler changes. A module missing
# from here runs through the pooler: renaming one costs time, never coverage.
SAME_STATEMENTS = "only statements that modules run through the pooler run already: "
NOT_THROUGH_PGBOUNCER = {
    "test_pool.py": "counts PostgreSQL's backends behind the service's pool, which a pooler owns",
    "test_database_url.py": "connects to the server directly by design",
    "test_database_unavailable.py": "no database, or an embedded server of its own",
    "test_frozen_database.py": "freezes an embedded server of its own with SIGSTOP",
    "test_startup.py": "configuration refused at start, and the embedded server",
    "test_transaction_pooling.py": "starts PgBouncers of its own in both runs",
    "test_authentication.py": "tokens are refused before any connection is taken",
    "test_token_attacks.py": "tokens are refused before any connection is taken",
    "test_jwks.py": "key sets and token checks, before any connection is taken",
    "test_better_auth_interop.py": "tokens from Better Auth, checked before any connection",
    "test_dev_tokens.py": "make token and make dev-jwks: no database",
    "test_mock_server.py": "Prism serves the contract's examples: no service, no database",
    "test_docs_in_a_browser.py": "the docs pages in Chromium: no database",
    "test_web_app_in_a_browser.py": "the web app in Chromium: its writes are test_tasks.py's,"
    " through the generated client",
    "test_typescript_client.py": "the TypeScript client's types and calls, which the Python"
    " tests make too",
    "test_http_edge.py": "how the server reads requests, before the database is involved",
    "test_fresh_clone.py": "the README's quick start on its own embedded database, and the wheel"
    " installed and served: what a newcomer meets, not how the database is reached",
    "test_container.py": "the image on a PostgreSQL of its own, reached over TCP from the"
    " container",
    "test_auth_before_body.py": "callers refused before the body, and before any statement",
    "test_strict_parameters.py": "parameters refused as they are read, before any statement",
    "test_bad_input.py": SAME_STATEMENTS + "bad input is refused before its statement, and"
    " what is accepted is written as test_tasks.py writes it",
    "test_cors.py": "CORS headers, added whatever the database; "
    + SAME_STATEMENTS
    + "test_tasks.py",
    "test_contract.py": "the operations served and the contract served: no statement",
    "test_head.py": SAME_STATEMENTS + "HEAD is GET without the body",
    "test_date_times.py": SAME_STATEMENTS + "the writes and filters of test_tasks.py and"
    " test_list_queries.py with other values, which a pooler relays unchanged",
    "test_task_fields.py": SAME_STATEMENTS + "the writes of test_tasks.py and test_merge_patch.py"
    " with other values",
    "test_properties.py": SAME_STATEMENTS + "the writes of test_tasks.py and test_merge_patch.py"
    " with drawn values",
    "test_preconditions.py": SAME_STATEMENTS + "the conditional writes of"
    " test_conditional_requests.py",
    "test_paging.py": SAME_STATEMENTS + "the list statements of test_list_queries.py, a page at"
    " a time",
    "test_query_plans.py": "the planner's choices, which are PostgreSQL's whoever connects",
    "test_metrics.py": "the service's own pool and requests, counted in the service",
    "test_logs.py": "what the service logs, the same whoever relays its statements",
    "test_tracing.py": "the spans the service sends, the same whoever relays its statements",
    "test_nothing_private_is_logged.py": "what the service logs, the same whoever relays its"
    " statements",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        THROUGH_PGBOUNCER,
        action="store_true",
        help="reach every test database through PgBouncer in transaction mode, as on Neon's"
        " pooled endpoint (`make pytest` runs tests/integration once more this way)",
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not config.getoption(THROUGH_PGBOUNCER):
        return []
    return ["through PgBouncer (transaction mode); left out:"] + [
        f"  {module}: {reason}" for module, reason in NOT_THROUGH_PGBOUNCER.items()
    ]


def session_log(name: str) -> Path:
    """The log of a process the whole session shares, one per worker."""
    return LOG_DIR / (f"{name}-{WORKER}.log" if WORKER else f"{name}.log")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A stable sort: within a module, and among the modules not listed, the order is unchanged.
    items.sort(key=lambda item: -SLOWEST_MODULES.get(item.path.name, 0))
    if not config.getoption(THROUGH_PGBOUNCER):
        return
    left_out = [item for item in items if item.path.name in NOT_THROUGH_PGBOUNCER]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item.path.name not in NOT_THROUGH_PGBOUNCER]


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract()


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    with postgres_server() as server:
        if not request.config.getoption(THROUGH_PGBOUNCER):
            yield server
            return
        with running_pgbouncer(server.admin_url, session_log("pgbouncer")) as pooler:
            yield replace(server, pooler=pooler)


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


@dataclass(frozen=True)
class OwnDatabaseService:
    """A service started for one module, on a database nothing else uses."""

    base_url: str
    database_url: str


@contextmanager
def service_on_fresh_database(
    postgres: PostgresServer, prefix: str, log_path: Path, **overrides: str
) -> Iterator[OwnDatabaseService]:
    """The service with `overrides` on a fresh database; the log starts empty."""
    log_path.unlink(missing_ok=True)
    with (
        postgres.fresh_database(prefix) as url,
        running_service(service_settings(url, **overrides), log_path) as base_url,
    ):
        yield OwnDatabaseService(base_url, url)


@pytest.fixture(scope="session")
def service_url(database_url: str) -> Iterator[str]:
    LOG_DIR.mkdir(exist_ok=True)
    with running_service(service_settings(database_url), session_log("service")) as url:
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

    @property
    def lists_path(self) -> str:
        return f"/api/{self.id}/lists"

    def list_path(self, list_id: int | str) -> str:
        return f"{self.lists_path}/{list_id}"


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
