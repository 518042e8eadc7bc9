"""`python -m bench.soak`: a bounded, mixed load on the real service for a while; errors fail it.

Starts PostgreSQL (BENCH_DATABASE_URL when set, else an embedded one), seeds `--users` users with
50 to 200 tasks each (bench/database.py) and serves them as production does (`python -m impl
serve`, `--workers` processes). Then `--clients` virtual clients, each owning a share of the
users, draw a seeded mix of every operation (bench/soak/scenarios.py) over loopback HTTP, one
scenario at a time each, for `--duration` seconds, while each worker's RSS is sampled.

Prints, per operation, the count, errors, p50/p95/p99 latency and rate, and per worker the RSS at
the start, middle and end and its slope over the second half. Fails (exit 1) on any error (an
unexpected status, any 5xx, a transport error, an answer that contradicts what the client knows),
a worker that exits, an ERROR in the service's log, and, in a run of `--rss-rule-after` seconds or
more, a worker whose RSS grew faster than `--max-rss-slope` MiB/min over the second half.
"""

import argparse
import asyncio
import math
import random
import resource
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvloop

from bench.database import DataSet, seeded_database
from bench.report import machine
from bench.servers import ServerConfig, running_server
from bench.soak.memory import MemorySampler, WorkerMemory, memory_table
from bench.soak.recorder import Recorder, Session
from bench.soak.scenarios import Client, User, resync, run_client
from tests.support.postgres import postgres_server
from tests.support.server import ROOT, worker_processes
from tests.support.tokens import token_for

SOAK_DIR = ROOT / "reports" / "soak"
DEFAULT_SEED = 20261201
REQUEST_TIMEOUT_SECONDS = 30
WORKERS_TIMEOUT_SECONDS = 30
# How the service's log marks a failure on its side, in its text and its JSON format.
LOG_FAILURE_MARKS = (" ERROR ", " CRITICAL ", '"level":"ERROR"', '"level":"CRITICAL"', "Traceback")
# uvicorn closes a connection after 5 s idle (its timeout_keep_alive); a client that sends on it
# as it closes gets a reset, before the service has seen the request. Dropping idle connections
# sooner on the client's side, as HTTP clients should, keeps that race out of the figures.
IDLE_CONNECTION_SECONDS = 2
SHOWN_LOG_LINES = 5


@dataclass(frozen=True)
class Outcome:
    first_sync: Recorder
    load: Recorder
    seconds: float
    client_cpu_seconds: float
    workers: list[WorkerMemory]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (600)")
    parser.add_argument("--clients", type=int, default=16, help="virtual clients (16)")
    parser.add_argument("--users", type=int, default=200, help="users, shared among them (200)")
    parser.add_argument("--workers", type=int, default=2, help="API_WORKERS of the service (2)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--sample-every", type=float, default=1, help="RSS sampling, seconds (1)")
    parser.add_argument(
        "--max-rss-slope",
        type=float,
        default=1.0,
        help="MiB/min a worker's RSS may grow by over the second half (1.0)",
    )
    parser.add_argument(
        "--rss-rule-after",
        type=float,
        default=300,
        help="the RSS rule applies to runs this many seconds long or longer (300)",
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.users < 2 * args.clients or args.workers < 1:
        parser.error("needs at least one client and worker, and two users per client")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    secret = secrets.token_urlsafe(48)
    SOAK_DIR.mkdir(parents=True, exist_ok=True)
    log_path = SOAK_DIR / "service.log"
    log_path.unlink(missing_ok=True)
    host = machine()
    data = DataSet(args.users, list_users=0)
    print(
        f"soak: {args.duration:g} s, {args.clients} clients, {args.users} users,"
        f" {args.workers} workers, seed {args.seed}; {host['nproc']} CPUs ({host['cpu']})\n"
        f"service log: {log_path}",
        flush=True,
    )
    try:
        with (
            postgres_server("BENCH_DATABASE_URL", "taskapi-soak-pg-") as postgres,
            seeded_database(postgres, "soak", data) as database,
            running_server(
                "ours", ServerConfig(database.url, secret, args.workers), log_path
            ) as server,
        ):
            pids = _worker_pids(server.process.pid, args.workers)
            outcome = uvloop.run(_soak(server.base_url, pids, data, args, secret))
            exit_code = server.process.poll()
            log_failures = _log_failures(log_path)
    except RuntimeError as error:
        print(f"soak failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("soak interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    return _report(outcome, args, exit_code, log_failures)


async def _soak(
    base_url: str, pids: list[int], data: DataSet, args: argparse.Namespace, secret: str
) -> Outcome:
    lifetime = int(args.duration) + 3600
    users = [
        User(user_id, token_for(user_id, secret=secret, expires_in=lifetime))
        for user_id in map(data.user_id, range(1, data.users + 1))
    ]
    limits = httpx.Limits(
        max_connections=2 * args.clients, keepalive_expiry=IDLE_CONNECTION_SECONDS
    )
    async with httpx.AsyncClient(
        base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits
    ) as http:
        first_sync = Recorder()
        clients = [
            Client(
                number,
                Session(http, first_sync),
                users[number :: args.clients],
                users,
                random.Random(f"{args.seed}-{number}"),  # noqa: S311 (a repeatable mix)
            )
            for number in range(args.clients)
        ]

        async def sync_users(client: Client) -> None:
            for user in client.users:
                user.stale = not await resync(client, user)

        await asyncio.gather(*(sync_users(client) for client in clients))
        load = Recorder()
        for client in clients:
            client.session = Session(http, load)
        sampler = MemorySampler(pids, args.sample_every)
        sampler.start()
        started, cpu = time.monotonic(), _cpu_seconds()
        until = started + args.duration
        await asyncio.gather(sampler.run(until), *(run_client(c, until) for c in clients))
        seconds, cpu = time.monotonic() - started, _cpu_seconds() - cpu
        sampler.sample()
    return Outcome(first_sync, load, seconds, cpu, sampler.workers)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker_pids(supervisor: int, workers: int) -> list[int]:
    """The uvicorn workers (or the server itself, with one worker, if it serves in-process)."""
    deadline = time.monotonic() + WORKERS_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        pids = worker_processes(supervisor)
        if len(pids) == workers:
            return sorted(pids)
        if workers == 1 and not pids:
            return [supervisor]
        time.sleep(0.1)
    raise RuntimeError(f"expected {workers} worker processes, found {worker_processes(supervisor)}")


def _log_failures(log_path: Path) -> list[str]:
    with log_path.open(errors="replace") as log:
        return [line.rstrip() for line in log if any(mark in line for mark in LOG_FAILURE_MARKS)]


def _report(
    outcome: Outcome, args: argparse.Namespace, exit_code: int | None, log_failures: list[str]
) -> int:
    sync_count = sum(len(values) for values in outcome.first_sync.latencies_ms.values())
    print(
        f"\nfirst sync of {args.users} users (not timed): {sync_count} requests,"
        f" {outcome.first_sync.error_count} errors"
    )
    print(
        f"\nLoad: {outcome.seconds:.1f} s; the clients used {outcome.client_cpu_seconds:.0f} CPU s"
        f" ({outcome.client_cpu_seconds / outcome.seconds:.2f} of a core)\n"
        + operations_table(outcome.load, outcome.seconds)
    )
    print("\nWorker RSS (start: after the first sync, before the load)")
    print(memory_table(outcome.workers))
    problems = []
    errors = outcome.first_sync.error_count + outcome.load.error_count
    if errors:
        problems.append(f"{errors} errors")
        for failure in outcome.first_sync.failures + outcome.load.failures:
            print(f"  [{failure.label}] {failure.request}\n      -> {failure.answer}")
    problems += [
        f"worker {w.pid} exited after {w.exited_at:.0f} s"
        for w in outcome.workers
        if w.exited_at is not None
    ]
    if exit_code is not None:
        problems.append(f"the service exited with {exit_code}")
    if log_failures:
        problems.append(f"{len(log_failures)} ERROR lines in the service log")
        print("\n".join(f"  log: {line}" for line in log_failures[:SHOWN_LOG_LINES]))
    steepest = max(worker.slope_mib_per_minute for worker in outcome.workers)
    if outcome.seconds >= args.rss_rule_after:
        rule = f"RSS rule: second-half slope at most {args.max_rss_slope:g} MiB/min"
        if steepest > args.max_rss_slope:
            problems.append(f"RSS grew {steepest:+.2f} MiB/min over the second half")
        print(f"{rule}: steepest {steepest:+.2f} MiB/min")
    else:
        print(
            f"RSS rule: not applied to a run under {args.rss_rule_after:g} s"
            f" (steepest second-half slope {steepest:+.2f} MiB/min, printed only)"
        )
    print(f"\nsoak {'failed: ' + '; '.join(problems) if problems else 'passed'}")
    return 1 if problems else 0


def operations_table(recorder: Recorder, seconds: float) -> str:
    header = (
        f"{'operation':34} {'expect':>7} {'count':>8} {'errors':>6}"
        f" {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8}"
    )
    lines = [header, "-" * len(header)]
    every: list[float] = []
    for label in sorted(recorder.latencies_ms):
        latencies = sorted(recorder.latencies_ms[label])
        every.extend(latencies)
        lines.append(
            _row(label, recorder.expected[label], latencies, recorder.errors[label], seconds)
        )
    lines.append("-" * len(header))
    lines.append(_row("all", "", sorted(every), recorder.error_count, seconds))
    return "\n".join(lines)


def _row(label: str, expected: str, latencies: list[float], errors: int, seconds: float) -> str:
    return (
        f"{label:34} {expected:>7} {len(latencies):>8} {errors:>6}"
        + "".join(f" {_percentile(latencies, p):>8.2f}" for p in (50, 95, 99))
        + f" {len(latencies) / seconds:>8.1f}"
    )


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest rank: the smallest value that `percent` % of the values are at or under."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


if __name__ == "__main__":
    sys.exit(main())
