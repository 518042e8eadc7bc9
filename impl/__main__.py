"""`python -m impl`: serve the API for development; `python -m impl serve`: serve it in production.

Development starts an embedded PostgreSQL when DATABASE_URL is unset. Production requires
DATABASE_URL and runs API_WORKERS processes on uvloop. Both serve HTTP/1.1 through the edge
protocol (impl/edge), which bounds each request's head in size and time.
"""

import argparse
import atexit
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

from fastapi import FastAPI

from impl.app import create_app
from impl.db.embedded import database_target
from impl.db.url import DatabaseUrlError
from impl.edge.config import EdgeConfig
from impl.edge.limits import EdgeLimits
from impl.edge.protocol import EdgeProtocol
from impl.edge.server import run
from impl.observability.metrics import MULTIPROCESS_DIR_VARIABLE
from impl.runtime import configure_logging, load_settings, production_target
from impl.settings import Settings

logger = logging.getLogger("impl")

PRODUCTION_APP = "impl.runtime:create_production_app"
# The service has no WebSocket endpoint: without uvicorn's WebSocket protocol an upgrade request
# is served as the plain request it also is, in the contract's shapes (with it, every upgrade
# got uvicorn's empty 403).
NO_WEBSOCKETS = "none"


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def develop() -> None:
    # uvicorn re-raises the signal that stopped it once it has shut down; as an exception
    # (not the default action, which kills the process) it lets the embedded database stop too.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    settings = load_settings()
    log_format = configure_logging(settings, "text")
    try:
        with database_target(settings) as target:
            app = create_app(settings, target, log_format=log_format)
            base = f"http://{settings.api_host}:{settings.api_port}"
            logger.info("database: %s", target.redacted())
            logger.info("API docs: %s/docs (token: make token USER=<user id>)", base)
            run(server_config(settings, app))
    except DatabaseUrlError as error:
        print(f"configuration error: DATABASE_URL: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        # Ctrl-C: uvicorn has shut down and the embedded database has stopped.
        sys.exit(130)


def serve() -> None:
    settings = load_settings()
    # Refused here, before any worker starts: one message, not one per worker.
    production_target(settings)
    configure_logging(settings, "json")
    if settings.api_workers > 1 and settings.metrics_enabled:
        share_metrics_between_workers()
    # A shutdown that SIGTERM asked for exits 0, with one worker as with several: uvicorn
    # re-raises the signal once it has shut down, and the default action would kill the process.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # Each worker builds its own app (and pool) from the same environment.
    run(
        server_config(
            settings,
            PRODUCTION_APP,
            factory=True,
            workers=settings.api_workers,
            loop="uvloop",
            access_log=False,
        )
    )


def server_config(settings: Settings, app: FastAPI | str, **options: Any) -> EdgeConfig:
    """uvicorn's configuration, with what `run` and `serve` share: the edge's limits and
    timeouts, no Server header, no WebSockets, the graceful shutdown's bound."""
    return EdgeConfig(
        app,
        edge_limits=EdgeLimits.from_settings(settings),
        http=EdgeProtocol,
        host=settings.api_host,
        port=settings.api_port,
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        log_config=None,
        server_header=False,
        ws=NO_WEBSOCKETS,
        **options,
    )


def share_metrics_between_workers() -> None:
    """Give the workers one empty directory to keep their metrics in, for any to expose.

    Set in the environment before any worker starts, so that each one's prometheus-client
    chooses its multi-process mode on import. Left over values would be counted again, so an
    operator's PROMETHEUS_MULTIPROC_DIR is emptied; a directory made here is removed at exit.
    """
    named = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if named:
        directory = Path(named)
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob("*.db"):
            leftover.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="taskapi-metrics-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ[MULTIPROCESS_DIR_VARIABLE] = str(directory)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m impl", description=__doc__)
    parser.add_argument("command", nargs="?", choices=("serve",), help="production server")
    if parser.parse_args().command == "serve":
        serve()
    else:
        develop()


if __name__ == "__main__":
    main()
