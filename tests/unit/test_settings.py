"""Settings come from the environment; a weak secret is refused."""

from typing import Any

import pytest
from pydantic import ValidationError

from impl.settings import Settings


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_secret_of_31_bytes_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        settings(better_auth_secret="x" * 31)


def test_secret_counts_bytes_not_characters() -> None:
    with pytest.raises(ValidationError):
        settings(better_auth_secret="é" * 15)  # 30 bytes

    secret = settings(better_auth_secret="é" * 16).better_auth_secret
    assert secret is not None
    assert secret.get_secret_value() == "é" * 16


def test_secret_is_masked_when_printed() -> None:
    configured = settings(better_auth_secret="x" * 40, database_url="postgresql://u:pw@h/db")

    assert "x" * 40 not in repr(configured)
    assert "pw" not in repr(configured)


def test_defaults() -> None:
    configured = settings(better_auth_secret="x" * 32)

    assert configured.database_url is None
    assert (configured.api_host, configured.api_port) == ("127.0.0.1", 8000)
    assert configured.max_body_bytes == 65536
    assert configured.cors_origins == []
    assert configured.migrate_on_startup is True


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BETTER_AUTH_SECRET", "y" * 32)
    monkeypatch.setenv("CORS_ORIGINS", "http://localhost:3000, https://app.example.com")
    monkeypatch.setenv("DATABASE_URL", "  ")
    monkeypatch.setenv("API_PORT", "9000")

    configured = Settings(_env_file=None)

    assert configured.cors_origins == ["http://localhost:3000", "https://app.example.com"]
    assert configured.database_url is None
    assert configured.api_port == 9000


def test_log_level_is_one_of_pythons_and_case_insensitive() -> None:
    assert settings(better_auth_secret="x" * 32, log_level="debug").log_level == "DEBUG"

    with pytest.raises(ValidationError):
        settings(better_auth_secret="x" * 32, log_level="chatty")
