"""`make web`: the reference web app (web/) with everything it needs, on this machine.

Starts PostgreSQL (the embedded one unless DATABASE_URL is set), a database for Better Auth's
tables on it (`web_auth`, unless AUTH_DATABASE_URL names another), the API in jwks mode trusting
the app's Better Auth and allowing its origin, and the app (`next start`); prints the app's URL
once both answer. Ctrl-C stops them all. WEB_PORT (3000) and API_PORT (8000) choose the ports.

With --mock PRISM (`make web-mock`), the mock server (scripts/mock.py, on MOCK_PORT) stands in for
the API: no API and no task database, for frontend work; Better Auth keeps its tables as above.
"""

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import asyncpg
from child_processes import child_process, wait_until_answering

from impl.db.embedded import embedded_postgres
from impl.db.url import ConnectionTarget, normalize_database_url
from impl.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
WEB_DIR = ROOT / "web"
NEXT = WEB_DIR / "node_modules" / "next" / "dist" / "bin" / "next"
# Next.js reads this file at start; the app's Better Auth secret stays the same across runs.
WEB_ENV_FILE = WEB_DIR / ".env.local"
AUTH_DATABASE = "web_auth"
STARTUP_TIMEOUT_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mock", metavar="PRISM", help="the mock server (this Prism) for the API")
    parser.add_argument("--mock-port", default=os.environ.get("MOCK_PORT", "4010"))
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_on_signal)
    settings = Settings()
    web_port = os.environ.get("WEB_PORT", "3000")
    web_origin = f"http://127.0.0.1:{web_port}"
    try:
        with ExitStack() as stack:
            database_url = stack.enter_context(_database_url(settings))
            auth_database_url = os.environ.get("AUTH_DATABASE_URL") or _auth_database(
                database_url, settings
            )
            if arguments.mock:
                api_origin = f"http://127.0.0.1:{arguments.mock_port}"
                api_name, api_ready = "the mock server", f"{api_origin}/health/live"
                api = stack.enter_context(
                    child_process(
                        [
                            sys.executable,
                            str(ROOT / "scripts" / "mock.py"),
                            *("--prism", arguments.mock, "--port", arguments.mock_port),
                            *("--cors-origin", web_origin),
                        ],
                        cwd=ROOT,
                    )
                )
            else:
                api_origin = f"http://{settings.api_host}:{settings.api_port}"
                api_name, api_ready = "the API", f"{api_origin}/health/ready"
                api = stack.enter_context(
                    child_process(
                        [str(ROOT / ".venv" / "bin" / "taskapi"), "run"],
                        cwd=ROOT,
                        env={
                            "DATABASE_URL": database_url,
                            "AUTH_MODE": "jwks",
                            "BETTER_AUTH_URL": web_origin,
                            "CORS_ORIGINS": web_origin,
                        },
                    )
                )
            web = stack.enter_context(
                child_process(
                    ["node", str(NEXT), "start", "-H", "127.0.0.1", "-p", web_port],
                    cwd=WEB_DIR,
                    env={
                        "BETTER_AUTH_URL": web_origin,
                        "BETTER_AUTH_SECRET": _web_secret(),
                        "AUTH_DATABASE_URL": auth_database_url,
                        "TASKAPI_URL": api_origin,
                        "NEXT_TELEMETRY_DISABLED": "1",
                    },
                )
            )
            wait_until_answering(api_ready, api, api_name, STARTUP_TIMEOUT_SECONDS)
            wait_until_answering(
                f"{web_origin}/sign-in", web, "the web app", STARTUP_TIMEOUT_SECONDS
            )
            print(
                f"\n  Tasks web app: {web_origin}   ({api_name}: {api_origin}; Ctrl-C stops all)\n"
            )
            _wait_for_either({api_name: api, "the web app": web})
    except KeyboardInterrupt:
        sys.exit(130)


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _database_url(settings: Settings) -> Iterator[str]:
    if settings.database_url is not None:
        yield settings.database_url.get_secret_value()
        return
    with embedded_postgres(settings.embedded_db_dir) as url:
        yield url


def _auth_database(database_url: str, settings: Settings) -> str:
    """The URL of `web_auth` on the API's server, created if it does not exist yet."""
    target = normalize_database_url(
        database_url, connect_timeout_seconds=settings.db_connect_timeout_seconds
    )
    asyncio.run(_create_database(target, AUTH_DATABASE))
    return urlsplit(database_url)._replace(path=f"/{AUTH_DATABASE}").geturl()


async def _create_database(target: ConnectionTarget, name: str) -> None:
    connection = await asyncpg.connect(target.dsn, **target.connect_args)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _web_secret() -> str:
    prefix = "BETTER_AUTH_SECRET="
    if WEB_ENV_FILE.exists():
        for line in WEB_ENV_FILE.read_text(encoding="utf-8").splitlines():
            if line.startswith(prefix):
                return line.removeprefix(prefix)
    secret = secrets.token_urlsafe(48)
    WEB_ENV_FILE.write_text(f"{prefix}{secret}\n", encoding="utf-8")
    WEB_ENV_FILE.chmod(0o600)
    return secret


def _wait_for_either(processes: dict[str, "subprocess.Popen[bytes]"]) -> None:
    while all(process.poll() is None for process in processes.values()):
        time.sleep(0.5)
    name, stopped = next((n, p) for n, p in processes.items() if p.poll() is not None)
    raise SystemExit(f"{name} exited with {stopped.returncode}")


if __name__ == "__main__":
    main()
