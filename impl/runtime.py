"""Settings, logging and the app as a production worker process builds them."""

import gc
import sys
from typing import Literal

from fastapi import FastAPI
from pydantic import ValidationError

from impl.app import create_app
from impl.db.url import ConnectionTarget, DatabaseUrlError, normalize_database_url
from impl.observability import logs
from impl.settings import Settings


def load_settings() -> Settings:
    """The settings, or exit 2 naming each bad variable (never its value: it may be a secret)."""
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]).upper()
            message = problem["msg"].removeprefix("Value error, ")
            print(f"configuration error: {name or 'settings'}: {message}", file=sys.stderr)
        print("See .env.example; `make run` creates a .env with a dev secret.", file=sys.stderr)
        sys.exit(2)


def migrates_at_start(settings: Settings, command: Literal["run", "serve"]) -> bool:
    """MIGRATE_ON_STARTUP if set; else development migrates and production does not (there,
    `taskapi migrate` is a release step of its own, run once before the new release serves)."""
    if settings.migrate_on_startup is None:
        return command == "run"
    return settings.migrate_on_startup


def configure_logging(settings: Settings, default_format: logs.LogFormat) -> logs.LogFormat:
    """LOG_FORMAT if set, else `default_format` (json in production, text for development);
    returns the format chosen, for the access lines."""
    chosen = settings.log_format or default_format
    logs.configure_logging(settings.log_level, chosen)
    return chosen


# A request allocates thousands of short-lived objects: at the default threshold (700) the
# cyclic collector runs every few requests. At 50,000 a get costs ~10% less CPU, and memory
# stays flat (refcounting frees almost everything; `make bench` measures RSS).
GC_YOUNG_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Collect and freeze what start-up built (never garbage), then collect the young less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def production_target(settings: Settings) -> ConnectionTarget:
    """The database `serve` uses, or exit 2: production never starts an embedded one."""
    if settings.database_url is None:
        print(
            "configuration error: DATABASE_URL: `serve` needs a database; "
            "`make run` starts an embedded one for development",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        return normalize_database_url(
            settings.database_url.get_secret_value(),
            connect_timeout_seconds=settings.db_connect_timeout_seconds,
        )
    except DatabaseUrlError as error:
        print(f"configuration error: DATABASE_URL: {error}", file=sys.stderr)
        sys.exit(2)


def create_production_app() -> FastAPI:
    """The app of one `serve` worker, built from the environment like every other worker's."""
    settings = load_settings()
    log_format = configure_logging(settings, "json")
    app = create_app(
        settings,
        production_target(settings),
        log_format=log_format,
        migrate=migrates_at_start(settings, "serve"),
    )
    tune_garbage_collector()
    return app
