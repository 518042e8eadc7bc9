"""Settings come from the environment; a weak secret is refused."""

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from impl.settings import Settings


@pytest.fixture(autouse=True)
def no_setting_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the caller's shell exports (a DATABASE_URL, an API_PORT) is not what a test says."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


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
    assert configured.migrate_on_startup is None


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


ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
SHIPPED_NAMES = re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE)
A_SECRET = "s" * 32


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting inherited from the environment the tests run in."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_env_example_as_shipped_is_a_valid_configuration(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    # given .env.example as `make run` copies it, with the one secret it fills in
    clean_environment.setenv("BETTER_AUTH_SECRET", A_SECRET)

    # when it is read
    configured = Settings(_env_file=ENV_EXAMPLE)

    # then every setting it leaves empty has its default
    assert configured == Settings(_env_file=None)


def test_env_example_names_only_real_settings() -> None:
    assert SHIPPED_NAMES
    assert {name.lower() for name in SHIPPED_NAMES} <= set(Settings.model_fields)


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_a_setting_left_empty_is_unset(name: str, clean_environment: pytest.MonkeyPatch) -> None:
    # given a valid configuration without the setting (one that does not need it)
    if name == "BETTER_AUTH_SECRET":
        base = {"AUTH_MODE": "jwks", "JWKS_URL": "http://127.0.0.1/jwks", "CURSOR_SECRET": A_SECRET}
    else:
        base = {"BETTER_AUTH_SECRET": A_SECRET}
    for variable, value in base.items():
        clean_environment.setenv(variable, value)
    without = Settings(_env_file=None)

    # when it is given as `NAME=`
    clean_environment.setenv(name, "")

    # then it is as if it were not given at all
    assert Settings(_env_file=None) == without
