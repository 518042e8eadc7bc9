"""The app factory: builds each implementation once and hands it to the generated routes."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.applications import Starlette

from generated.routes import create_router
from impl.auth.configured import configured_authenticator
from impl.auth.credentials import Credentials
from impl.auth.published_keys import PublishedKeys
from impl.auth.verifier import TokenAuthenticator
from impl.contract import add_contract_routes, load_contract
from impl.db.migrations import Migration, load_migrations, locked_runner
from impl.db.pool import Database, PoolSettings
from impl.db.url import ConnectionTarget, normalize_database_url
from impl.edge import EDGE_OBSERVER_STATE
from impl.error_handlers import register_error_handlers
from impl.events.api import EventsApi
from impl.events.hub import StreamHub, StreamLimits
from impl.events.listener import ChangeListener
from impl.events.reminders import ReminderClocks
from impl.events.tokens import StreamTokens
from impl.health import HealthApi
from impl.history.api import HistoryApi
from impl.history.repository import HistoryRepository
from impl.lifecycle import Lifecycle
from impl.lists.api import ListsApi
from impl.lists.repository import ListRepository
from impl.lists.service import list_policy
from impl.middleware import (
    CorsMiddleware,
    EncodedSlashMiddleware,
    RequestBodyMiddleware,
    RequestContextMiddleware,
)
from impl.observability.logs import AccessLog, LogFormat, UserIdHasher
from impl.observability.metrics import Metrics
from impl.observability.observer import Observer
from impl.reminders.api import RemindersApi
from impl.reminders.repository import ReminderRepository
from impl.retention.job import RetentionJob
from impl.retention.repository import RetentionPolicy, RetentionRepository
from impl.settings import Settings
from impl.tasks.api import TasksApi
from impl.tasks.repository import TaskRepository
from impl.tasks.service import sync_token_signer, task_policy
from impl.trash.api import TrashApi
from impl.trash.repository import TrashRepository
from impl.trash.service import TrashPolicy
from impl.user_settings.api import SettingsApi
from impl.user_settings.repository import SettingsRepository

if TYPE_CHECKING:
    from impl.observability.tracing import Tracing

METRICS_PATH = "/metrics"
# The cross-origin requests a browser may make of the API, and what its script may read back.
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-Request-ID",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "Last-Event-ID",
]
CORS_EXPOSED_HEADERS = ["Location", "X-Request-ID", "Retry-After", "ETag", "Idempotent-Replayed"]

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Observer]]]


@dataclass(frozen=True)
class Parts:
    """What one app is made of, built once: its routes use the parts, its lifespan closes them."""

    migrations: list[Migration]
    observer: Observer
    database: Database
    authenticator: TokenAuthenticator
    # The key set the authenticator fetches (JWKS mode), whose HTTP client is closed at shutdown.
    signing_keys: PublishedKeys | None
    lifecycle: Lifecycle
    retention: RetentionJob | None
    # Every event stream of this worker, and the listener that feeds them.
    hub: StreamHub


def create_app(
    settings: Settings,
    target: ConnectionTarget,
    *,
    log_format: LogFormat = "json",
    migrate: bool = False,
    tracing: "Tracing | None" = None,
) -> FastAPI:
    """The app; its access lines in `log_format`; `migrate`: apply pending migrations at
    start-up; `tracing` replaces the OTLP exporter TRACING_ENABLED would build."""
    parts = build_parts(settings, target, log_format, tracing)
    contract = load_contract()
    app = new_app(contract, app_lifespan(parts, target, migrate=migrate))
    add_operations(app, settings, parts)
    add_service_routes(app, contract, parts.observer.metrics)
    register_error_handlers(app, app.routes, parts.observer)
    add_middleware(app, settings, parts)
    return app


def build_parts(
    settings: Settings, target: ConnectionTarget, log_format: LogFormat, tracing: "Tracing | None"
) -> Parts:
    migrations = load_migrations()
    observer = build_observer(settings, log_format, tracing)
    database = build_database(settings, target, observer)
    authenticator, signing_keys = configured_authenticator(settings)
    lifecycle = Lifecycle(drain_seconds=settings.shutdown_drain_seconds)
    hub = build_hub(settings, target, database, observer)
    # At the server's shutdown every stream says `closing` and ends, else it would hold the
    # graceful shutdown for its whole bound.
    lifecycle.on_stop(hub.close_all)
    return Parts(
        migrations=migrations,
        observer=observer,
        database=database,
        authenticator=authenticator,
        signing_keys=signing_keys,
        lifecycle=lifecycle,
        retention=build_retention(settings, database),
        hub=hub,
    )


def build_hub(
    settings: Settings, target: ConnectionTarget, database: Database, observer: Observer
) -> StreamHub:
    """The event streams' hub; its listener connects when the first stream opens."""
    direct = direct_target(settings, target)
    return StreamHub(
        StreamLimits(
            per_user=settings.events_max_streams_per_user,
            per_worker=settings.events_max_streams_per_worker,
            retry_milliseconds=settings.events_retry_milliseconds,
            heartbeat_seconds=settings.events_heartbeat_seconds,
        ),
        sync_token_signer(settings.token_signing_secret),
        lambda heard, lost: ChangeListener(direct, heard, lost),
        ReminderClocks(ReminderRepository(database).next_firing),
        observer,
    )


def direct_target(settings: Settings, target: ConnectionTarget) -> ConnectionTarget:
    """Where a session of its own is opened (LISTEN): DATABASE_DIRECT_URL, else the pool's."""
    if settings.database_direct_url is None:
        return target
    return normalize_database_url(
        settings.database_direct_url.get_secret_value(),
        connect_timeout_seconds=settings.db_connect_timeout_seconds,
    )


def build_observer(
    settings: Settings, log_format: LogFormat, tracing: "Tracing | None"
) -> Observer:
    """Metrics, traces and access lines, each only where the settings ask for it."""
    return Observer(
        Metrics.for_this_process() if settings.metrics_enabled else None,
        tracing if tracing is not None else configured_tracing(settings),
        # The hash key is a secret the service holds anyway; rotating it changes the hashes.
        AccessLog(UserIdHasher(settings.token_signing_secret), log_format)
        if settings.access_log
        else None,
    )


def build_database(settings: Settings, target: ConnectionTarget, observer: Observer) -> Database:
    """The pool; it connects on demand, so building it reaches no database."""
    database = Database(
        target,
        PoolSettings(
            size=settings.db_pool_size,
            acquire_timeout_seconds=settings.db_pool_timeout_seconds,
            statement_timeout_seconds=settings.db_statement_timeout_seconds,
        ),
        observer if observer.watches_statements else None,
    )
    if observer.metrics is not None:
        observer.metrics.pool_max_connections.set(settings.db_pool_size)
    return database


def build_retention(settings: Settings, database: Database) -> RetentionJob | None:
    """The in-process purge job; none when RETENTION_INTERVAL_SECONDS is 0 (cron runs it)."""
    if settings.retention_interval_seconds <= 0:
        return None
    return RetentionJob(
        RetentionRepository(database),
        retention_policy(settings),
        settings.retention_interval_seconds,
    )


def app_lifespan(parts: Parts, target: ConnectionTarget, *, migrate: bool) -> Lifespan:
    """Start-up applies pending migrations (`migrate`) and starts the retention job. However the
    lifetime ends, at shutdown, on an error or a cancellation, what the app holds is closed,
    the last opened first, each part even when closing another failed."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Observer]]:
        async with AsyncExitStack() as opened:
            opened.callback(parts.observer.shutdown)
            if parts.signing_keys is not None:
                opened.push_async_callback(parts.signing_keys.close)
            opened.push_async_callback(parts.database.close)
            if migrate:
                async with locked_runner(target, parts.migrations) as runner:
                    await runner.up()
            if parts.retention is not None:
                parts.retention.start()
                opened.push_async_callback(parts.retention.stop)
            opened.push_async_callback(parts.hub.stop)
            # Readiness fails from the first SIGTERM; the server hears of it after the drain.
            with parts.lifecycle.watching_signals():
                # The state reaches the server's edge protocol, which counts what it refuses.
                yield {EDGE_OBSERVER_STATE: parts.observer}

    return lifespan


def new_app(contract: dict[str, Any], lifespan: Lifespan) -> FastAPI:
    """The app, named and versioned as its contract, with none of FastAPI's own documents."""
    return FastAPI(
        title=contract["info"]["title"],
        version=contract["info"]["version"],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry looks for configured providers in os.environ on every
        # request (~20 µs); nothing here exports traces, metrics or logs through it.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # `/api/u/tasks/` is not an operation: 404 in the Error shape, not a redirect.
        redirect_slashes=False,
    )


def add_operations(app: FastAPI, settings: Settings, parts: Parts) -> None:
    """The contract's operations, each bound to its implementation, on the app's own router."""
    policy = task_policy(
        settings.token_signing_secret,
        max_tasks_per_user=settings.max_tasks_per_user,
        sync_retention=settings.sync_retention,
        idempotency_key_ttl=settings.idempotency_key_ttl,
    )
    lists = list_policy(
        settings.token_signing_secret,
        max_lists_per_user=settings.max_lists_per_user,
        idempotency_key_ttl=settings.idempotency_key_ttl,
    )
    tasks = TaskRepository(parts.database)
    stream_tokens = StreamTokens(settings.token_signing_secret, settings.stream_token_ttl)
    create_router(
        tasks_api=TasksApi(tasks, policy),
        lists_api=ListsApi(ListRepository(parts.database), lists),
        settings_api=SettingsApi(SettingsRepository(parts.database)),
        reminders_api=RemindersApi(ReminderRepository(parts.database), policy.cursors),
        history_api=HistoryApi(HistoryRepository(parts.database), tasks, policy),
        events_api=EventsApi(
            parts.hub,
            tasks,
            stream_tokens,
            policy.sync_tokens,
            settings.sync_retention,
            listen_timeout_seconds=settings.db_connect_timeout_seconds,
        ),
        trash_api=TrashApi(
            TrashRepository(parts.database),
            TrashPolicy(
                retention=settings.trash_retention,
                max_tasks_per_user=settings.max_tasks_per_user,
                max_lists_per_user=settings.max_lists_per_user,
                cursors=policy.cursors,
            ),
        ),
        health_api=HealthApi(parts.database, parts.lifecycle, parts.migrations),
        authenticator=Credentials(parts.authenticator, stream_tokens),
        into=app.router,
    )


def add_service_routes(app: FastAPI, contract: dict[str, Any], metrics: Metrics | None) -> None:
    """What the service serves besides the operations: the contract, its docs, the metrics."""
    add_contract_routes(app, contract)
    if metrics is not None:
        app.add_route(METRICS_PATH, metrics.endpoint, methods=["GET"], include_in_schema=False)


def add_middleware(app: FastAPI, settings: Settings, parts: Parts) -> None:
    """Added last is outermost: the request id wraps everything, CORS wraps even the 500s."""
    app.add_middleware(
        RequestBodyMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(EncodedSlashMiddleware)
    app.add_middleware(RequestContextMiddleware, observer=parts.observer, lifecycle=parts.lifecycle)
    add_cors(app, settings.cors_origins)


def add_cors(app: Starlette, origins: list[str]) -> None:
    """The service's CORS: these origins only (none: no CORS headers at all). The mock server's
    front (scripts/mock.py) adds the same, so an app built on the mock meets the same refusals."""
    if origins:
        app.add_middleware(
            CorsMiddleware,
            allow_origins=origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
        )


def configured_tracing(settings: Settings) -> "Tracing | None":
    """The OTLP exporter's tracing when TRACING_ENABLED; imported only then."""
    if not settings.tracing_enabled:
        return None
    from impl.observability.tracing import otlp_tracing

    return otlp_tracing()


def retention_policy(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        key_lifetime=settings.idempotency_key_ttl,
        sync_retention=settings.sync_retention,
        trash_retention=settings.trash_retention,
        history_retention=settings.history_retention,
    )
