"""Our service against the mirror, operation by operation, in interleaved rounds.

Per worker count, both sides get a fresh database seeded by the same SQL and a server started the
same way; both stay up for the whole block, but only one is under load at a time. Each round
runs every operation on both sides back to back (which side goes first alternates), so that
noise on the machine hits both.
"""

import dataclasses
import functools
import signal
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.database import BIG_USER, THROUGHPUT, SeededDatabase, add_delete_pool, seeded_database
from bench.parity import check_parity
from bench.servers import SIDES, RunningServer, ServerConfig, spawned_server, wait_until_ready
from bench.statements import Usage, measured
from bench.workload import (
    BATCHES,
    SEQUENCE,
    TOKENS,
    write_deep_cursors,
    write_delete_pool,
    write_workload,
)
from bench.wrk import Load, LoadError, LoadResult, run_load
from tests.support.postgres import PostgresServer

# driver.lua's names: the list (page 1 of 50 tasks), the filtered and sorted list, a page from far
# into a big user's walk (by cursor), a list's first page in the user's own order, then one task
# at a time (a create of a recurring task: a zoned due date and a weekly rule; the completion of
# a recurring task's occurrence; a move: right after another task of its list), then a batch of
# 20 operations on one user's tasks (6 moves, 6 completions, 8 title changes:
# workload.bulk_edits).
OPERATIONS = (
    "list",
    "filtered",
    "deep_page",
    "manual",
    "get",
    "create",
    "create_recurring",
    "replace",
    "toggle",
    "complete_recurring",
    "move",
    "batch",
    "delete",
)
# Each DELETE needs a task of its own: the pool is the fastest rate seen so far, with margin.
DELETE_POOL_MARGIN = 2.5
DELETE_POOL_FLOOR = 20_000


@dataclass(frozen=True)
class ThroughputPlan:
    rounds: int
    duration_seconds: float
    warmup_seconds: float
    connections: int
    threads: int
    workers: tuple[int, ...]
    overrides: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Measurement:
    workers: int
    round: int
    operation: str
    side: str
    result: LoadResult


@dataclass
class ThroughputResults:
    measurements: list[Measurement] = dataclasses.field(default_factory=list)
    # The statements of one benchmark batch on each side, when they could be counted.
    batch_statements: dict[str, Any] | None = None


def measure_throughput(
    postgres: PostgresServer, plan: ThroughputPlan, secret: str, work_dir: Path, log_dir: Path
) -> ThroughputResults:
    results = ThroughputResults()
    for workers in plan.workers:
        _measure_block(postgres, plan, workers, secret, work_dir, log_dir, results)
    return results


def checked_load(server: RunningServer, data_dir: Path, load: Load, label: str) -> LoadResult:
    """A load run whose every answer was the expected success; else the run fails here."""
    result = run_load(server.base_url, data_dir, load)
    failure = result.failure()
    exit_code = server.process.poll()
    if exit_code is not None:
        how = (
            f"killed by {signal.Signals(-exit_code).name}" if exit_code < 0 else f"exit {exit_code}"
        )
        failure = f"the server stopped during the run ({how}); what wrk saw: {failure}"
    if failure is not None:
        raise LoadError(f"{label} on {server.side}: {failure} (server log: {server.log_path})")
    return result


def _measure_block(
    postgres: PostgresServer,
    plan: ThroughputPlan,
    workers: int,
    secret: str,
    work_dir: Path,
    log_dir: Path,
    results: ThroughputResults,
) -> None:
    measurements = results.measurements
    with ExitStack() as stack:
        databases = {
            side: stack.enter_context(seeded_database(postgres, f"{side}_w{workers}", THROUGHPUT))
            for side in SIDES
        }
        ours, mirror = databases["ours"], databases["mirror"]
        if (ours.targets, ours.recurring) != (mirror.targets, mirror.recurring):
            raise RuntimeError("the two sides' databases were seeded differently")
        data_dir = work_dir / f"throughput-w{workers}"
        data_dir.mkdir()
        write_workload(data_dir, databases["ours"], secret)
        servers = {
            side: stack.enter_context(
                spawned_server(
                    side,
                    ServerConfig(database.url, secret, workers, plan.overrides),
                    log_dir / f"throughput-{side}-w{workers}.log",
                )
            )
            for side, database in databases.items()
        }
        for server in servers.values():
            wait_until_ready(server)
        first_page = write_deep_cursors(
            data_dir, servers["ours"].base_url, databases["ours"], secret
        )
        probes = check_parity(servers, data_dir)
        print(
            f"  {workers} worker(s): deep pages from page {first_page} of {BIG_USER}'s walk;"
            f" parity: the mirror answered {probes} probes as ours did",
            flush=True,
        )
        if results.batch_statements is None:
            results.batch_statements = count_batch_statements(servers, databases, data_dir)
        for server in servers.values():
            warmup = Load("mixed", plan.warmup_seconds, plan.connections, plan.threads)
            checked_load(server, data_dir, warmup, f"warm-up ({workers} workers)")
        fastest = dict.fromkeys(SIDES, 0.0)
        for round_number in range(1, plan.rounds + 1):
            sides = list(SIDES) if round_number % 2 else list(reversed(SIDES))
            for operation in OPERATIONS:
                for side in sides:
                    load = Load(
                        operation,
                        plan.duration_seconds,
                        plan.connections,
                        plan.threads,
                        nonce=f"{workers}.{round_number}",
                    )
                    if operation == "delete":
                        pool = data_dir / f"deletes-{side}-{round_number}.tsv"
                        load = _with_delete_pool(load, databases[side], fastest[side], pool)
                    label = f"{operation}, round {round_number}, {workers} workers"
                    result = checked_load(servers[side], data_dir, load, label)
                    fastest[side] = max(fastest[side], result.requests_per_second)
                    _print_progress(workers, round_number, plan.rounds, operation, side, result)
                    measurements.append(Measurement(workers, round_number, operation, side, result))


def count_batch_statements(
    servers: Mapping[str, RunningServer], databases: Mapping[str, SeededDatabase], data_dir: Path
) -> dict[str, Any]:
    """The statements one benchmark batch runs on each side (pg_stat_statements): sent twice to
    each, the second time counted. Equal on both sides, or the run fails: the mirror runs a
    batch statement for statement as the service does."""
    user, template = (data_dir / BATCHES).read_text().splitlines()[2].split("\t")
    tokens = dict(line.split("\t") for line in (data_dir / TOKENS).read_text().splitlines())
    usage: dict[str, Usage] = {}
    path = f"/api/{user}/tasks/batch"
    headers = {"Authorization": tokens[user], "Content-Type": "application/json"}
    for side, server in servers.items():
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
            send = functools.partial(_send_batch, client, path, template)
            send("warm-up")
            counted = measured(databases[side].url, functools.partial(send, "counted"))
        if counted is None:
            return {"counted": False}
        usage[side] = counted
    figures = {side: counted.per_request(1) for side, counted in usage.items()}
    print(
        "  statements per 20-operation batch (pg_stat_statements): "
        + ", ".join(f"{side} {counted.statements}" for side, counted in usage.items()),
        flush=True,
    )
    if usage["ours"].calls != usage["mirror"].calls:
        raise RuntimeError(f"a batch runs other statements on the two sides: {figures}")
    return {"counted": True, **figures}


def _with_delete_pool(
    load: Load, database: SeededDatabase, fastest_rate: float, path: Path
) -> Load:
    size = max(DELETE_POOL_FLOOR, round(fastest_rate * load.duration_seconds * DELETE_POOL_MARGIN))
    write_delete_pool(path, add_delete_pool(database, size))
    return dataclasses.replace(load, deletes=path)


def _print_progress(
    workers: int, round_number: int, rounds: int, operation: str, side: str, result: LoadResult
) -> None:
    print(
        f"  {workers} worker(s), round {round_number}/{rounds}, {operation:18} {side:7}"
        f"{result.requests_per_second:9.0f} req/s  p50 {result.p50_ms:7.2f} ms"
        f"  p99 {result.p99_ms:7.2f} ms",
        flush=True,
    )


def _send_batch(client: httpx.Client, path: str, template: str, sequence: str) -> None:
    response = client.post(path, content=template.replace(SEQUENCE, f"count.{sequence}"))
    if response.status_code != 200 or not response.json()["applied"]:
        raise RuntimeError(f"counting statements: {client.base_url} answered {response.text}")
