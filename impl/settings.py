"""Configuration, read once from the environment (and `.env`)."""

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Every setting the service reads; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL; unset means an embedded server under EMBEDDED_DB_DIR.",
    )
    better_auth_secret: SecretStr = Field(description="HS256 secret shared with Better Auth.")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_workers: int = Field(default=1, ge=1, description="Worker processes of `serve`.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1)
    db_pool_size: int = Field(default=10, ge=1, description="Connections per worker process.")
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    migrate_on_startup: bool = True
    max_tasks_per_user: int = Field(default=10_000, ge=1, description="Per-user cap on tasks.")
    sync_retention: timedelta = Field(
        default=timedelta(days=30),
        gt=timedelta(0),
        description="How long deleted ids (and so sync tokens) are kept: seconds or ISO 8601.",
    )
    idempotency_key_ttl: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description="How long an Idempotency-Key replays its first answer: seconds or ISO 8601.",
    )
    embedded_db_dir: Path = Path(".data/postgres")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("better_auth_secret")
    @classmethod
    def _secret_is_long_enough(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
        return secret

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

    @field_validator("database_url", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
