"""Our service alone, one worker, one request at a time on an otherwise idle server.

Two figures, on one database (the small data set, and `user_large`: 10,000 tasks in 200 lists of
50, in three levels: top-level tasks, their subtasks, and theirs):

- batch latency: what a batch of 100 operations costs against one request of the same kinds
  (`PATCH .../complete` with a body, `POST .../move`), ratio of the medians: 50 completions
  and 50 moves, and (unless quick) 100 completions, and 100 moves;
- large user: a list's first page in the user's order, and a move within a list, for
  `user_large` against users of the small data set, ratio of the medians.

Requests go one after another over one connection (wrk, one thread, one connection), each
series after a warm-up of its own on other rows. Every request writes: completions come in
pairs that set and then restore a task's state, moves in pairs that undo each other's place
(impl/positions.py's keys lengthen as they would), and a batch leaves its tasks as it found
them. With pg_stat_statements loaded (bench/statements.py), each series also gets its
statements per request and PostgreSQL's execution time per request.
"""

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.database import (
    LARGE_USER,
    WITH_LARGE_USER,
    OrderedTask,
    SeededDatabase,
    ordered_tasks,
    seeded_database,
)
from bench.servers import RunningServer, ServerConfig, running_server
from bench.statements import measured
from bench.throughput import checked_load
from bench.workload import batch_body, batch_operations, write_rows, write_workload
from bench.wrk import Load, LoadResult
from tests.support.postgres import PostgresServer

PARTS = ("batch_latency", "large_user")
# Requests per measured series: singles and the large user's (cheap), and batches.
REQUESTS = {"full": (1_000, 300), "quick": (300, 200)}
WARMUP_REQUESTS = (50, 10)
# A series ends when its requests are answered; this only bounds a stuck one.
TIME_LIMIT_SECONDS = 900
BATCH_SIZE = 100
MIXED = "batch: 50 completions + 50 moves"
COMPLETIONS = "batch: 100 completions"
MOVES = "batch: 100 moves"
# Users of each measured series of batches (a batch each), and of single operations.
BATCH_USERS = 50
SINGLE_USERS = 100


@dataclass(frozen=True)
class Series:
    """One measured series: an operation of driver.lua on rows of its own."""

    label: str
    operation: str
    rows: Path
    warmup_rows: Path
    batch: bool = False


def measure_latency(
    postgres: PostgresServer,
    parts: Sequence[str],
    quick: bool,
    secret: str,
    work_dir: Path,
    log_dir: Path,
) -> dict[str, Any]:
    """The figures of `parts` (of PARTS), from one database and one server."""
    singles, batches = REQUESTS["quick" if quick else "full"]
    report: dict[str, Any] = {}
    print("  latency: seeding the small data set and user_large", flush=True)
    with seeded_database(postgres, "latency", WITH_LARGE_USER) as database:
        data_dir = work_dir / "latency"
        data_dir.mkdir()
        write_workload(data_dir, database, secret)
        series: dict[str, list[Series]] = {}
        if "batch_latency" in parts:
            series["batch_latency"] = _batch_series(data_dir, database, quick)
        if "large_user" in parts:
            series["large_user"] = _large_user_series(data_dir, database)
        config = ServerConfig(database.url, secret, 1)
        with running_server("ours", config, log_dir / "latency.log") as server:
            for each in itertools.chain(*series.values()):
                requests = WARMUP_REQUESTS[1] if each.batch else WARMUP_REQUESTS[0]
                _run(server, data_dir, each, each.warmup_rows, requests)
            for part, members in series.items():
                figures = {}
                for each in members:
                    requests = batches if each.batch else singles
                    figures[each.label] = _measure(server, data_dir, database, each, requests)
                report[part] = _summary(part, figures)
    return report


def _measure(
    server: RunningServer, data_dir: Path, database: SeededDatabase, series: Series, requests: int
) -> dict[str, Any]:
    results: list[LoadResult] = []
    usage = measured(
        database.url,
        lambda: results.append(_run(server, data_dir, series, series.rows, requests)),
    )
    result = results[0]
    figures: dict[str, Any] = {
        "requests": result.requests,
        "p50_ms": round(result.p50_ms, 3),
        "p90_ms": round(result.p90_ms, 3),
        "p99_ms": round(result.p99_ms, 3),
    }
    if usage is not None:
        figures["database"] = usage.per_request(result.requests)
    print(
        f"  latency: {series.label:32} {result.requests:5} requests"
        f"  p50 {result.p50_ms:8.2f} ms  p90 {result.p90_ms:8.2f} ms",
        flush=True,
    )
    return figures


def _run(
    server: RunningServer, data_dir: Path, series: Series, rows: Path, requests: int
) -> LoadResult:
    load = Load(
        series.operation,
        TIME_LIMIT_SECONDS,
        connections=1,
        threads=1,
        timeout_seconds=60,
        quota_per_thread=requests,
        rows=rows,
    )
    return checked_load(server, data_dir, load, f"latency, {series.label}")


def _summary(part: str, figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def ratio(numerator: str, denominator: str) -> dict[str, float | None]:
        return {
            key: _ratio(figures[numerator][key], figures[denominator][key])
            for key in ("p50_ms", "p90_ms")
        }

    if part == "batch_latency":
        comparisons = {
            "50 completions + 50 moves ÷ 1 completion": ratio(MIXED, "completion"),
            "50 completions + 50 moves ÷ 1 move": ratio(MIXED, "move"),
        }
        if COMPLETIONS in figures:
            comparisons["100 completions ÷ 1 completion"] = ratio(COMPLETIONS, "completion")
            comparisons["100 moves ÷ 1 move"] = ratio(MOVES, "move")
        return {"series": figures, "batch_over_single": comparisons, "target": 10}
    comparisons = {
        "manual order, first page": ratio("user_large: list, manual order", "small: list"),
        "move within a list": ratio("user_large: move within a list", "small: move"),
    }
    return {"series": figures, "large_over_small": comparisons, "target": 1.5}


def _batch_series(data_dir: Path, database: SeededDatabase, quick: bool) -> list[Series]:
    """Singles and batches of the same operations, each series on users of its own: a batch
    of both kinds, and (unless `quick`) a batch of each kind alone."""
    writers = database.data.other_users()
    tasks = ordered_tasks(database, writers)
    roomy = iter([user for user in writers if len(tasks[user]) >= BATCH_SIZE])
    others = iter([user for user in writers if len(tasks[user]) < BATCH_SIZE])

    def users(pool: Iterator[str], count: int) -> list[str]:
        taken = list(itertools.islice(pool, count))
        if len(taken) < count:
            raise RuntimeError(f"latency: {count} users needed, {len(taken)} left")
        return taken

    def single(label: str, operation: str, rows: Any) -> Series:
        files = []
        for name, count in (("warmup", 10), ("measured", SINGLE_USERS)):
            path = data_dir / f"{operation}-{name}.tsv"
            write_rows(path, [row for user in users(others, count) for row in rows(user)])
            files.append(path)
        return Series(label, operation, files[1], files[0])

    def completions(user: str) -> list[tuple[str, int, str]]:
        return [
            (user, task.id, _json(completed))
            for task in tasks[user][:2]
            for completed in (not task.completed, task.completed)
        ]

    def moves(user: str) -> list[tuple[str, int, int]]:
        first, second, third, fourth = tasks[user][:4]
        return _move_pairs(user, [(first, second), (third, fourth)])

    def batch(label: str, name: str, **counts: int) -> Series:
        files = []
        for part, count in (("warmup", 5), ("measured", BATCH_USERS)):
            path = data_dir / f"batch-{name}-{part}.tsv"
            write_rows(
                path,
                [
                    (user, batch_body(batch_operations(tasks[user], **counts)))
                    for user in users(roomy, count)
                ],
            )
            files.append(path)
        return Series(label, "batch", files[1], files[0], batch=True)

    series = [
        single("completion", "complete", completions),
        single("move", "move", moves),
        batch(MIXED, "mixed", completions=BATCH_SIZE // 4, move_pairs=BATCH_SIZE // 4),
    ]
    if not quick:
        series += [
            batch(COMPLETIONS, "completions", completions=BATCH_SIZE // 2),
            batch(MOVES, "moves", move_pairs=BATCH_SIZE // 2),
        ]
    return series


def _large_user_series(data_dir: Path, database: SeededDatabase) -> list[Series]:
    """A list's first page in the user's order, and a move within a list (its first two
    top-level tasks, in pairs), over `user_large`'s lists and over the listed users' Inboxes."""
    listed = database.data.listed_users()
    tasks = ordered_tasks(database, [*listed, LARGE_USER])
    by_list: dict[int, list[OrderedTask]] = {}
    for task in tasks[LARGE_USER]:
        by_list.setdefault(task.list_id, []).append(task)
    rows: dict[str, list[tuple[Any, ...]]] = {
        "large-manual": [(LARGE_USER, list_id) for list_id in by_list],
        "small-manual": list(database.lists),
        "large-move": [
            row
            for first, second, *_ in by_list.values()
            for row in _move_pairs(LARGE_USER, [(first, second)])
        ],
        "small-move": [
            row for user in listed for row in _move_pairs(user, [tuple(tasks[user][:2])])
        ],
    }
    paths = {}
    for name, content in rows.items():
        paths[name] = data_dir / f"{name}.tsv"
        write_rows(paths[name], content)
    return [
        Series("small: list", "manual", paths["small-manual"], paths["small-manual"]),
        Series(
            "user_large: list, manual order", "manual", paths["large-manual"], paths["large-manual"]
        ),
        Series("small: move", "move", paths["small-move"], paths["small-move"]),
        Series("user_large: move within a list", "move", paths["large-move"], paths["large-move"]),
    ]


def _move_pairs(user: str, pairs: Sequence[Sequence[OrderedTask]]) -> list[tuple[str, int, int]]:
    """Rows of `move`: the first of each pair right after the second, then the second right
    after the first (which puts them back)."""
    return [
        row
        for first, second in pairs
        for row in ((user, first.id, second.id), (user, second.id, first.id))
    ]


def _json(value: bool) -> str:
    return "true" if value else "false"


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 2) if denominator else None
