"""The mock server as `make mock` runs it: Prism behind scripts/mock.py, run by PID."""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import ROOT, free_port, stop, wait_until_live

# `make pytest` (or `make mock`) installs Prism from scripts/mock/package-lock.json.
PRISM = ROOT / ".tools" / "prism" / "node_modules" / ".bin" / "prism"
STARTUP_TIMEOUT_SECONDS = 30


@contextmanager
def running_mock(cors_origin: str, log_path: Path) -> Iterator[str]:
    """The mock on a free loopback port, allowing `cors_origin`; yields its URL once it answers."""
    with mock_process(cors_origin, log_path) as (base_url, _):
        yield base_url


@contextmanager
def mock_process(
    cors_origin: str, log_path: Path
) -> Iterator[tuple[str, "subprocess.Popen[bytes]"]]:
    """The same, yielding the process too."""
    if not PRISM.exists():
        raise RuntimeError("Prism is not installed: run `make pytest` or `make mock`")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "scripts/mock.py", "--prism", str(PRISM), "--port", str(port)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*command, "--cors-origin", cors_origin], cwd=ROOT, stdout=log, stderr=log
        )
        try:
            wait_until_live(
                f"{base_url}/health/live",
                process,
                log_path,
                name="the mock server",
                timeout_seconds=STARTUP_TIMEOUT_SECONDS,
            )
            yield base_url, process
        finally:
            stop(process, timeout_seconds=10)
