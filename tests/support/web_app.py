"""The reference web app (web/, built by `make web-build`) served by `next start`, run by PID."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import ROOT, stop, wait_until_live

WEB_DIR = ROOT / "web"
NEXT = WEB_DIR / "node_modules" / "next" / "dist" / "bin" / "next"
BUILD_ID = WEB_DIR / ".next" / "BUILD_ID"
BUILD_COMMAND = "make web-build"
STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10


@contextmanager
def running_web_app(port: int, settings: dict[str, str], log_path: Path) -> Iterator[str]:
    """Serve the built app on 127.0.0.1:`port` with `settings` as its environment; yields its
    URL once its sign-in page answers."""
    if not BUILD_ID.exists():
        raise RuntimeError(f"{WEB_DIR} is not built: run `{BUILD_COMMAND}`")
    # Nothing from the shell configures it: Better Auth reads BETTER_AUTH_* as fallbacks.
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BETTER_AUTH", "NODE_", "NEXT_")) and name != "DATABASE_URL"
    }
    env = {**inherited, "NEXT_TELEMETRY_DISABLED": "1", **settings}
    url = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            ["node", str(NEXT), "start", "-H", "127.0.0.1", "-p", str(port)],
            cwd=WEB_DIR,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            wait_until_live(
                f"{url}/sign-in",
                process,
                log_path,
                name="the web app",
                timeout_seconds=STARTUP_TIMEOUT_SECONDS,
            )
            yield url
        finally:
            stop(process, timeout_seconds=STOP_TIMEOUT_SECONDS)
