"""The app factory: builds each implementation once and hands it to the generated routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from generated.routes import create_router
from impl.auth.configured import configured_authenticator
from impl.contract import add_contract_routes, load_contract
from impl.db.migrations import load_migrations, locked_runner
from impl.db.pool import Database, PoolSettings
from impl.db.url import ConnectionTarget
from impl.edge import EDGE_OBSERVER_STATE
from impl.error_handlers import register_error_handlers
from impl.health import HealthApi
from impl.lifecycle import Lifecycle
from impl.middleware import (
    CorsMiddleware,
    EncodedSlashMiddleware,
    RequestBodyMiddleware,
    RequestContextMiddleware,
)
from impl.observability.logs import AccessLog, LogFormat, UserIdHasher
from impl.observability.metrics import Metrics
from impl.observability.observer import Observer
from impl.retention.job import RetentionJob, RetentionPolicy
from impl.retention.repository import RetentionRepository
from impl.settings import Settings
from impl.tasks.api import TasksApi
from impl.tasks.repository import TaskRepository
from impl.tasks.service import task_policy

if TYPE_CHECKING:
    from impl.observability.tracing import Tracing

METRICS_PATH = "/metrics"


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
    migrations = load_migrations()
    metrics = Metrics.for_this_process() if settings.metrics_enabled else None
    observer = Observer(
        metrics,
        tracing if tracing is not None else configured_tracing(settings),
        # The hash key is a secret the service holds anyway; rotating it changes the hashes.
        AccessLog(UserIdHasher(settings.token_signing_secret), log_format)
        if settings.access_log
        else None,
    )
    database = Database(
        target,
        PoolSettings(
            size=settings.db_pool_size,
            acquire_timeout_seconds=settings.db_pool_timeout_seconds,
            statement_timeout_seconds=settings.db_statement_timeout_seconds,
        ),
        observer if observer.watches_statements else None,
    )
    if metrics is not None:
        metrics.pool_max_connections.set(settings.db_pool_size)
    contract = load_contract()

    authenticator, signing_keys = configured_authenticator(settings)
    lifecycle = Lifecycle(drain_seconds=settings.shutdown_drain_seconds)
    retention = (
        RetentionJob(
            RetentionRepository(database),
            retention_policy(settings),
            settings.retention_interval_seconds,
        )
        if settings.retention_interval_seconds > 0
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Observer]]:
        if migrate:
            async with locked_runner(target, migrations) as runner:
                await runner.up()
        if retention is not None:
            retention.start()
        # Readiness fails from the first SIGTERM; the server hears of it after the drain.
        with lifecycle.watching_signals():
            # The state reaches the server's edge protocol, which counts what it refuses.
            yield {EDGE_OBSERVER_STATE: observer}
        if retention is not None:
            await retention.stop()
        await database.close()
        if signing_keys is not None:
            await signing_keys.close()
        observer.shutdown()

    app = FastAPI(
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
    policy = task_policy(
        settings.token_signing_secret,
        max_tasks_per_user=settings.max_tasks_per_user,
        sync_retention=settings.sync_retention,
        idempotency_key_ttl=settings.idempotency_key_ttl,
    )
    api_router = create_router(
        tasks_api=TasksApi(TaskRepository(database), policy),
        health_api=HealthApi(database, lifecycle, migrations),
        authenticator=authenticator,
    )
    app.router.routes.extend(api_router.routes)
    add_contract_routes(app, contract)
    if metrics is not None:
        app.add_route(METRICS_PATH, metrics.endpoint, methods=["GET"], include_in_schema=False)
    register_error_handlers(app, app.router.routes, observer)
    # Added last is outermost: the request id wraps everything, CORS wraps even the 500s.
    app.add_middleware(
        RequestBodyMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(EncodedSlashMiddleware)
    app.add_middleware(RequestContextMiddleware, observer=observer, lifecycle=lifecycle)
    if settings.cors_origins:
        app.add_middleware(
            CorsMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-Request-ID",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
            ],
            expose_headers=[
                "Location",
                "X-Request-ID",
                "Retry-After",
                "ETag",
                "Idempotent-Replayed",
            ],
        )
    return app


def configured_tracing(settings: Settings) -> "Tracing | None":
    """The OTLP exporter's tracing when TRACING_ENABLED; imported only then."""
    if not settings.tracing_enabled:
        return None
    from impl.observability.tracing import otlp_tracing

    return otlp_tracing()


def retention_policy(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        key_lifetime=settings.idempotency_key_ttl, sync_retention=settings.sync_retention
    )
