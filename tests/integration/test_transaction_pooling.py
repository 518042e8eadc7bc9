"""Through PgBouncer in transaction mode, as on Neon's pooled endpoint, with fewer server
connections than the service has clients: each transaction may land on another server connection.

asyncpg prepares every statement under a name of its own per connection (its statement cache);
PgBouncer's `max_prepared_statements` (1.21+) tracks those names and prepares each statement on
whichever server connection the client gets. Without it the same load fails: a name is missing
on one server connection, or already taken on another. Migrations take their lock per
transaction, so replicas migrating through the pooler apply each migration once and leave no
lock behind on a server connection.
"""

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from impl.db.migrations import load_migrations, migrate
from tests.conftest import LOG_DIR, User, new_user, service_settings
from tests.support.contract import Contract
from tests.support.pgbouncer import NEON_QUERY, PoolerSettings, running_pgbouncer
from tests.support.postgres import PostgresServer, target
from tests.support.server import running_service

# PgBouncer opens at most this many server connections; the service's pool opens more clients.
SERVER_CONNECTIONS = 2
SERVICE_POOL_SIZE = 8
USERS = 4
TASKS_PER_USER = 6
MIGRATING_REPLICAS = 4
MIGRATION_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class PooledService:
    base_url: str
    database_url: str
    direct_url: str
    log_path: Path


@contextmanager
def pooled_service(
    postgres: PostgresServer, name: str, max_prepared_statements: int
) -> Iterator[PooledService]:
    """The service, started as in production, on a fresh database behind its own PgBouncer."""
    direct = postgres.direct()
    settings = PoolerSettings(
        default_pool_size=SERVER_CONNECTIONS, max_prepared_statements=max_prepared_statements
    )
    log_path = LOG_DIR / f"service-{name}.log"
    log_path.unlink(missing_ok=True)
    with (
        direct.fresh_database(f"taskapi_{name.replace('-', '_')}") as direct_url,
        running_pgbouncer(direct.admin_url, LOG_DIR / f"pgbouncer-{name}.log", settings) as pooler,
    ):
        database_url = pooler.url_for(database_name(direct_url))
        environment = service_settings(database_url, DB_POOL_SIZE=str(SERVICE_POOL_SIZE))
        with running_service(environment, log_path) as base_url:
            yield PooledService(base_url, database_url, direct_url, log_path)


def database_name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


@dataclass(frozen=True)
class Call:
    user: User
    method: str
    path: str
    expected: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


async def send_all(base_url: str, calls: list[Call]) -> list[httpx.Response]:
    """Every call at once, over as many HTTP connections as the service has pooled clients."""
    limits = httpx.Limits(max_connections=SERVICE_POOL_SIZE * 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.request(
                    call.method,
                    call.path,
                    json=call.body,
                    headers={"Authorization": f"Bearer {call.user.token}", **dict(call.headers)},
                )
                for call in calls
            )
        )


def mixed_load(base_url: str, contract: Contract) -> list[tuple[Call, httpx.Response]]:
    """Creates, then reads, edits, lists and syncs, then deletes: every statement the service
    prepares, from every pooled client, all at once."""
    users = [new_user("pooled") for _ in range(USERS)]
    creates = [
        Call(user, "POST", user.tasks_path, 201, {"title": f"task {n}", "tags": ["pooled"]})
        for user in users
        for n in range(TASKS_PER_USER)
    ]
    creates += [
        Call(user, "POST", user.tasks_path, 201, {"title": "once"}, (("Idempotency-Key", "k"),))
        for user in users
    ]
    results = list(zip(creates, asyncio.run(send_all(base_url, creates)), strict=True))
    created = [
        (call.user, response.json()["id"]) for call, response in results if response.is_success
    ]
    edits: list[Call] = []
    for user, task_id in created:
        edits += [
            Call(user, "GET", user.task_path(task_id), 200),
            Call(user, "PATCH", user.task_path(task_id), 200, {"priority": "high"}),
            Call(user, "PATCH", f"{user.task_path(task_id)}/complete", 200),
        ]
    for user in users:
        edits += [
            Call(user, "GET", f"{user.tasks_path}?limit=3&sort=title", 200),
            Call(user, "GET", f"{user.tasks_path}?status=pending&tag=pooled&q=task", 200),
            Call(user, "GET", f"{user.tasks_path}/changes", 200),
        ]
    results += zip(edits, asyncio.run(send_all(base_url, edits)), strict=True)
    deletes = [Call(user, "DELETE", user.task_path(task_id), 204) for user, task_id in created[::2]]
    results += zip(deletes, asyncio.run(send_all(base_url, deletes)), strict=True)
    for _, response in results:
        contract.assert_conforms(response)
    return results


def unexpected(results: list[tuple[Call, httpx.Response]]) -> list[str]:
    return [
        f"{call.method} {call.path}: {response.status_code} {response.text[:200]}"
        for call, response in results
        if response.status_code != call.expected
    ]


def server_connections(direct_url: str) -> int:
    async def count() -> int:
        connection = await asyncpg.connect(target(direct_url).dsn)
        try:
            found: int = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return found
        finally:
            await connection.close()

    return asyncio.run(count())


def test_every_request_succeeds_through_fewer_server_connections_than_clients(
    postgres: PostgresServer, contract: Contract
) -> None:
    with pooled_service(postgres, "pooled", max_prepared_statements=200) as service:
        results = mixed_load(service.base_url, contract)
        connections = server_connections(service.direct_url)

    tasks = USERS * (TASKS_PER_USER + 1)
    assert service.database_url.endswith(f"?{NEON_QUERY}")
    assert unexpected(results) == []
    assert len(results) == tasks + 3 * tasks + 3 * USERS + (tasks + 1) // 2
    assert 0 < connections <= SERVER_CONNECTIONS


def test_without_max_prepared_statements_the_same_load_fails(
    postgres: PostgresServer, contract: Contract
) -> None:
    """The control: PgBouncer before 1.21, or with the setting at 0 (the test above is not
    passing because nothing crossed server connections)."""
    with pooled_service(postgres, "pooled-untracked", max_prepared_statements=0) as service:
        results = mixed_load(service.base_url, contract)

    failures = unexpected(results)
    assert failures, "every request succeeded: the load never crossed server connections"
    assert all(": 500 " in failure for failure in failures), failures
    assert re.search(r"prepared statement .* (does not exist|already exists)", service_log(service))


def service_log(service: PooledService) -> str:
    return service.log_path.read_text(errors="replace")


def test_replicas_migrating_through_the_pooler_apply_each_once_and_leave_no_lock(
    postgres: PostgresServer,
) -> None:
    direct = postgres.direct()
    settings = PoolerSettings(default_pool_size=SERVER_CONNECTIONS)

    async def replicas(pooled_url: str) -> list[list[str]]:
        runs = asyncio.gather(*(migrate(target(pooled_url)) for _ in range(MIGRATING_REPLICAS)))
        shares = await asyncio.wait_for(runs, MIGRATION_TIMEOUT_SECONDS)
        return [[m.label for m in share] for share in shares]

    async def advisory_locks(direct_url: str) -> int:
        connection = await asyncpg.connect(target(direct_url).dsn)
        try:
            held: int = await connection.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            )
            return held
        finally:
            await connection.close()

    with (
        direct.fresh_database("taskapi_pooled_migrations") as direct_url,
        running_pgbouncer(direct.admin_url, LOG_DIR / "pgbouncer-migrations.log", settings) as pb,
    ):
        shares = asyncio.run(replicas(pb.url_for(database_name(direct_url))))
        # PgBouncer still holds its server connections open: a session lock would be there.
        locks_left = asyncio.run(advisory_locks(direct_url))

    assert sorted(label for share in shares for label in share) == [
        m.label for m in load_migrations()
    ]
    assert locks_left == 0
