"""The processes `make web` and `make mock` start: on a free port, awaited until they answer,
and stopped (SIGTERM, then SIGKILL) when the script ends, however it ends."""

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

STOP_TIMEOUT_SECONDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def child_process(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> Iterator["subprocess.Popen[bytes]"]:
    """`command` running for the block, with `env` added to this process's environment."""
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})})
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_answering(
    url: str, process: "subprocess.Popen[bytes]", name: str, timeout_seconds: float
) -> None:
    """Return once `url` answers 200; exit with a message if `process` ends or time runs out."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{name} did not answer {url} within {timeout_seconds} s")
