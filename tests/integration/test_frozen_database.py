"""A database that stops answering still gets every request its answer within the README's bounds.

The fault is a server that hangs without closing anything: every process of PostgreSQL stopped
with SIGSTOP (a paused VM, a host out of memory, a stuck storage volume). Its sockets stay open
and connecting to it still succeeds in the kernel, so nothing fails fast: only the service's own
deadlines answer. The bounds measured are the README's: 504 `database_timeout` once a request's
statements have had `DB_STATEMENT_TIMEOUT_SECONDS` (plus the `CANCEL_CONFIRMATION_SECONDS` the
service gives the database to confirm the cancel), 503 `service_unavailable` once opening a
connection has had `DB_CONNECT_TIMEOUT_SECONDS`, and readiness 503 within its one second. Once the
server runs again, the same service answers without a restart.

This module's server is an embedded one of its own: freezing a shared server would freeze every
other test using it.
"""

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from impl.db.embedded import embedded_postgres
from impl.db.pool import CANCEL_CONFIRMATION_SECONDS
from impl.db.url import parse_database_url
from impl.health import READINESS_SECONDS
from tests.conftest import LOG_DIR, OwnDatabaseService, User, new_user, service_on_fresh_database
from tests.support.contract import Contract
from tests.support.locks import RowLock, wait_until
from tests.support.postgres import PostgresServer, target

# What a busy 2-core CI machine adds to a measured bound: the HTTP round trip over loopback, a
# thread of the test starting its request late, the service's event loop and PostgreSQL's
# processes waiting for a core. Idle, the bounds below are met within a few tens of milliseconds.
SLACK_SECONDS = 1.0
# Short enough for a quick test, long enough that a second wait for the frozen server (the defect
# this module guards against) overshoots the bound plus its slack.
STATEMENT_TIMEOUT_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 2.0
DEFAULT_STATEMENT_TIMEOUT_SECONDS = 5.0
STOPPED = "T"
# The tests count the pooled connections they leave idle: no background job may take one.
NO_RETENTION_JOB = "0"


@dataclass(frozen=True)
class OwnServer:
    """An embedded PostgreSQL nobody else uses, and its data directory."""

    postgres: PostgresServer
    data_dir: Path


@pytest.fixture(scope="module")
def own_server() -> Iterator[OwnServer]:
    # The embedded server runs as its own system user: every parent folder must let it in.
    root = Path(tempfile.mkdtemp(prefix="taskapi-test-frozen-"))
    root.chmod(0o755)
    try:
        with embedded_postgres(root / "data") as url:
            yield OwnServer(PostgresServer(url), root / "data")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for every request of the module, so that a measured request is the request,
    not a new client's set-up (its TLS context, its connection)."""
    with httpx.Client(timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def short_timeouts(own_server: OwnServer) -> Iterator[OwnDatabaseService]:
    with service_on_fresh_database(
        own_server.postgres,
        "taskapi_frozen",
        LOG_DIR / "service-frozen-database.log",
        DB_STATEMENT_TIMEOUT_SECONDS=str(STATEMENT_TIMEOUT_SECONDS),
        DB_CONNECT_TIMEOUT_SECONDS=str(CONNECT_TIMEOUT_SECONDS),
        RETENTION_INTERVAL_SECONDS=NO_RETENTION_JOB,
    ) as service:
        yield service


@pytest.fixture(scope="module")
def default_timeouts(own_server: OwnServer) -> Iterator[OwnDatabaseService]:
    with service_on_fresh_database(
        own_server.postgres,
        "taskapi_frozen_defaults",
        LOG_DIR / "service-frozen-database-defaults.log",
        RETENTION_INTERVAL_SECONDS=NO_RETENTION_JOB,
    ) as service:
        yield service


def server_processes(data_dir: Path) -> list[int]:
    """The postmaster (first line of postmaster.pid) and every process it started."""
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    children = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and parent(int(entry.name)) == postmaster
    ]
    return [postmaster, *children]


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, parent, ...); none once
    the process has gone."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return []
    # The command name in parentheses may hold spaces and parentheses: it ends at the last ")".
    return stat.rsplit(")", 1)[1].split()


def parent(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[1]) if fields else None


def state(pid: int) -> str:
    """The process's state letter (T: stopped); "" once it has gone."""
    fields = stat_fields(pid)
    return fields[0] if fields else ""


@contextmanager
def frozen(server: OwnServer) -> Iterator[None]:
    """Every process of the server stopped for the block, and running again after it, always.

    The postmaster is stopped first, so that it starts no process while its children are listed.
    """
    stopped: list[int] = []
    try:
        for pid in server_processes(server.data_dir):
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            stopped.append(pid)
        wait_until(lambda: all(state(pid) in (STOPPED, "") for pid in stopped))
        yield
    finally:
        for pid in stopped:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str
    json: object = None
    headers: tuple[tuple[str, str], ...] = ()


def operations(user: User, task_id: int) -> list[Call]:
    """A list, a get, a create, a create under an Idempotency-Key (a transaction), a patch."""
    task = user.task_path(task_id)
    return [
        Call("list", "GET", user.tasks_path),
        Call("get", "GET", task),
        Call("create", "POST", user.tasks_path, {"title": "new"}),
        Call(
            "idempotent create",
            "POST",
            user.tasks_path,
            {"title": "once"},
            (("Idempotency-Key", f"key-{user.id}"),),
        ),
        Call(
            "patch",
            "PATCH",
            task,
            {"priority": "high"},
            (("Content-Type", "application/merge-patch+json"),),
        ),
    ]


@dataclass(frozen=True)
class Timed:
    response: httpx.Response
    seconds: float


def send(http: httpx.Client, base: str, user: User, call: Call) -> Timed:
    started = time.monotonic()
    response = http.request(
        call.method,
        f"{base}{call.path}",
        json=call.json,
        headers={**auth(user), **dict(call.headers)},
    )
    return Timed(response, time.monotonic() - started)


def ready(http: httpx.Client, base: str) -> Timed:
    started = time.monotonic()
    response = http.get(f"{base}/health/ready")
    return Timed(response, time.monotonic() - started)


def create(http: httpx.Client, base: str, user: User) -> int:
    response = http.post(f"{base}{user.tasks_path}", json={"title": "t"}, headers=auth(user))
    assert response.status_code == 201
    task_id: int = response.json()["id"]
    return task_id


def warm_pool(
    http: httpx.Client, service: OwnDatabaseService, user: User, connections: int
) -> None:
    """Leave at least `connections` idle in the service's pool: that many lists wait together on
    a lock of the whole table, so each opens a connection of its own, and then all finish."""
    with ThreadPoolExecutor(connections) as threads, RowLock(service.database_url, None) as lock:
        lists = [
            threads.submit(send, http, service.base_url, user, Call("list", "GET", user.tasks_path))
            for _ in range(connections)
        ]
        wait_until(lambda: lock.waiting_statements() == connections)
    assert [future.result().response.status_code for future in lists] == [200] * connections


def answer(timed: Timed, contract: Contract) -> tuple[int, str, bool]:
    """The status, the error code, and whether a Retry-After came with it."""
    contract.assert_conforms(timed.response)
    retry_after = int(timed.response.headers.get("Retry-After", "0")) > 0
    return timed.response.status_code, timed.response.json()["error"], retry_after


DATABASE_TIMEOUT = (504, "database_timeout", True)
UNAVAILABLE = (503, "service_unavailable", True)


def frozen_round(
    http: httpx.Client,
    server: OwnServer,
    service: OwnDatabaseService,
    user: User,
    calls: list[Call],
) -> tuple[dict[str, Timed], Timed]:
    """Every call and the readiness probe at once, on a warm pool, while the server is frozen."""
    base = service.base_url
    warm_pool(http, service, user, len(calls) + 1)
    with frozen(server), ThreadPoolExecutor(len(calls) + 1) as threads:
        answers = {call.name: threads.submit(send, http, base, user, call) for call in calls}
        probe = threads.submit(ready, http, base)
        return {name: future.result() for name, future in answers.items()}, probe.result()


def test_given_a_frozen_database_when_a_list_get_create_and_patch_come_then_each_is_504_in_time(
    own_server: OwnServer,
    http: httpx.Client,
    short_timeouts: OwnDatabaseService,
    contract: Contract,
) -> None:
    base, alice = short_timeouts.base_url, new_user("alice")
    calls = operations(alice, create(http, base, alice))

    # Given pooled connections to a server that then stops answering,
    # when each operation and the readiness probe come at once,
    answers, probe = frozen_round(http, own_server, short_timeouts, alice, calls)

    # then each operation is 504 once its statement has had its time and the cancel its window,
    bound = STATEMENT_TIMEOUT_SECONDS + CANCEL_CONFIRMATION_SECONDS + SLACK_SECONDS
    assert {name: answer(timed, contract) for name, timed in answers.items()} == dict.fromkeys(
        answers, DATABASE_TIMEOUT
    )
    assert {name: timed.seconds for name, timed in answers.items() if timed.seconds >= bound} == {}
    # readiness is 503 within its own short deadline,
    assert answer(probe, contract) == UNAVAILABLE
    assert probe.seconds < READINESS_SECONDS + SLACK_SECONDS
    # and once the server runs again the same service answers each of them.
    after = [send(http, base, alice, call).response.status_code for call in calls]
    assert after == [200, 200, 201, 201, 200]
    assert ready(http, base).response.status_code == 200


def test_with_the_default_timeouts_a_frozen_database_is_504_within_five_seconds(
    own_server: OwnServer,
    http: httpx.Client,
    default_timeouts: OwnDatabaseService,
    contract: Contract,
) -> None:
    base, alice = default_timeouts.base_url, new_user("alice")

    # Given the README's defaults (DB_STATEMENT_TIMEOUT_SECONDS=5) and a frozen server,
    # when a list and the readiness probe come,
    answers, probe = frozen_round(
        http, own_server, default_timeouts, alice, [Call("list", "GET", alice.tasks_path)]
    )

    # then the list is 504 within the five seconds (and the cancel's window), readiness 503
    # within its second, as the README states.
    listing = answers["list"]
    assert answer(listing, contract) == DATABASE_TIMEOUT
    assert listing.seconds < (
        DEFAULT_STATEMENT_TIMEOUT_SECONDS + CANCEL_CONFIRMATION_SECONDS + SLACK_SECONDS
    )
    assert answer(probe, contract) == UNAVAILABLE
    assert probe.seconds < READINESS_SECONDS + SLACK_SECONDS
    assert (
        send(http, base, alice, Call("list", "GET", alice.tasks_path)).response.status_code == 200
    )


@pytest.mark.parametrize(
    "call",
    [Call("list", "GET", "/tasks"), Call("idempotent create", "POST", "/tasks", {"title": "t"})],
    ids=["a read", "a write in a transaction"],
)
def test_given_a_request_holding_a_connection_when_the_database_freezes_then_it_is_504_in_time(
    own_server: OwnServer,
    http: httpx.Client,
    short_timeouts: OwnDatabaseService,
    contract: Contract,
    call: Call,
) -> None:
    base, alice = short_timeouts.base_url, new_user("alice")
    path = f"/api/{alice.id}{call.path}"
    headers = (("Idempotency-Key", f"key-{alice.id}"),) if call.method == "POST" else ()
    request = Call(call.name, call.method, path, call.json, headers)

    with ThreadPoolExecutor(1) as thread, RowLock(short_timeouts.database_url, None) as lock:
        # Given a request whose statement reached the server and waits there (on a table lock),
        under_way = thread.submit(send, http, base, alice, request)
        wait_until(lambda: lock.waiting_statements() == 1)
        # when the whole server freezes under it,
        with frozen(own_server):
            timed = under_way.result()

    # then it is 504 within the bound counted from its start, not from the freeze,
    assert answer(timed, contract) == DATABASE_TIMEOUT
    assert timed.seconds < STATEMENT_TIMEOUT_SECONDS + CANCEL_CONFIRMATION_SECONDS + SLACK_SECONDS
    # and, the server running again, the same request succeeds.
    retried = send(http, base, alice, request).response.status_code
    assert retried == (200 if call.method == "GET" else 201)


def fetchval(url: str, statement: str, *arguments: object) -> object:
    """One value, on a connection of its own."""

    async def fetch() -> object:
        connection = await asyncpg.connect(target(url).dsn)
        try:
            return await connection.fetchval(statement, *arguments)
        finally:
            await connection.close()

    return asyncio.run(fetch())


def drop_every_connection(server: OwnServer, service: OwnDatabaseService) -> None:
    """Terminate every backend of the service's database, and return once they are gone: each
    pooled connection is then dead, and the service has to open a new one for anything."""
    database = parse_database_url(service.database_url).database
    admin = server.postgres.admin_url
    backends = "FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
    fetchval(admin, f"SELECT count(pg_terminate_backend(pid)) {backends}", database)
    wait_until(lambda: fetchval(admin, f"SELECT count(*) {backends}", database) == 0)


def test_given_no_live_connection_when_the_database_is_frozen_then_readiness_and_a_request_are_503(
    own_server: OwnServer,
    http: httpx.Client,
    short_timeouts: OwnDatabaseService,
    contract: Contract,
) -> None:
    base, alice = short_timeouts.base_url, new_user("alice")

    # Given a service whose every pooled connection the server has closed, and a frozen server
    # (which still accepts connections in the kernel, and never answers on them),
    drop_every_connection(own_server, short_timeouts)
    with frozen(own_server):
        # when readiness and a request each need to open a connection,
        probe = ready(http, base)
        listing = send(http, base, alice, Call("list", "GET", alice.tasks_path))

    # then readiness gives up within its own second, not the connect timeout,
    assert answer(probe, contract) == UNAVAILABLE
    assert probe.seconds < READINESS_SECONDS + SLACK_SECONDS
    # the request within the connect timeout,
    assert answer(listing, contract) == UNAVAILABLE
    assert listing.seconds < CONNECT_TIMEOUT_SECONDS + SLACK_SECONDS
    # and both answer once the server runs again.
    assert ready(http, base).response.status_code == 200
    assert (
        send(http, base, alice, Call("list", "GET", alice.tasks_path)).response.status_code == 200
    )
