"""Stopping the service: what SIGTERM does to the probes, to requests in flight and to the data.

Each test starts the production server (`python -m impl serve`, with one worker and with two) on
a fresh database, sends it SIGTERM at a chosen moment, and then reads the database directly.
Moments are conditions, never sleeps: a request is known to be in flight when PostgreSQL shows
its statement waiting on a row lock the test holds; the listener is known to be closed once
every worker has logged uvicorn's "Shutting down"; a burst is known to be under way once enough
of its writes have been answered.
"""

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from impl.db.migrations import connect
from tests.conftest import LOG_DIR, User, new_user, service_settings
from tests.support.contract import Contract
from tests.support.postgres import PostgresServer, target
from tests.support.server import service_process, worker_processes

WORKERS = [pytest.param(1, id="1-worker"), pytest.param(2, id="2-workers")]
# Longer than any test needs: the tests end drains and release locks themselves.
LONG_SECONDS = 120
# How long a process may take past its own bound to exit, on a loaded 2-core machine.
EXIT_MARGIN_SECONDS = 15
WAIT_SECONDS = 30
# What a client sees from a server that stopped listening or closed the connection.
CLOSED_CONNECTION = (
    httpx.ConnectError,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
TIMESTAMPS = ("created_at", "updated_at", "due_at", "completed_at")
# Read as JSON text on a connection of the test's own.
JSON_COLUMNS = frozenset({"due", "recurrence", "reminders"})
TASK_ROW = """
    SELECT id, user_id, title, description, completed, created_at, updated_at,
           priority::text AS priority, tags, due_at, due, recurrence, reminders, completed_at,
           version, list_id, parent_id, position
    FROM tasks
"""


@dataclass
class Service:
    url: str
    process: "subprocess.Popen[bytes]"
    database_url: str
    log: Path
    workers: int
    # Through a pooler (PgBouncer), pg_stat_activity shows its connections, not the service's.
    pooled: bool

    def sigterm(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def listener_closed(self) -> bool:
        """Every worker has begun uvicorn's shutdown: its listener is closed."""
        return self.log_text().count("Shutting down") >= self.workers

    async def exit_code(self, within_seconds: float) -> int:
        deadline = time.monotonic() + within_seconds
        while self.process.poll() is None:
            assert time.monotonic() < deadline, f"still running after {within_seconds} s"
            await asyncio.sleep(0.05)
        return self.process.returncode

    def client(self, user: User) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            timeout=WAIT_SECONDS,
            headers={"Authorization": f"Bearer {user.token}"},
        )


@contextmanager
def production_service(
    postgres: PostgresServer, name: str, workers: int, **settings: str
) -> Iterator[Service]:
    """`serve` with `workers` on a fresh database, INFO logs in a file of its own."""
    log = LOG_DIR / f"service-shutdown-{name}-{workers}.log"
    log.unlink(missing_ok=True)
    with postgres.fresh_database("taskapi_shutdown") as database_url:
        environment = service_settings(
            database_url,
            API_WORKERS=str(workers),
            LOG_LEVEL="INFO",
            # The tests hold statements on locks for as long as they need.
            DB_STATEMENT_TIMEOUT_SECONDS=str(LONG_SECONDS),
            **settings,
        )
        with service_process(environment, log) as (url, process):
            pooled = getattr(postgres, "pooler", None) is not None
            try:
                yield Service(url, process, database_url, log, workers, pooled)
            finally:
                _stop_for_good(process)


def _stop_for_good(process: "subprocess.Popen[bytes]") -> None:
    """After a failed test: end any drain (a second SIGTERM, to every worker), then kill."""
    if process.poll() is not None:
        return
    workers = worker_processes(process.pid)
    for pid in [process.pid, *workers, *workers]:
        _signal(pid, signal.SIGTERM)
    try:
        process.wait(timeout=EXIT_MARGIN_SECONDS)
    except subprocess.TimeoutExpired:
        for pid in [*workers, process.pid]:
            _signal(pid, signal.SIGKILL)
        process.wait()


def _signal(pid: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


@asynccontextmanager
async def database(url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect(target(url))
    try:
        yield connection
    finally:
        await connection.close()


@asynccontextmanager
async def row_locked(url: str, task_id: int) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Holds the task's row lock, so that the service's writes to it wait; yields the release."""
    async with database(url) as connection:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", task_id)
        released = False

        async def release() -> None:
            nonlocal released
            if not released:
                released = True
                await transaction.rollback()

        try:
            yield release
        finally:
            await release()


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.05)


async def statements_waiting_on_locks(database_url: str) -> int:
    async with database(database_url) as connection:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    return count


async def statement_waits_on_a_lock(database_url: str) -> None:
    async def waiting() -> bool:
        return await statements_waiting_on_locks(database_url) > 0

    await eventually(waiting, "the service's statement waits on the test's lock")


async def service_connections_are_gone(service: Service) -> None:
    """Its pool closed: no connection of its is left on the database."""
    if service.pooled:
        return

    async def gone() -> bool:
        async with database(service.database_url) as connection:
            count: int = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        return count == 0

    await eventually(gone, "no connection of the service is left")


async def listener_closed(service: Service) -> None:
    async def closed() -> bool:
        return service.listener_closed()

    await eventually(closed, "every worker has closed its listener")


def assert_no_traceback(service: Service) -> None:
    assert "Traceback" not in service.log_text(), f"a stack trace in {service.log}"


def assert_stored(answer: dict[str, Any], row: asyncpg.Record) -> None:
    """The row holds exactly the task the service answered."""
    for name, value in answer.items():
        stored = row[name]
        if name in JSON_COLUMNS and stored is not None:
            stored = json.loads(stored)
        if name in TIMESTAMPS:
            assert stored == (None if value is None else datetime.fromisoformat(value)), name
        else:
            assert stored == value, name


async def create(client: httpx.AsyncClient, user: User, title: str) -> dict[str, Any]:
    response = await client.post(user.tasks_path, json={"title": title})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


@pytest.mark.parametrize("workers", WORKERS)
def test_readiness_fails_from_sigterm_while_the_drain_still_serves_requests(
    postgres: PostgresServer, contract: Contract, workers: int
) -> None:
    user = new_user("drain")
    with production_service(
        postgres, "drain", workers, SHUTDOWN_DRAIN_SECONDS=str(LONG_SECONDS)
    ) as service:

        async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response, int]:
            async with service.client(user) as client:
                assert (await client.get("/health/ready")).status_code == 200

                service.sigterm()

                async def readiness_fails() -> bool:
                    return (await client.get("/health/ready")).status_code != 200

                await eventually(readiness_fails, "readiness fails")
                ready = await client.get("/health/ready")
                live = await client.get("/health/live")
                created = await client.post(user.tasks_path, json={"title": "while draining"})
            # A second SIGTERM ends the drain. uvicorn's supervisor forwards only the first one
            # to its workers, so with several workers it goes to each of them.
            for pid in (
                worker_processes(service.process.pid) if workers > 1 else [service.process.pid]
            ):
                os.kill(pid, signal.SIGTERM)
            code = await service.exit_code(within_seconds=EXIT_MARGIN_SECONDS)
            await service_connections_are_gone(service)
            return ready, live, created, code

        ready, live, created, code = asyncio.run(scenario())

    for response in (ready, live, created):
        contract.assert_conforms(response)
    assert ready.status_code == 503
    assert ready.json()["error"] == "shutting_down"
    assert int(ready.headers["Retry-After"]) >= 0
    assert live.status_code == 200
    assert created.status_code == 201
    assert code == 0
    assert_no_traceback(service)


@pytest.mark.parametrize("workers", WORKERS)
def test_a_request_in_flight_at_sigterm_is_finished_after_the_listener_closes(
    postgres: PostgresServer, contract: Contract, workers: int
) -> None:
    user = new_user("inflight")
    with production_service(
        postgres, "in-flight", workers, SHUTDOWN_TIMEOUT_SECONDS=str(LONG_SECONDS)
    ) as service:

        async def scenario() -> tuple[httpx.Response, asyncpg.Record, int]:
            async with service.client(user) as client:
                task = await create(client, user, "before")
                async with row_locked(service.database_url, task["id"]) as release:
                    patch = asyncio.create_task(
                        client.patch(
                            user.task_path(task["id"]), json={"title": "after"}, headers=MERGE_PATCH
                        )
                    )
                    await statement_waits_on_a_lock(service.database_url)

                    service.sigterm()
                    await listener_closed(service)
                    if workers == 1:
                        # (With several workers uvicorn's supervisor keeps the socket open until
                        # it exits, so a new connection waits instead of being refused.)
                        async with httpx.AsyncClient(base_url=service.url) as newcomer:
                            with pytest.raises(CLOSED_CONNECTION):
                                await newcomer.get("/health/live")
                    await release()
                    answer = await patch
            code = await service.exit_code(within_seconds=LONG_SECONDS + EXIT_MARGIN_SECONDS)
            await service_connections_are_gone(service)
            async with database(service.database_url) as connection:
                row = await connection.fetchrow(TASK_ROW + " WHERE id = $1", task["id"])
            return answer, row, code

        answer, row, code = asyncio.run(scenario())

    contract.assert_conforms(answer)
    assert answer.status_code == 200
    assert answer.json()["title"] == "after"
    assert answer.headers["Connection"] == "close"
    assert_stored(answer.json(), row)
    assert code == 0
    assert_no_traceback(service)


@pytest.mark.parametrize("workers", WORKERS)
def test_a_request_still_running_when_the_bound_expires_is_503_and_its_write_cancelled(
    postgres: PostgresServer, contract: Contract, workers: int
) -> None:
    user = new_user("bound")
    bound_seconds = 1
    with production_service(
        postgres, "bound", workers, SHUTDOWN_TIMEOUT_SECONDS=str(bound_seconds)
    ) as service:

        async def scenario() -> tuple[
            dict[str, Any], httpx.Response, asyncpg.Record, int, float, int
        ]:
            async with service.client(user) as client:
                task = await create(client, user, "before")
                async with row_locked(service.database_url, task["id"]) as release:
                    patch = asyncio.create_task(
                        client.patch(
                            user.task_path(task["id"]), json={"title": "late"}, headers=MERGE_PATCH
                        )
                    )
                    await statement_waits_on_a_lock(service.database_url)

                    service.sigterm()
                    signalled = time.monotonic()
                    answer = await patch
                    code = await service.exit_code(
                        within_seconds=bound_seconds + EXIT_MARGIN_SECONDS
                    )
                    took = time.monotonic() - signalled
                    # The statement the service gave up on no longer waits: it was cancelled in
                    # the database, not left to go on (and commit) once the lock goes.
                    still_waiting = await statements_waiting_on_locks(service.database_url)
                    await release()
            await service_connections_are_gone(service)
            async with database(service.database_url) as connection:
                row = await connection.fetchrow(TASK_ROW + " WHERE id = $1", task["id"])
            return task, answer, row, code, took, still_waiting

        task, answer, row, code, took, still_waiting = asyncio.run(scenario())

    contract.assert_conforms(answer)
    assert answer.status_code == 503
    assert answer.json()["error"] == "shutting_down"
    assert code == 0
    assert took < bound_seconds + EXIT_MARGIN_SECONDS
    assert "timeout graceful shutdown exceeded" in service.log_text()
    assert_no_traceback(service)
    assert still_waiting == 0
    assert_stored(task, row)


# The burst: writers that each send writes one after another until the service stops
# answering; SIGTERM goes out once enough of them have been answered.
WRITERS = 8
MAX_WRITES_PER_WRITER = 400
ACKNOWLEDGED_BEFORE_SIGTERM = 40


@dataclass
class Write:
    kind: str  # "create", "toggle" or "patch"
    user: User
    task_id: int | None = None
    key: str | None = None
    title: str | None = None
    answer: httpx.Response | None = None
    failure: httpx.TransportError | None = None

    @property
    def acknowledged(self) -> bool:
        return self.answer is not None and self.answer.is_success

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        if self.kind == "create":
            assert self.key is not None
            return await client.post(
                self.user.tasks_path,
                json={"title": self.title, "priority": "high", "tags": ["burst"]},
                headers={"Authorization": f"Bearer {self.user.token}", "Idempotency-Key": self.key},
            )
        assert self.task_id is not None
        auth = {"Authorization": f"Bearer {self.user.token}"}
        if self.kind == "toggle":
            return await client.patch(f"{self.user.task_path(self.task_id)}/complete", headers=auth)
        return await client.patch(
            self.user.task_path(self.task_id),
            json={"title": self.title},
            headers={**auth, **MERGE_PATCH},
        )


@dataclass
class Targets:
    """Tasks that exist before the burst, per user: one it toggles, one it renames."""

    toggled: dict[str, dict[str, Any]]
    renamed: dict[str, dict[str, Any]]


def plan(writer: int, n: int, users: list[User], targets: Targets) -> Write:
    user = users[(writer + n) % len(users)]
    name = f"{writer}-{n}-{uuid.uuid4().hex[:8]}"
    match n % 4:
        case 0 | 1:
            return Write("create", user, key=f"burst-{name}", title=f"burst-{name}")
        case 2:
            return Write("toggle", user, task_id=targets.toggled[user.id]["id"])
        case _:
            return Write(
                "patch", user, task_id=targets.renamed[user.id]["id"], title=f"patch-{name}"
            )


async def burst(
    service: Service, users: list[User], targets: Targets
) -> tuple[list[list[Write]], float]:
    """Every writer's writes, in order; and when SIGTERM went out."""
    writes: list[list[Write]] = [[] for _ in range(WRITERS)]
    signalled_at = 0.0

    async def writer(number: int, client: httpx.AsyncClient) -> None:
        for n in range(MAX_WRITES_PER_WRITER):
            write = plan(number, n, users, targets)
            writes[number].append(write)
            try:
                write.answer = await write.send(client)
            except CLOSED_CONNECTION as failure:
                write.failure = failure
                return

    async def sigterm_mid_burst() -> None:
        nonlocal signalled_at

        async def enough_acknowledged() -> bool:
            return sum(w.acknowledged for ws in writes for w in ws) >= ACKNOWLEDGED_BEFORE_SIGTERM

        await eventually(enough_acknowledged, "the burst is under way")
        service.sigterm()
        signalled_at = time.monotonic()

    limits = httpx.Limits(max_connections=WRITERS, max_keepalive_connections=WRITERS)
    async with httpx.AsyncClient(
        base_url=service.url, timeout=WAIT_SECONDS, limits=limits
    ) as client:
        await asyncio.gather(sigterm_mid_burst(), *(writer(n, client) for n in range(WRITERS)))
    return writes, signalled_at


@pytest.mark.parametrize("workers", WORKERS)
def test_sigterm_mid_burst_of_writes_keeps_every_acknowledged_write_and_half_writes_none(
    postgres: PostgresServer, contract: Contract, workers: int
) -> None:
    users = [new_user("burst"), new_user("burst")]
    bound_seconds = 10
    with production_service(
        postgres, "burst", workers, SHUTDOWN_TIMEOUT_SECONDS=str(bound_seconds)
    ) as service:

        async def scenario() -> tuple[Targets, list[list[Write]], int, float, dict[str, Any]]:
            targets = Targets({}, {})
            for user in users:
                async with service.client(user) as client:
                    targets.toggled[user.id] = await create(client, user, "toggled")
                    targets.renamed[user.id] = await create(client, user, "renamed")

            writes, signalled_at = await burst(service, users, targets)

            code = await service.exit_code(within_seconds=bound_seconds + EXIT_MARGIN_SECONDS)
            took = time.monotonic() - signalled_at
            await service_connections_are_gone(service)
            async with database(service.database_url) as connection:
                stored = {
                    "tasks": {row["id"]: row for row in await connection.fetch(TASK_ROW)},
                    "keys": await connection.fetch(
                        "SELECT user_id, key, response FROM idempotency_keys"
                    ),
                    "counts": {
                        row["user_id"]: row["task_count"]
                        for row in await connection.fetch("SELECT * FROM task_counts")
                    },
                }
            return targets, writes, code, took, stored

        targets, writes, code, took, stored = asyncio.run(scenario())

    # The process stopped by itself, in time, cleanly.
    assert code == 0
    assert took < bound_seconds + EXIT_MARGIN_SECONDS
    assert_no_traceback(service)

    # The burst outlived the listener: every writer ended on a refused or closed connection.
    # Every answer before that is one the contract declares: a success, or the Error shape of
    # a 503 (the only error a write of the burst may meet).
    all_writes = [write for one_writer in writes for write in one_writer]
    assert all(one_writer[-1].failure is not None for one_writer in writes)
    for write in all_writes:
        if write.answer is not None:
            contract.assert_conforms(write.answer)
            assert write.acknowledged or write.answer.status_code == 503, write.answer.text
    acknowledged = [write for write in all_writes if write.acknowledged]
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_SIGTERM

    tasks: dict[int, asyncpg.Record] = stored["tasks"]
    keys = {(row["user_id"], row["key"]): json.loads(row["response"]) for row in stored["keys"]}

    # Every acknowledged create is there, exactly as answered, with its key replaying it.
    for write in acknowledged:
        if write.kind == "create":
            assert write.answer is not None
            answer = write.answer.json()
            assert_stored(answer, tasks[answer["id"]])
            assert keys[(write.user.id, write.key)] == answer

    # No create half-done: each key names a task that exists, each task of the burst has its key.
    created = {(task["user_id"], task["id"]) for task in keys.values()}
    assert all(task_id in tasks for _, task_id in created)
    burst_tasks = {
        (t["user_id"], t["id"]) for t in tasks.values() if t["title"].startswith("burst-")
    }
    assert burst_tasks == created

    # Each user's count is the number of tasks the user holds.
    held: dict[str, int] = defaultdict(int)
    for task in tasks.values():
        held[task["user_id"]] += 1
    assert stored["counts"] == held

    # Toggles and renames: each acknowledged one is a distinct version of the task, none past
    # what is stored; a toggle always moved `completed` and `completed_at` with the version.
    for kind, of_user in (("toggle", targets.toggled), ("patch", targets.renamed)):
        for user in users:
            before = of_user[user.id]
            row = tasks[before["id"]]
            mine = [w for w in acknowledged if w.kind == kind and w.user == user]
            sent = [w for w in all_writes if w.kind == kind and w.user == user]
            versions = [w.answer.json()["version"] for w in mine if w.answer is not None]
            assert len(set(versions)) == len(versions)
            assert all(version <= row["version"] for version in versions)
            applied = row["version"] - before["version"]
            assert len(mine) <= applied <= len(sent)
            latest = [
                w
                for w in mine
                if w.answer is not None and w.answer.json()["version"] == row["version"]
            ]
            if latest:
                assert latest[0].answer is not None
                assert_stored(latest[0].answer.json(), row)
            if kind == "toggle":
                assert row["completed"] is (before["completed"] != (applied % 2 == 1))
                assert (row["completed_at"] is not None) is row["completed"]
            else:
                assert row["title"] in {before["title"], *(w.title for w in sent)}
