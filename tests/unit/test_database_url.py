"""Whatever PostgreSQL URL a user pastes becomes one asyncpg accepts."""

import pytest

from impl.db.url import DatabaseUrlError, normalize_database_url

NEON_URL = (
    "postgresql://neondb_owner:npg_secret@ep-cool-name-a1b2c3d4.eu-central-1.aws.neon.tech/neondb"
    "?sslmode=require&channel_binding=require"
)


def test_neon_url_as_pasted_is_translated_for_asyncpg() -> None:
    target = normalize_database_url(NEON_URL, connect_timeout_seconds=5)

    assert target.dsn == (
        "postgresql://neondb_owner:npg_secret@ep-cool-name-a1b2c3d4.eu-central-1.aws.neon.tech/neondb"
    )
    assert target.url.host == "ep-cool-name-a1b2c3d4.eu-central-1.aws.neon.tech"
    assert target.url.database == "neondb"
    assert dict(target.url.query) == {}
    assert target.connect_args == {"ssl": "require", "timeout": 5}


def test_neon_pooled_url_as_pasted_gets_the_same_treatment() -> None:
    """The `-pooler` host is PgBouncer in transaction mode; nothing changes for it (see
    tests/integration/test_transaction_pooling.py for why that is safe)."""
    pooled = NEON_URL.replace("-a1b2c3d4.", "-a1b2c3d4-pooler.")

    target = normalize_database_url(pooled, connect_timeout_seconds=5)

    assert target.url.host == "ep-cool-name-a1b2c3d4-pooler.eu-central-1.aws.neon.tech"
    assert dict(target.url.query) == {}
    assert target.connect_args == {"ssl": "require", "timeout": 5}


def test_password_is_hidden_when_redacted() -> None:
    target = normalize_database_url(NEON_URL, connect_timeout_seconds=5)

    assert "npg_secret" not in target.redacted()
    assert target.url.password == "npg_secret"


def test_reserved_characters_in_credentials_survive() -> None:
    target = normalize_database_url(
        "postgresql://app%40corp:p%2Fss%3Aw%40rd@db.example.com/tasks", connect_timeout_seconds=5
    )

    assert (target.url.user, target.url.password) == ("app@corp", "p/ss:w@rd")
    assert target.dsn == "postgresql://app%40corp:p%2Fss%3Aw%40rd@db.example.com/tasks"


def test_ipv6_host_keeps_its_brackets() -> None:
    target = normalize_database_url("postgresql://u@[::1]:5432/db", connect_timeout_seconds=5)

    assert target.dsn == "postgresql://u@[::1]:5432/db"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+asyncpg"])
def test_postgresql_schemes_are_accepted(scheme: str) -> None:
    target = normalize_database_url(f"{scheme}://u:p@localhost:5433/db", connect_timeout_seconds=5)

    assert target.dsn == "postgresql://u:p@localhost:5433/db"


def test_unix_socket_host_parameter_is_kept() -> None:
    target = normalize_database_url(
        "postgresql://postgres:@/postgres?host=/run/postgresql", connect_timeout_seconds=5
    )

    assert target.dsn == "postgresql://postgres:@/postgres?host=%2Frun%2Fpostgresql"


def test_connect_timeout_parameter_becomes_the_driver_timeout() -> None:
    target = normalize_database_url(
        "postgresql://u@h/db?connect_timeout=12", connect_timeout_seconds=5
    )

    assert target.connect_args["timeout"] == 12.0
    assert "connect_timeout" not in target.url.query


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:p@h/db",
        "sqlite:///tmp.db",
        "not a url",
        "postgresql://h/db?sslmode=bogus",
        "postgresql://h:99999/db",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(DatabaseUrlError):
        normalize_database_url(url, connect_timeout_seconds=5)
