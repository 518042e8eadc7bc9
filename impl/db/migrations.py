"""Plain-SQL migrations from sql/: numbered up/down pairs, checksummed, applied under a lock.

`taskapi migrate up|down|status` runs them against DATABASE_URL (or the embedded server). Each
migration runs in its own transaction together with its bookkeeping row. That transaction first
takes a transaction-level advisory lock and reads again what is applied, so runners that start
together apply each migration once, in order; and nothing outlives the transaction, so it works
the same through a pooler in transaction mode (Neon's pooled URL), where a session-level lock
could be taken on one server connection and left held there.

A migration whose files begin with the line `-- no-transaction` holds one statement each that
PostgreSQL refuses to run in a transaction (`CREATE INDEX CONCURRENTLY`). The statement runs on
a second connection while the locked transaction on the first waits to record it: the lock
stays held, by a transaction that has taken no snapshot and no table lock, so the statement
does not wait for it. Its down file must undo any part of its up (`DROP INDEX CONCURRENTLY IF
EXISTS`): it is run before the up, to clear what a run killed mid-statement left (an invalid
index), and after an up that failed, which is then not recorded: fix the cause, migrate again.
"""

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import asyncpg

from impl.db.url import ConnectionTarget
from impl.resources import MIGRATIONS_DIR

logger = logging.getLogger(__name__)

FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.(?P<direction>up|down)\.sql$")
OUTSIDE_A_TRANSACTION = re.compile(r"\A--\s*no-transaction\s*$", re.MULTILINE)
# Any fixed 64-bit number works; this one spells "taskapi" in ASCII.
ADVISORY_LOCK_KEY = 0x7461736B617069
# Released when the transaction ends: a pooler may hand the next transaction to another server
# connection, and a session-level lock would stay behind on this one. Tried, not waited for: a
# runner waiting inside a transaction would keep a pooler's server connection from the runner
# that holds the lock, which needs a second one for a statement outside a transaction.
TRY_LOCK = "SELECT pg_try_advisory_xact_lock($1)"
LOCK_RETRY_SECONDS = (0.05, 1.0)

CREATE_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The migrations on disk and in the database disagree, a file is malformed, or one failed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up_sql: str
    down_sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.up_sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    def sql(self, direction: "Direction") -> str:
        return self.up_sql if direction == "up" else self.down_sql

    def in_transaction(self, direction: "Direction") -> bool:
        return OUTSIDE_A_TRANSACTION.match(self.sql(direction)) is None


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


Direction = Literal["up", "down"]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration in `directory`, oldest first; each must have both an up and a down file.

    None at all is an error: an install without its migrations would serve an empty database.
    """
    files: dict[tuple[int, str], dict[str, str]] = {}
    for path in sorted(directory.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: expected NNNN_name.up.sql or NNNN_name.down.sql")
        key = (int(match["version"]), match["name"])
        files.setdefault(key, {})[match["direction"]] = path.read_text(encoding="utf-8")
    migrations: list[Migration] = []
    for (version, name), sides in sorted(files.items()):
        if set(sides) != {"up", "down"}:
            raise MigrationError(f"{version:04d}_{name}: needs both an up and a down file")
        if migrations and migrations[-1].version == version:
            raise MigrationError(f"two migrations are numbered {version:04d}")
        migrations.append(Migration(version, name, sides["up"], sides["down"]))
    if not migrations:
        raise MigrationError(f"no migrations found in {directory}: the installation is incomplete")
    return migrations


class MigrationRunner:
    """Applies and rolls back `migrations` on one connection, one locked transaction per step.

    Each step (one migration up or down, or one look at what is applied) is a transaction that
    takes the advisory lock first and then reads `schema_migrations`, so it acts on what the
    steps of other processes left, never on what it read before the lock.
    """

    def __init__(
        self,
        connection: asyncpg.Connection,
        migrations: list[Migration],
        connect_another: Callable[[], Awaitable[asyncpg.Connection]],
    ) -> None:
        self._connection = connection
        self._migrations = {m.version: m for m in migrations}
        # For a statement that must run outside the locked transaction.
        self._connect_another = connect_another

    @asynccontextmanager
    async def _locked_step(self) -> AsyncIterator[None]:
        """A transaction holding the lock, with the bookkeeping table there to read."""
        retry_seconds, longest_retry_seconds = LOCK_RETRY_SECONDS
        while True:
            async with self._connection.transaction():
                if await self._connection.fetchval(TRY_LOCK, ADVISORY_LOCK_KEY):
                    await self._connection.execute(CREATE_BOOKKEEPING)
                    yield
                    return
            # Another runner is applying a migration, which may take minutes (an index).
            await asyncio.sleep(retry_seconds)
            retry_seconds = min(2 * retry_seconds, longest_retry_seconds)

    async def applied(self) -> list[AppliedMigration]:
        async with self._locked_step():
            return await self._applied()

    async def _applied(self) -> list[AppliedMigration]:
        rows = await self._connection.fetch(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
        )
        return [AppliedMigration(**row) for row in rows]

    async def _verified_applied(self) -> list[AppliedMigration]:
        """The applied migrations, after checking that none was edited or deleted since."""
        applied = await self._applied()
        for row in applied:
            migration = self._migrations.get(row.version)
            if migration is None:
                raise MigrationError(f"applied migration {row.version:04d}_{row.name} is missing")
            if migration.checksum != row.checksum:
                raise MigrationError(
                    f"{migration.label}.up.sql was edited after it was applied; "
                    "add a new migration instead"
                )
        return applied

    async def verified_applied(self) -> list[AppliedMigration]:
        """The applied migrations, after checking that none was edited or deleted since."""
        async with self._locked_step():
            return await self._verified_applied()

    async def up(self) -> list[Migration]:
        """Apply every pending migration in order; returns those this runner applied.

        Replicas migrating at once take turns migration by migration, so each may apply some;
        every one returns only when none is pending.
        """
        applied_here: list[Migration] = []
        while (migration := await self._up_one()) is not None:
            logger.info("applied migration %s", migration.label)
            applied_here.append(migration)
        return applied_here

    async def _up_one(self) -> Migration | None:
        """Apply the oldest pending migration in one locked transaction; None if there is none."""
        async with self._locked_step():
            done = {row.version for row in await self._verified_applied()}
            pending = [m for v, m in sorted(self._migrations.items()) if v not in done]
            if not pending:
                return None
            migration = pending[0]
            await self._run(migration, "up")
            await self._connection.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
        return migration

    async def down(self, steps: int = 1) -> list[Migration]:
        """Roll back the `steps` most recent migrations; returns those rolled back."""
        rolled_back: list[Migration] = []
        for _ in range(steps):
            migration = await self._down_one()
            if migration is None:
                break
            logger.info("rolled back migration %s", migration.label)
            rolled_back.append(migration)
        return rolled_back

    async def _down_one(self) -> Migration | None:
        """Roll back the latest migration in one locked transaction; None if none is applied."""
        async with self._locked_step():
            applied = await self._verified_applied()
            if not applied:
                return None
            migration = self._migrations[applied[-1].version]
            await self._run(migration, "down")
            await self._connection.execute(
                "DELETE FROM schema_migrations WHERE version = $1", migration.version
            )
        return migration

    async def _run(self, migration: Migration, direction: Direction) -> None:
        """One side of `migration`, inside the locked step's transaction unless it cannot be."""
        if migration.in_transaction(direction):
            await self._connection.execute(migration.sql(direction))
            return
        # A simple query drops the portal of this transaction's last read, whose snapshot would
        # make CREATE INDEX CONCURRENTLY wait for the transaction, and so for itself.
        await self._connection.execute("SELECT")
        other = await self._connect_another()
        try:
            if direction == "down":
                await other.execute(migration.down_sql)
                return
            # What a run killed mid-statement left (an invalid index) goes first.
            await other.execute(migration.down_sql)
            try:
                await other.execute(migration.up_sql)
            except asyncpg.PostgresError as error:
                await other.execute(migration.down_sql)
                raise MigrationError(
                    f"{migration.label}.up.sql failed, and its down file removed what it left: "
                    f"{error}; fix the cause and migrate again"
                ) from error
        finally:
            await other.close()

    async def status(self) -> list[tuple[Migration, AppliedMigration | None]]:
        applied = {row.version: row for row in await self.verified_applied()}
        return [(m, applied.get(v)) for v, m in sorted(self._migrations.items())]


async def connect(target: ConnectionTarget) -> asyncpg.Connection:
    return await asyncpg.connect(target.dsn, **target.connect_args)


@asynccontextmanager
async def locked_runner(
    target: ConnectionTarget, migrations: list[Migration] | None = None
) -> AsyncIterator[MigrationRunner]:
    """A runner on a connection of its own; each of its steps holds the lock while it runs."""
    connection = await connect(target)
    try:
        yield MigrationRunner(
            connection,
            load_migrations() if migrations is None else migrations,
            lambda: connect(target),
        )
    finally:
        await connection.close()


async def migrate(target: ConnectionTarget) -> list[Migration]:
    """Apply pending migrations; returns those applied."""
    async with locked_runner(target) as runner:
        return await runner.up()


async def pending_migrations(
    connection: asyncpg.Connection, migrations: list[Migration]
) -> list[Migration]:
    """Those of `migrations` the database has not applied, read without a lock or a write.

    A migration applied by a newer release, unknown here, is not this release's concern: in an
    expand/contract change the previous release keeps serving on the next one's schema.
    """
    if await connection.fetchval("SELECT to_regclass('schema_migrations') IS NULL"):
        return migrations
    rows = await connection.fetch(
        "/* applied_migrations */ SELECT version, checksum FROM schema_migrations"
    )
    applied = {row["version"]: row["checksum"] for row in rows}
    for migration in migrations:
        checksum = applied.get(migration.version)
        if checksum is not None and checksum != migration.checksum:
            raise MigrationError(
                f"{migration.label} in the database differs from this release's: "
                "the database belongs to another deployment"
            )
    return [m for m in migrations if m.version not in applied]
