"""Start our service and the mirror as production would, and stop every process we started."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from impl.settings import Settings
from tests.support.server import ROOT, free_port, service_environment, worker_processes

READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class ServerConfig:
    """What both sides are given: the same database settings, secret and worker count."""

    database_url: str
    secret: str
    workers: int
    # Settings of ours that differ from production's defaults (`python -m bench --set`).
    overrides: tuple[tuple[str, str], ...] = ()

    def environment(self, port: int) -> dict[str, str]:
        """Our service's settings; the mirror reads the ones it needs under the same names."""
        return service_environment(
            {
                "DATABASE_URL": self.database_url,
                "BETTER_AUTH_SECRET": self.secret,
                "API_HOST": "127.0.0.1",
                "API_PORT": str(port),
                "API_WORKERS": str(self.workers),
                # Production's defaults: an access line per request, metrics on.
                "LOG_LEVEL": "INFO",
                "MIGRATE_ON_STARTUP": "true",
                "DB_POOL_SIZE": str(Settings.model_fields["db_pool_size"].default),
                "PYTHONPATH": str(ROOT),
                **dict(self.overrides),
            }
        )


def ours_command(port: int, workers: int) -> list[str]:
    """Exactly how production starts the service; it reads its port and workers from the env."""
    return [sys.executable, "-m", "impl", "serve"]


def mirror_command(port: int, workers: int) -> list[str]:
    """uvicorn with the server options our service uses: uvloop, httptools, no access log."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.mirror:create_app",
        "--factory",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--workers={workers}",
        "--loop=uvloop",
        "--http=httptools",
        "--no-access-log",
        "--no-server-header",
        "--log-level=warning",
    ]


SIDES = {"ours": ours_command, "mirror": mirror_command}


@dataclass(frozen=True)
class RunningServer:
    side: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    spawned_at: float

    def serving_pids(self) -> list[int]:
        """The worker processes, or the server itself when it serves in its own process."""
        return worker_processes(self.process.pid) or [self.process.pid]


@contextmanager
def spawned_server(side: str, config: ServerConfig, log_path: Path) -> Iterator[RunningServer]:
    """The side's server process, started now and not yet ready; stopped after the block."""
    port = free_port()
    command = SIDES[side](port, config.workers)
    with ExitStack() as stack:
        # An empty working directory, so no developer's .env is read.
        workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="taskapi-bench-"))
        log = stack.enter_context(log_path.open("ab"))
        spawned_at = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            command,
            cwd=workdir,
            env=config.environment(port),
            stdout=log,
            stderr=log,
            # Its own process group, so that its workers can be stopped with it.
            start_new_session=True,
        )
        try:
            yield RunningServer(side, f"http://127.0.0.1:{port}", process, log_path, spawned_at)
        finally:
            _stop(process)


@contextmanager
def running_server(side: str, config: ServerConfig, log_path: Path) -> Iterator[RunningServer]:
    """The side's server, once /health/ready answers 200."""
    with spawned_server(side, config, log_path) as server:
        wait_until_ready(server)
        yield server


def wait_until_ready(server: RunningServer, poll_seconds: float = 0.05) -> float:
    """Seconds from spawning the server until /health/ready first answered 200."""
    deadline = server.spawned_at + READY_TIMEOUT_SECONDS
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"{server.side} exited with {server.process.returncode}: see {server.log_path}"
                )
            try:
                if client.get(f"{server.base_url}/health/ready").status_code == 200:
                    return time.monotonic() - server.spawned_at
            except httpx.TransportError:
                pass
            time.sleep(poll_seconds)
    raise RuntimeError(
        f"{server.side} not ready within {READY_TIMEOUT_SECONDS}s: see {server.log_path}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful shutdown, which stops the workers too), then kill the whole group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
