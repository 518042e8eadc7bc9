"""Configuration, read once from the environment (and `.env`)."""

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Every setting the service reads; `.env.example` documents each one."""

    # `NAME=` (as `.env.example` ships every optional setting) means unset, not the empty string.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL; unset means an embedded server under EMBEDDED_DB_DIR.",
    )
    database_direct_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL that reaches the server itself, not a transaction pooler:"
        " the live events' LISTEN needs a session of its own. Unset: DATABASE_URL.",
    )
    auth_mode: Literal["hs256", "jwks"] = Field(
        default="hs256",
        description="hs256: a secret shared with Better Auth; jwks: its public keys.",
    )
    better_auth_secret: SecretStr | None = Field(
        default=None, description="HS256 secret shared with Better Auth (hs256 mode)."
    )
    better_auth_url: str | None = Field(
        default=None, description="Better Auth's base URL: default JWKS URL, issuer and audience."
    )
    jwks_url: str | None = Field(default=None, description="Where the signing keys are published.")
    jwt_issuer: str | None = Field(default=None, description="The `iss` every token must carry.")
    jwt_audience: str | None = Field(default=None, description="The `aud` every token must name.")
    jwt_leeway_seconds: float = Field(default=30, ge=0, le=300)
    jwks_cache_seconds: float = Field(default=300, gt=0)
    jwks_refresh_seconds: float = Field(default=30, gt=0)
    jwks_timeout_seconds: float = Field(default=2, gt=0, le=30)
    cursor_secret: SecretStr | None = Field(
        default=None,
        description="Signs paging cursors and sync tokens; BETTER_AUTH_SECRET if unset.",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_workers: int = Field(default=1, ge=1, description="Worker processes of `serve`.")
    shutdown_drain_seconds: float = Field(
        default=0,
        ge=0,
        le=3600,
        description="After SIGTERM, /health/ready answers 503 this long; then the listener closes.",
    )
    shutdown_timeout_seconds: int = Field(
        default=10,
        ge=1,
        le=3600,
        description="Then requests in flight may finish for this long; the rest are answered 503.",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1)
    max_url_bytes: int = Field(
        default=8 * 1024, ge=256, le=1024 * 1024, description="Longest request target (414)."
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Most bytes of header fields in one request, names and values (431).",
    )
    header_timeout_seconds: float = Field(
        default=10, gt=0, le=300, description="A request's head must arrive within this (408)."
    )
    body_timeout_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="A request's body must arrive within this after its head (408).",
    )
    keep_alive_timeout_seconds: int = Field(
        default=5,
        ge=1,
        le=3600,
        description="An idle connection is closed after this; a load balancer's must be shorter.",
    )
    send_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=3600,
        description="A client that takes none of an answer for this long (its buffers full) is"
        " disconnected, rather than buffered for: an event stream's slow reader, say.",
    )
    events_max_streams_per_user: int = Field(
        default=20, ge=1, description="Open event streams one user may hold on each worker."
    )
    events_max_streams_per_worker: int = Field(
        default=5_000, ge=1, description="Open event streams each worker process holds at most."
    )
    events_heartbeat_seconds: float = Field(
        default=15,
        gt=0,
        le=3600,
        description="An event stream quiet this long gets a comment line, so proxies keep it.",
    )
    events_retry_milliseconds: int = Field(
        default=3_000,
        ge=0,
        le=3_600_000,
        description="How long an event stream's client waits before it reconnects (`retry:`).",
    )
    stream_token_ttl: timedelta = Field(
        default=timedelta(seconds=60),
        gt=timedelta(0),
        le=timedelta(hours=1),
        description="How long a stream token opens event streams: seconds or ISO 8601.",
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections per worker process.")
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    migrate_on_startup: bool | None = Field(
        default=None,
        description="Apply pending migrations at start-up; unset: `run` does, `serve` does not.",
    )
    max_tasks_per_user: int = Field(default=10_000, ge=1, description="Per-user cap on tasks.")
    max_lists_per_user: int = Field(
        default=1_000, ge=1, description="Per-user cap on task lists, the Inbox included."
    )
    sync_retention: timedelta = Field(
        default=timedelta(days=30),
        gt=timedelta(0),
        description="How long deleted ids (and so sync tokens) are kept: seconds or ISO 8601.",
    )
    trash_retention: timedelta = Field(
        default=timedelta(days=30),
        gt=timedelta(0),
        description="How long a deleted task or list can be restored before it is purged:"
        " seconds or ISO 8601.",
    )
    history_retention: timedelta = Field(
        default=timedelta(days=30),
        gt=timedelta(0),
        description="How long each version of a task is kept in its history and the activity"
        " feed: seconds or ISO 8601.",
    )
    idempotency_key_ttl: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description="How long an Idempotency-Key replays its first answer: seconds or ISO 8601.",
    )
    retention_interval_seconds: float = Field(
        default=600,
        ge=0,
        description="How often each process purges expired keys, deleted ids and trash; 0: never "
        "(run `taskapi purge` from cron instead).",
    )
    db_statement_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="The statements of one read or write together: past it they are cancelled"
        " and the request is answered 504 database_timeout.",
    )
    embedded_db_dir: Path = Path(".data/postgres")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="json (one object per line) or text; unset: json for `serve`, text for `run`.",
    )
    access_log: bool = Field(default=True, description="One log line per request, at INFO.")
    metrics_enabled: bool = Field(default=True, description="Prometheus metrics at /metrics.")
    tracing_enabled: bool = Field(
        default=False,
        description="OpenTelemetry traces over OTLP/HTTP, configured by the OTEL_* variables.",
    )

    @field_validator("better_auth_secret", "cursor_secret")
    @classmethod
    def _secret_is_long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
        return secret

    @field_validator(
        "database_url",
        "database_direct_url",
        "better_auth_secret",
        "better_auth_url",
        "jwks_url",
        "jwt_issuer",
        "jwt_audience",
        "cursor_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # Whitespace only (a value pasted with its surrounding spaces) is unset too.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("better_auth_url", "jwks_url")
    @classmethod
    def _is_an_http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _mode_has_what_it_needs(self) -> "Settings":
        if self.auth_mode == "hs256" and self.better_auth_secret is None:
            raise ValueError("BETTER_AUTH_SECRET is required when AUTH_MODE is hs256")
        if self.auth_mode == "jwks" and self.jwks_url is None and self.better_auth_url is None:
            raise ValueError("JWKS_URL or BETTER_AUTH_URL is required when AUTH_MODE is jwks")
        if self.cursor_secret is None and self.better_auth_secret is None:
            raise ValueError("CURSOR_SECRET is required when BETTER_AUTH_SECRET is not set")
        return self

    @property
    def token_signing_secret(self) -> str:
        """The secret behind paging cursors and sync tokens."""
        secret = self.cursor_secret or self.better_auth_secret
        assert secret is not None, "checked by _mode_has_what_it_needs"
        return secret.get_secret_value()

    @property
    def signing_keys_url(self) -> str | None:
        if self.jwks_url is not None:
            return self.jwks_url
        if self.better_auth_url is not None:
            return self.better_auth_url.rstrip("/") + "/api/auth/jwks"
        return None

    @property
    def issuer(self) -> str | None:
        return self.jwt_issuer or self.better_auth_url

    @property
    def audience(self) -> str | None:
        return self.jwt_audience or self.better_auth_url

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("sync_retention", "idempotency_key_ttl", mode="before")
    @classmethod
    def _plain_number_is_seconds(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            return float(value)
        return value
