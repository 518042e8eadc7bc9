"""Run wrk with bench/wrk/driver.lua and read back what it counted."""

import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DRIVER = Path(__file__).with_name("wrk") / "driver.lua"
RESULT_PREFIX = "RESULT "
QUOTA_REACHED = "QUOTA_REACHED"


class LoadError(RuntimeError):
    """A load run that measured failures instead of work: its figures mean nothing."""


@dataclass(frozen=True)
class Load:
    """What to send: an operation of driver.lua, for how long, over how many connections."""

    operation: str
    duration_seconds: float
    connections: int = 32
    threads: int = 2
    timeout_seconds: float = 10
    deletes: Path | None = None
    quota_per_thread: int = 0
    nonce: str = "0"
    # Another file of rows for the operation than its own in the data directory.
    rows: Path | None = None


@dataclass(frozen=True)
class LoadResult:
    requests: int
    duration_seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: dict[str, int]
    http_errors: int
    unexpected_statuses: dict[int, int]
    exhausted: bool

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration_seconds if self.duration_seconds else 0.0

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + sum(self.unexpected_statuses.values())

    def figures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "requests_per_second": round(self.requests_per_second, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p90_ms": round(self.p90_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "errors": self.errors,
        }

    def failure(self) -> str | None:
        """Why these figures cannot be used, or None."""
        if self.exhausted:
            return "the delete pool ran out (a repeated DELETE would be a 404): make it larger"
        problems = [
            f"{count} answers HTTP {status}" for status, count in self.unexpected_statuses.items()
        ]
        problems += [
            f"{count} socket {kind} errors" for kind, count in self.socket_errors.items() if count
        ]
        if self.http_errors > sum(self.unexpected_statuses.values()):
            problems.append(f"wrk counted {self.http_errors} answers of 400 or more")
        if not self.requests:
            problems.append("no request completed")
        return ", ".join(problems) or None


def wrk_executable() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise LoadError("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    return found


def run_load(base_url: str, data_dir: Path, load: Load) -> LoadResult:
    """One wrk run; with a quota, it ends as soon as every thread has had its answers."""
    options = [
        f"op={load.operation}",
        f"data={data_dir}",
        f"threads={load.threads}",
        f"nonce={load.nonce}",
    ]
    if load.quota_per_thread:
        options.append(f"quota={load.quota_per_thread}")
    if load.deletes is not None:
        options.append(f"deletes={load.deletes}")
    if load.rows is not None:
        options.append(f"rows={load.rows}")
    command = [
        wrk_executable(),
        f"--threads={load.threads}",
        f"--connections={load.connections}",
        f"--duration={max(1, round(load.duration_seconds))}s",
        f"--timeout={max(1, round(load.timeout_seconds))}s",
        f"--script={DRIVER}",
        base_url,
        "--",
        *options,
    ]
    process = subprocess.Popen(  # noqa: S603 (our own wrk command line)
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    try:
        lines = []
        threads_done = 0
        for line in process.stdout:
            lines.append(line)
            if line.strip() == QUOTA_REACHED:
                threads_done += 1
                if threads_done == load.threads:
                    # wrk sleeps for the whole duration; SIGINT is how it ends early and reports.
                    os.kill(process.pid, signal.SIGINT)
        stderr = process.stderr.read() if process.stderr else ""
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return _parse(lines, stderr, process.returncode)


def _parse(lines: list[str], stderr: str, exit_code: int) -> LoadResult:
    found = [line[len(RESULT_PREFIX) :] for line in lines if line.startswith(RESULT_PREFIX)]
    if exit_code != 0 or not found:
        raise LoadError(f"wrk exited with {exit_code} and no result: {stderr.strip() or lines}")
    figures: dict[str, Any] = json.loads(found[-1])
    return LoadResult(
        requests=figures["requests"],
        duration_seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        socket_errors=figures["socket_errors"],
        http_errors=figures["http_errors"],
        unexpected_statuses={int(s): n for s, n in figures["unexpected_statuses"].items()},
        exhausted=figures["exhausted"],
    )
