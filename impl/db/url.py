"""Turn whatever PostgreSQL URL a user pastes into one that asyncpg accepts."""

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

ACCEPTED_SCHEMES = ("postgres", "postgresql", "postgresql+asyncpg")
# libpq sslmode values that asyncpg's `ssl` argument understands as the same words.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# libpq-only parameters asyncpg would otherwise send to the server as settings, and fail on.
DROPPED_PARAMETERS = ("channel_binding", "gssencmode", "sslcert", "sslkey", "sslrootcert")


class DatabaseUrlError(ValueError):
    """The URL is not a PostgreSQL URL this service can use."""


@dataclass(frozen=True)
class DatabaseUrl:
    """The parts of a PostgreSQL URL; `query` keeps what asyncpg reads itself (`host=/socket`)."""

    user: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str | None
    query: dict[str, str] = field(default_factory=dict)

    def render(self, *, hide_password: bool) -> str:
        credentials = ""
        if self.user is not None:
            credentials = quote(self.user, safe="")
            if self.password is not None:
                secret = "***" if hide_password else quote(self.password, safe="")
                credentials += f":{secret}"
            credentials += "@"
        host = f"[{self.host}]" if self.host and ":" in self.host else (self.host or "")
        port = f":{self.port}" if self.port is not None else ""
        database = quote(self.database, safe="") if self.database else ""
        query = f"?{urlencode(self.query)}" if self.query else ""
        return f"postgresql://{credentials}{host}{port}/{database}{query}"


@dataclass(frozen=True)
class ConnectionTarget:
    """An asyncpg-ready URL and the arguments its driver needs besides."""

    url: DatabaseUrl
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def dsn(self) -> str:
        """The URL as asyncpg takes it (the password included: never log this)."""
        return self.url.render(hide_password=False)

    def redacted(self) -> str:
        """The URL with its password hidden, for logs."""
        return self.url.render(hide_password=True)


def parse_database_url(raw: str) -> DatabaseUrl:
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError as error:
        raise DatabaseUrlError("DATABASE_URL is not a valid URL") from error
    if parts.scheme not in ACCEPTED_SCHEMES:
        shown = f"{parts.scheme}://" if parts.scheme else "a URL without a scheme"
        raise DatabaseUrlError(f"DATABASE_URL must be a PostgreSQL URL, not {shown}")
    return DatabaseUrl(
        user=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname,
        port=port,
        database=unquote(parts.path.lstrip("/")) or None,
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
    )


def normalize_database_url(raw: str, *, connect_timeout_seconds: float) -> ConnectionTarget:
    """Accept `postgres://`, `postgresql://` and Neon's copy-paste URLs (`sslmode=require` ...)."""
    url = parse_database_url(raw)
    query = dict(url.query)
    connect_args: dict[str, Any] = {"timeout": connect_timeout_seconds}
    sslmode = query.pop("sslmode", None)
    if sslmode is not None:
        if sslmode not in SSL_MODES:
            raise DatabaseUrlError(f"unsupported sslmode {sslmode!r}; use one of {SSL_MODES}")
        connect_args["ssl"] = sslmode
    timeout = query.pop("connect_timeout", None)
    if timeout is not None and timeout.isdigit() and int(timeout) > 0:
        connect_args["timeout"] = float(timeout)
    for name in DROPPED_PARAMETERS:
        query.pop(name, None)
    return ConnectionTarget(url=replace(url, query=query), connect_args=connect_args)
