"""The `taskapi` command (also `python -m impl`).

  taskapi run        serve for development: an embedded PostgreSQL unless DATABASE_URL is set,
                     migrated at start (the default command)
  taskapi serve      serve in production: DATABASE_URL required, API_WORKERS processes on uvloop;
                     migrates only if MIGRATE_ON_STARTUP=true, and refuses to start on a schema
                     behind this release
  taskapi migrate    apply pending migrations (also `down`, `status`): the release step
  taskapi purge      delete every user's expired idempotency keys, deleted ids and trash now (for
                     cron; each serving process also does it every RETENTION_INTERVAL_SECONDS)
  taskapi token ID   print a development token for a user, as AUTH_MODE verifies it

Both servers read HTTP/1.1 through the edge protocol (impl/edge), which bounds each request's
head in size and time.
"""

import argparse
import asyncio
import atexit
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Coroutine
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from fastapi import FastAPI

from impl.app import create_app, retention_policy
from impl.db.embedded import database_target
from impl.db.migrations import (
    Migration,
    MigrationError,
    connect,
    load_migrations,
    locked_runner,
    pending_migrations,
)
from impl.db.pool import UNREACHABLE_ERRORS, Database, DatabaseUnavailable, PoolSettings
from impl.db.url import ConnectionTarget, DatabaseUrlError
from impl.dev_tokens import mint
from impl.edge.config import EdgeConfig
from impl.edge.limits import EdgeLimits
from impl.edge.protocol import EdgeProtocol
from impl.edge.server import run
from impl.observability.metrics import MULTIPROCESS_DIR_VARIABLE
from impl.retention.job import purge_round
from impl.retention.repository import RetentionRepository
from impl.runtime import configure_logging, load_settings, migrates_at_start, production_target
from impl.settings import Settings

logger = logging.getLogger("impl")
T = TypeVar("T")

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
    required_migrations()
    try:
        with database_target(settings) as target:
            app = create_app(
                settings,
                target,
                log_format=log_format,
                migrate=migrates_at_start(settings, "run"),
            )
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
    target = production_target(settings)
    configure_logging(settings, "json")
    migrations = required_migrations()
    if not migrates_at_start(settings, "serve"):
        refuse_a_schema_behind(target, migrations)
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
        )
    )


def server_config(settings: Settings, app: FastAPI | str, **options: Any) -> EdgeConfig:
    """uvicorn's configuration, with what `run` and `serve` share: the edge's limits and
    timeouts, no Server header, no WebSockets, the graceful shutdown's bound, and no access
    log of uvicorn's own (the service writes one line per request, by route template;
    uvicorn's holds the raw target, with the user id and the query string)."""
    return EdgeConfig(
        app,
        edge_limits=EdgeLimits.from_settings(settings),
        http=EdgeProtocol,
        host=settings.api_host,
        port=settings.api_port,
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        log_config=None,
        access_log=False,
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


def required_migrations() -> list[Migration]:
    """This release's migrations, or exit 1: without them a database would have no schema."""
    try:
        return load_migrations()
    except MigrationError as error:
        print(f"migration error: {error}", file=sys.stderr)
        sys.exit(1)


def refuse_a_schema_behind(target: ConnectionTarget, migrations: list[Migration]) -> None:
    """Exit 1 when the database lacks a migration this release needs (`taskapi migrate` is the
    release step). A database out of reach is not a reason to refuse: /health/ready answers
    503 until it can see the schema is current."""
    try:
        pending = asyncio.run(_pending(target, migrations))
    except MigrationError as error:
        print(f"migration error: {error}", file=sys.stderr)
        sys.exit(1)
    except UNREACHABLE_ERRORS as error:
        logger.warning("could not check the database schema at start-up: %s", error)
        return
    if pending:
        print(
            "the database schema is behind this release: "
            f"{', '.join(m.label for m in pending)} not applied; run `taskapi migrate` first",
            file=sys.stderr,
        )
        sys.exit(1)


async def _pending(target: ConnectionTarget, migrations: list[Migration]) -> list[Migration]:
    connection = await connect(target)
    try:
        return await pending_migrations(connection, migrations)
    finally:
        await connection.close()


def on_the_database(job: Callable[[ConnectionTarget, Settings], Coroutine[Any, Any, T]]) -> T:
    """`job` on the configured database, or exit: 1 when a migration failed or the files and
    the database disagree, 2 on a configuration error, 3 when the database cannot be reached."""
    settings = load_settings()
    configure_logging(settings, "text")
    try:
        with database_target(settings) as target:
            return asyncio.run(job(target, settings))
    except DatabaseUrlError as error:
        print(f"configuration error: DATABASE_URL: {error}", file=sys.stderr)
        sys.exit(2)
    except MigrationError as error:
        print(f"migration error: {error}", file=sys.stderr)
        sys.exit(1)
    except (*UNREACHABLE_ERRORS, DatabaseUnavailable) as error:
        print(f"database unreachable: {error}", file=sys.stderr)
        sys.exit(3)


async def migrate_command(command: str, steps: int, target: ConnectionTarget) -> None:
    """Nothing pending is done: exit 0."""
    async with locked_runner(target) as runner:
        if command == "up":
            print(_listing("applied", await runner.up()))
        elif command == "down":
            print(_listing("rolled back", await runner.down(steps)))
        else:
            for migration, row in await runner.status():
                state = f"applied {row.applied_at.isoformat()}" if row else "pending"
                print(f"{migration.label:40} {state}")


def _listing(verb: str, migrations: list[Migration]) -> str:
    return f"{verb} {len(migrations)} migration(s)" + "".join(f"\n  {m.label}" for m in migrations)


async def purge_command(target: ConnectionTarget, settings: Settings) -> None:
    """One retention round now, on a pool of one connection."""
    database = Database(
        target,
        PoolSettings(
            size=1,
            acquire_timeout_seconds=settings.db_pool_timeout_seconds,
            statement_timeout_seconds=settings.db_statement_timeout_seconds,
        ),
    )
    try:
        purged = await purge_round(RetentionRepository(database), retention_policy(settings))
    finally:
        await database.close()
    if purged is None:
        print("another process is purging; nothing done")
    else:
        print(
            f"purged {purged.idempotency_keys} idempotency key(s), "
            f"{purged.task_deletions} deleted task id(s), "
            f"{purged.list_deletions} deleted list id(s), "
            f"{purged.trash_items} item(s) of the trash "
            f"and {purged.versions} version(s) of tasks"
        )


def token_command(user_id: str, minutes: int) -> None:
    print(mint(load_settings(), user_id, minutes))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="taskapi", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"taskapi {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="serve for development (the default)")
    commands.add_parser("serve", help="serve in production")
    migrate = commands.add_parser("migrate", help="apply pending migrations (the release step)")
    migrate.add_argument("action", nargs="?", default="up", choices=("up", "down", "status"))
    migrate.add_argument("--steps", type=int, default=1, help="how many `down` rolls back")
    commands.add_parser("purge", help="delete expired idempotency keys, deleted ids and trash now")
    token = commands.add_parser("token", help="print a development token for a user")
    token.add_argument("user_id")
    token.add_argument("--minutes", type=int, default=60, help="lifetime (default 60)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve()
    elif args.command == "migrate":
        on_the_database(lambda target, _: migrate_command(args.action, args.steps, target))
    elif args.command == "purge":
        on_the_database(purge_command)
    elif args.command == "token":
        token_command(args.user_id, args.minutes)
    else:
        develop()


def package_version() -> str:
    return metadata.version("taskapi")
