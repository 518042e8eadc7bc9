"""`python -m bench`: our service against a raw Starlette + asyncpg mirror of the same contract.

Prints figures, not verdicts. `throughput` drives both sides with wrk, operation by operation, in
interleaved rounds; `batch_latency`, `large_user`, `scale`, `query_scale` (the statement time
of every list query of three users, with 100,000 and with 10,000,000 other tasks around them),
`memory`, `startup`, `history` (what a task's versions take on disk) and `events` (2,000 open
event streams: their memory, how soon a write reaches them, what they cost the request path)
measure our service alone. `all`
(the default) runs them all; `--quick` runs a short throughput comparison at one worker, then
`batch_latency` and `large_user` with fewer requests (name parts to run only those). Any answer
other than the expected success, and any socket error, fails the run: a fast error is not a
result. The figures also go to reports/bench/ as JSON, with the machine and the command.
"""

import argparse
import secrets
import shlex
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.events import measure_events
from bench.extras import (
    measure_history_growth,
    measure_memory,
    measure_scale,
    measure_startup,
)
from bench.latency import PARTS as LATENCY_PARTS
from bench.latency import measure_latency
from bench.query_scale import TABLES as QUERY_SCALE_TABLES
from bench.query_scale import measure_query_scale
from bench.report import (
    REPORT_DIR,
    batch_latency_text,
    events_text,
    history_text,
    large_user_text,
    machine,
    memory_text,
    query_scale_text,
    scale_text,
    startup_text,
    statements_text,
    summarize_throughput,
    throughput_table,
    write_report,
)
from bench.throughput import ThroughputPlan, measure_throughput
from bench.wrk import LoadError, wrk_executable
from tests.support.postgres import postgres_server

PARTS = (
    "throughput",
    *LATENCY_PARTS,
    "scale",
    "query_scale",
    "memory",
    "startup",
    "history",
    "events",
)
QUICK_PARTS = ("throughput", *LATENCY_PARTS)
# The parts that drive a server with wrk; query_scale and history talk to PostgreSQL and the
# service directly.
WRK_PARTS = frozenset(PARTS) - {"query_scale", "history", "startup"}
LOG_DIR = REPORT_DIR / "logs"


def _worker_counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(part) for part in text.split(","))
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive worker counts")
    return counts


def _table_sizes(text: str) -> dict[str, int]:
    sizes = [int(part) for part in text.split(",")]
    if len(sizes) != 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError("two positive task counts, the baseline's and the large")
    return dict(zip(QUERY_SCALE_TABLES, sizes, strict=True))


def _part(text: str) -> str:
    if text not in ("all", *PARTS):
        raise argparse.ArgumentTypeError(f"not one of all, {', '.join(PARTS)}")
    return text


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.isupper():
        raise argparse.ArgumentTypeError("NAME=VALUE, with the variable's upper-case name")
    return name, value


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "part",
        nargs="*",
        type=_part,
        help=f"the parts to run: all (the default), {', '.join(PARTS)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="throughput at 1 worker, 2 rounds of 3 s, then batch_latency and large_user with"
        " fewer requests: about five minutes in all",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="throughput rounds (default 3, quick 2; 0: only the parity check and the count of"
        " a batch's statements)",
    )
    parser.add_argument(
        "--duration", type=float, help="seconds per operation, side and round (default 6, quick 3)"
    )
    parser.add_argument(
        "--workers",
        type=_worker_counts,
        help="worker counts for throughput, e.g. 1,2 (default 1,2, quick 1); "
        "scale, memory and startup use the first",
    )
    parser.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of ours for the throughput servers, e.g. ACCESS_LOG=false (repeatable): "
        "what a feature costs, against the same mirror in the same run",
    )
    parser.add_argument(
        "--query-scale-tables",
        type=_table_sizes,
        default=QUERY_SCALE_TABLES,
        metavar="BASELINE,LARGE",
        help="the other users' tasks around the measured users in query_scale (default"
        f" {','.join(str(size) for size in QUERY_SCALE_TABLES.values())})",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    return parser.parse_args(argv)


def _plan(args: argparse.Namespace) -> ThroughputPlan:
    return ThroughputPlan(
        rounds=(2 if args.quick else 3) if args.rounds is None else args.rounds,
        duration_seconds=args.duration or (3 if args.quick else 6),
        warmup_seconds=1 if args.quick else 2,
        connections=args.connections,
        threads=args.threads,
        workers=args.workers or ((1,) if args.quick else (1, 2)),
        overrides=tuple(args.set),
    )


def _run(
    parts: list[str],
    plan: ThroughputPlan,
    args: argparse.Namespace,
    report: dict[str, Any],
) -> None:
    secret = secrets.token_urlsafe(48)
    workers = plan.workers[0]
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    print(f"server logs: {LOG_DIR}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="taskapi-bench-data-") as work,
        postgres_server("BENCH_DATABASE_URL", "taskapi-bench-pg-") as postgres,
    ):
        work_dir = Path(work)
        if "throughput" in parts:
            print(
                f"throughput: {plan.rounds} rounds of {plan.duration_seconds:g} s per operation"
                f" and side, {plan.connections} connections, {plan.threads} wrk threads",
                flush=True,
            )
            results = measure_throughput(postgres, plan, secret, work_dir, LOG_DIR)
            report["throughput"] = summarize_throughput(results.measurements)
            report["batch_statements"] = results.batch_statements
            if plan.rounds:
                print(
                    "\nThroughput (medians over the rounds)\n"
                    + throughput_table(report["throughput"])
                )
            print(statements_text(results.batch_statements))
        latency_parts = [part for part in parts if part in LATENCY_PARTS]
        if latency_parts:
            print("\nlatency (1 worker, one request at a time)", flush=True)
            latency = measure_latency(
                postgres, latency_parts, args.quick, secret, work_dir, LOG_DIR
            )
            report.update(latency)
            if "batch_latency" in latency:
                print("\nBatch latency\n" + batch_latency_text(latency["batch_latency"]))
            if "large_user" in latency:
                print("\nLarge user\n" + large_user_text(latency["large_user"]))
        if "scale" in parts:
            print(f"\nscale ({workers} worker(s))", flush=True)
            report["scale"] = measure_scale(postgres, workers, secret, work_dir, LOG_DIR)
            print(scale_text(report["scale"]))
        if "query_scale" in parts:
            tables = args.query_scale_tables
            print(
                "\nquery scale (statement time of each list query, the same users in tables of"
                f" {' and '.join(f'{size:,}' for size in tables.values())} other tasks)",
                flush=True,
            )
            report["query_scale"] = measure_query_scale(postgres, tables)
            print(query_scale_text(report["query_scale"]))
        if "memory" in parts:
            print(f"\nmemory ({workers} worker(s), mixed list/get/create/toggle)", flush=True)
            report["memory"] = measure_memory(postgres, workers, secret, work_dir, LOG_DIR)
            print(memory_text(report["memory"]))
        if "startup" in parts:
            print(f"\nstart-up ({workers} worker(s), spawn to first ready 200)", flush=True)
            report["startup"] = measure_startup(postgres, workers, secret, LOG_DIR)
            print(startup_text(report["startup"]))
        if "history" in parts:
            print("\nhistory (1,000 edits of one task through the service)", flush=True)
            report["history"] = measure_history_growth(postgres, secret, LOG_DIR)
            print(history_text(report["history"]))
        if "events" in parts:
            print("\nevents (2,000 open event streams)", flush=True)
            report["events"] = measure_events(postgres, plan, secret, work_dir, LOG_DIR)
            print(events_text(report["events"]))


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    plan = _plan(args)
    if args.part and "all" not in args.part:
        parts = [part for part in PARTS if part in args.part]
    elif args.quick:
        parts = list(QUICK_PARTS)
    else:
        parts = list(PARTS)
    started = time.monotonic()
    report: dict[str, Any] = {
        "command": shlex.join([sys.executable, "-m", "bench", *sys.argv[1:]]),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "plan": asdict(plan),
    }
    try:
        if WRK_PARTS.intersection(parts):
            wrk_executable()
        _run(parts, plan, args, report)
    except (LoadError, RuntimeError) as error:
        print(f"\nbench failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbench interrupted; every server it started is stopped", file=sys.stderr)
        return 130
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    print(f"\nreport: {write_report(report)} ({report['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
