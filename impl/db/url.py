"""Turn whatever PostgreSQL URL a user pastes into one that SQLAlchemy + asyncpg accept."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL, make_url

ASYNCPG_DRIVER = "postgresql+asyncpg"
ACCEPTED_SCHEMES = ("postgres", "postgresql", "postgresql+asyncpg")
# libpq sslmode values that asyncpg's `ssl` argument understands as the same words.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# libpq-only parameters asyncpg would otherwise send to the server as settings, and fail on.
DROPPED_PARAMETERS = ("channel_binding", "gssencmode", "sslcert", "sslkey", "sslrootcert")


class DatabaseUrlError(ValueError):
    """The URL is not a PostgreSQL URL this service can use."""


@dataclass(frozen=True)
class ConnectionTarget:
    """An asyncpg-ready SQLAlchemy URL and the arguments its driver needs besides."""

    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)

    def redacted(self) -> str:
        """The URL with its password hidden, for logs."""
        return self.url.render_as_string(hide_password=True)


def normalize_database_url(raw: str, *, connect_timeout_seconds: float) -> ConnectionTarget:
    """Accept `postgres://`, `postgresql://` and Neon's copy-paste URLs (`sslmode=require` ...)."""
    try:
        url = make_url(raw.strip())
    except Exception as error:
        raise DatabaseUrlError("DATABASE_URL is not a valid URL") from error
    if url.drivername not in ACCEPTED_SCHEMES:
        raise DatabaseUrlError(f"DATABASE_URL must be a PostgreSQL URL, not {url.drivername}://")

    query = dict(url.query)
    connect_args: dict[str, Any] = {"timeout": connect_timeout_seconds}
    sslmode = query.pop("sslmode", None)
    if sslmode is not None:
        if not isinstance(sslmode, str) or sslmode not in SSL_MODES:
            raise DatabaseUrlError(f"unsupported sslmode {sslmode!r}; use one of {SSL_MODES}")
        connect_args["ssl"] = sslmode
    timeout = query.pop("connect_timeout", None)
    if isinstance(timeout, str) and timeout.isdigit() and int(timeout) > 0:
        connect_args["timeout"] = float(timeout)
    for name in DROPPED_PARAMETERS:
        query.pop(name, None)
    return ConnectionTarget(
        url=url.set(drivername=ASYNCPG_DRIVER, query=query), connect_args=connect_args
    )
