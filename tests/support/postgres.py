"""A PostgreSQL server for the tests: TEST_DATABASE_URL when set, else an embedded one."""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg

from impl.db.embedded import embedded_postgres
from impl.db.migrations import connect
from impl.db.url import ConnectionTarget, normalize_database_url, parse_database_url
from tests.support.pgbouncer import PgBouncer


@dataclass(frozen=True)
class PostgresServer:
    """A server the tests may create and drop databases on.

    With a `pooler`, the URL of each database leads through it (`pytest --through-pgbouncer`);
    databases are still created and dropped over `admin_url`, directly.
    """

    admin_url: str
    pooler: PgBouncer | None = None

    def url_for(self, database: str) -> str:
        if self.pooler is not None:
            return self.pooler.url_for(database)
        url = replace(parse_database_url(self.admin_url), database=database)
        return url.render(hide_password=False)

    def direct(self) -> "PostgresServer":
        """The same server, its databases reached without the pooler."""
        return replace(self, pooler=None)

    @contextmanager
    def fresh_database(self, prefix: str = "taskapi_test") -> Iterator[str]:
        """An empty database for the block, dropped afterwards; yields its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        execute(self.admin_url, f'CREATE DATABASE "{name}"')
        try:
            yield self.url_for(name)
        finally:
            execute(self.admin_url, f'DROP DATABASE "{name}" WITH (FORCE)')


def execute(url: str, statement: str) -> None:
    """Run one SQL statement (or block) on its own connection to `url`."""

    async def run() -> None:
        connection = await connect(target(url))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def target(url: str) -> ConnectionTarget:
    return normalize_database_url(url, connect_timeout_seconds=10)


@contextmanager
def postgres_server(
    url_variable: str = "TEST_DATABASE_URL", prefix: str = "taskapi-test-pg-"
) -> Iterator[PostgresServer]:
    """The server named by `url_variable` when it is set, else an embedded one for the block."""
    configured = os.environ.get(url_variable)
    if configured:
        yield PostgresServer(configured)
        return
    # The embedded server runs as its own system user: every parent folder must let it in.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    try:
        with embedded_postgres(root / "data") as url:
            yield PostgresServer(url)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fetch(url: str, statement: str, *arguments: object) -> list[dict[str, Any]]:
    """The rows of one SQL statement run on its own connection to `url`."""

    async def run() -> list[dict[str, Any]]:
        connection = await connect(target(url))
        try:
            return [dict(record) for record in await connection.fetch(statement, *arguments)]
        finally:
            await connection.close()

    return asyncio.run(run())


def unique_violation(url: str, statement: str, *arguments: object) -> str | None:
    """The constraint whose uniqueness one SQL statement violates (it is rolled back), if any."""

    async def run() -> str | None:
        connection = await connect(target(url))
        try:
            await connection.execute(statement, *arguments)
        except asyncpg.UniqueViolationError as error:
            constraint: str = error.constraint_name
            return constraint
        finally:
            await connection.close()
        return None

    return asyncio.run(run())
