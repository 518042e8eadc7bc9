"""The real service, started as production runs it (`python -m impl serve`) and stopped by PID."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from impl.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 60
PRODUCTION = ("serve",)
# How a worker that multiprocessing's spawn started is recognized on its command line.
SPAWNED_WORKER_MARK = b"--multiprocessing-fork"
# `python -m impl` alone: the development server, which starts an embedded PostgreSQL.
DEVELOPMENT = ()
# The taskapi command of this checkout; an installed one is the path of its script.
FROM_THE_CHECKOUT = (sys.executable, "-m", "impl")
# What the service reads; the tests set each one they need, and nothing leaks in from the shell.
SERVICE_VARIABLES = tuple(name.upper() for name in Settings.model_fields)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def service_environment(settings: dict[str, str]) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    return {**inherited, **settings}


def taskapi_command(
    settings: dict[str, str],
    *command: str,
    python_path: Path | None = None,
    program: tuple[str, ...] = FROM_THE_CHECKOUT,
) -> "subprocess.CompletedProcess[str]":
    """`taskapi COMMAND` run to its end in an empty directory, with only `settings`; the
    packages are imported from `python_path` first when it is given."""
    environment = service_environment(settings)
    if python_path is not None:
        environment["PYTHONPATH"] = str(python_path)
    with tempfile.TemporaryDirectory() as workdir:
        return subprocess.run(
            [*program, *command],
            cwd=workdir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@contextmanager
def running_service(
    settings: dict[str, str],
    log_path: Path,
    command: tuple[str, ...] = PRODUCTION,
    program: tuple[str, ...] = FROM_THE_CHECKOUT,
) -> Iterator[str]:
    """Serve with `settings` as the environment; yields the base URL once /health/live answers."""
    with service_process(settings, log_path, command, program) as (base_url, _):
        yield base_url


@contextmanager
def service_process(
    settings: dict[str, str],
    log_path: Path,
    command: tuple[str, ...] = PRODUCTION,
    program: tuple[str, ...] = FROM_THE_CHECKOUT,
) -> Iterator[tuple[str, "subprocess.Popen[bytes]"]]:
    """The same, yielding the process too."""
    port = free_port()
    env = service_environment({**settings, "API_HOST": "127.0.0.1", "API_PORT": str(port)})
    base_url = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # An empty working directory, so no developer's .env is read.
    with (
        tempfile.TemporaryDirectory() as workdir,
        log_path.open("ab") as log,
    ):
        process = subprocess.Popen(
            [*program, *command], cwd=workdir, env=env, stdout=log, stderr=log
        )
        try:
            wait_until_live(f"{base_url}/health/live", process, log_path)
            yield base_url, process
        finally:
            stop(process, timeout_seconds=15)


def stop(process: "subprocess.Popen[bytes]", *, timeout_seconds: float) -> None:
    """SIGTERM, and SIGKILL if the process is still there after `timeout_seconds`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker_processes(pid: int) -> list[int]:
    """The worker processes a uvicorn supervisor `pid` spawned (not its resource tracker)."""
    return [child for child in child_processes(pid) if SPAWNED_WORKER_MARK in _command_line(child)]


def child_processes(pid: int) -> list[int]:
    """The ids of the processes whose parent is `pid` (Linux /proc)."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces; the parent id follows the state.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def _command_line(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def wait_until_live(
    url: str,
    process: "subprocess.Popen[bytes]",
    log_path: Path,
    *,
    name: str = "service",
    timeout_seconds: float = STARTUP_TIMEOUT_SECONDS,
) -> None:
    """Return once `url` answers 200; raise if `process` exits or the time runs out."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: see {log_path}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start within {timeout_seconds}s: see {log_path}")
