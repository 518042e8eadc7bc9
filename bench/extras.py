"""Measurements of our service alone: behaviour at scale, memory under load, start-up time, and
what keeping a task's history takes on disk."""

import statistics
from pathlib import Path
from typing import Any

import httpx

from bench.database import LARGE, SMALL, seeded_database
from bench.servers import ServerConfig, running_server, spawned_server, wait_until_ready
from bench.throughput import checked_load
from bench.workload import write_deep_cursors, write_workload
from bench.wrk import Load
from tests.support.postgres import PostgresServer, fetch
from tests.support.tokens import token_for

SCALE_SECONDS = 5
MEMORY_CHECKPOINTS = (10_000, 100_000)
MEMORY_THREADS = 2
# The memory runs end when their quota of requests is answered; this only bounds a stuck run.
MEMORY_TIME_LIMIT_SECONDS = 600
STARTUP_RUNS = 5


def measure_scale(
    postgres: PostgresServer, workers: int, secret: str, work_dir: Path, log_dir: Path
) -> dict[str, Any]:
    """list (of 50) and get on ~135k rows and on 1M rows, and pages of a user with 100k."""
    figures: dict[str, dict[str, Any]] = {}
    for name, data in (("small", SMALL), ("large", LARGE)):
        print(f"  scale: seeding the {name} data set", flush=True)
        with seeded_database(postgres, f"scale_{name}", data) as database:
            data_dir = work_dir / f"scale-{name}"
            data_dir.mkdir()
            write_workload(data_dir, database, secret)
            config = ServerConfig(database.url, secret, workers)
            with running_server("ours", config, log_dir / f"scale-{name}.log") as server:
                checked_load(server, data_dir, Load("get", 1), f"scale warm-up ({name})")
                figures[name] = {
                    operation: checked_load(
                        server, data_dir, Load(operation, SCALE_SECONDS), f"scale {name}"
                    ).figures()
                    for operation in ("list", "get")
                }
                if data.big_user_tasks:
                    # The user holding 100,000 tasks: page 1, and pages from the second half of
                    # the walk (by cursor), 50 tasks each.
                    write_deep_cursors(data_dir, server.base_url, database, secret)
                    for operation, label in (("list_big", "list_100k"), ("deep_page", "deep_100k")):
                        load = Load(operation, SCALE_SECONDS)
                        result = checked_load(server, data_dir, load, f"scale {name}")
                        figures[name][label] = result.figures()
    ratios = {
        operation: {
            key: _ratio(figures["large"][operation][key], figures["small"][operation][key])
            for key in ("requests_per_second", "p50_ms", "p99_ms")
        }
        for operation in ("list", "get")
    }
    return {
        "rows": {"small": "about 135,000", "large": "1,000,000 (one user with 100,000)"},
        **figures,
        "large_over_small": ratios,
    }


def measure_memory(
    postgres: PostgresServer, workers: int, secret: str, work_dir: Path, log_dir: Path
) -> dict[str, Any]:
    """RSS of each worker before load, after 10k and after 100k requests of a mixed load."""
    with seeded_database(postgres, "memory", SMALL) as database:
        data_dir = work_dir / "memory"
        data_dir.mkdir()
        write_workload(data_dir, database, secret)
        config = ServerConfig(database.url, secret, workers)
        with running_server("ours", config, log_dir / "memory.log") as server:
            pids = server.serving_pids()
            rss: dict[str, list[int]] = {"idle": [rss_kib(pid) for pid in pids]}
            sent = 0
            for checkpoint in MEMORY_CHECKPOINTS:
                load = Load(
                    "mixed",
                    duration_seconds=MEMORY_TIME_LIMIT_SECONDS,
                    threads=MEMORY_THREADS,
                    quota_per_thread=(checkpoint - sent) // MEMORY_THREADS,
                )
                result = checked_load(server, data_dir, load, f"memory, up to {checkpoint}")
                sent += result.requests
                rss[f"after_{checkpoint}"] = [rss_kib(pid) for pid in pids]
                print(
                    f"  memory: {sent} requests, RSS {rss[f'after_{checkpoint}']} KiB", flush=True
                )
    first, last = (f"after_{checkpoint}" for checkpoint in MEMORY_CHECKPOINTS)
    growth = [
        round(100 * (after - before) / before, 1)
        for before, after in zip(rss[first], rss[last], strict=True)
    ]
    return {"workers": len(pids), "requests": sent, "rss_kib": rss, "growth_percent": growth}


def measure_startup(
    postgres: PostgresServer, workers: int, secret: str, log_dir: Path
) -> dict[str, Any]:
    """From spawning `serve` (database up and migrated) to the first 200 from /health/ready."""
    with seeded_database(postgres, "startup", SMALL) as database:
        config = ServerConfig(database.url, secret, workers)
        runs_ms = []
        for _ in range(STARTUP_RUNS):
            with spawned_server("ours", config, log_dir / "startup.log") as server:
                runs_ms.append(round(1000 * wait_until_ready(server, poll_seconds=0.005), 1))
    return {"runs_ms": runs_ms, "median_ms": statistics.median(runs_ms)}


def rss_kib(pid: int) -> int:
    for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _ratio(large: float, small: float) -> float | None:
    return round(large / small, 2) if small else None


def measure_history_growth(postgres: PostgresServer, secret: str, log_dir: Path) -> dict[str, Any]:
    """What keeping history costs on disk: `task_history` (rows, table, indexes) after 1,000
    edits of one task through the service, and what the task itself takes, for scale."""
    with postgres.fresh_database("bench_history") as url:
        config = ServerConfig(url, secret, 1)
        user = "user_history"
        headers = {"Authorization": f"Bearer {token_for(user, secret=secret)}"}
        with (
            running_server("ours", config, log_dir / "history.log") as server,
            httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client,
        ):
            created = client.post(f"/api/{user}/tasks", json=HISTORY_TASK)
            if created.status_code != 201:
                raise RuntimeError(f"history: create answered {created.status_code}")
            task_path = f"/api/{user}/tasks/{created.json()['id']}"
            before = _history_size(url)
            for edit in range(HISTORY_EDITS):
                title = f"{HISTORY_TASK['title']} ({edit + 1})"
                answer = client.patch(
                    task_path,
                    json={"title": title},
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                if answer.status_code != 200:
                    raise RuntimeError(f"history: edit answered {answer.status_code}")
            after = _history_size(url)
    grown = {name: after[name] - before[name] for name in after}
    return {
        "edits": HISTORY_EDITS,
        "task": HISTORY_TASK,
        "grown_bytes": grown,
        "bytes_per_edit": round(grown["total_bytes"] / HISTORY_EDITS),
    }


# A task with every field in use, as a demanding user keeps one.
HISTORY_TASK: dict[str, Any] = {
    "title": "Renew the passport before the summer trip",
    "description": "Photos from the shop on the corner; the form is in the drawer. " * 3,
    "priority": "high",
    "tags": ["admin", "travel", "errand"],
    "due": {"date": "2027-03-01", "time": "09:00", "time_zone": "Europe/Berlin"},
    "reminders": [{"minutes_before": 60}, {"minutes_before": 1440}],
}
HISTORY_EDITS = 1000
HISTORY_SIZE = """
    SELECT count(*) AS rows,
           pg_table_size('task_history') AS table_bytes,
           pg_indexes_size('task_history') AS index_bytes,
           pg_total_relation_size('task_history') AS total_bytes
    FROM task_history
"""


def _history_size(url: str) -> dict[str, int]:
    [row] = fetch(url, HISTORY_SIZE)
    return {name: int(value) for name, value in row.items()}
