"""Plain-SQL migrations from sql/: numbered up/down pairs, checksummed, applied under a lock.

`python -m impl.db.migrations up|down|status` runs them against DATABASE_URL (or the embedded
server). Each migration runs in its own transaction together with its bookkeeping row. That
transaction first takes a transaction-level advisory lock and reads again what is applied, so
replicas that start together apply each migration once, in order; and nothing outlives the
transaction, so it works the same through a pooler in transaction mode (Neon's pooled URL),
where a session-level lock could be taken on one server connection and left held there.
"""

import argparse
import asyncio
import hashlib
import logging
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from impl.db.url import ConnectionTarget

logger = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.(?P<direction>up|down)\.sql$")
# Any fixed 64-bit number works; this one spells "taskapi" in ASCII.
ADVISORY_LOCK_KEY = 0x7461736B617069
# Released when the transaction ends: a pooler may hand the next transaction to another server
# connection, and a session-level lock would stay behind on this one.
TAKE_LOCK = "SELECT pg_advisory_xact_lock($1)"

CREATE_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The migrations on disk and in the database disagree, or a file is malformed."""


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


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


def load_migrations(directory: Path = SQL_DIR) -> list[Migration]:
    """Every migration in `directory`, oldest first; each must have both an up and a down file."""
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
    return migrations


class MigrationRunner:
    """Applies and rolls back `migrations` on one connection, one locked transaction per step.

    Each step (one migration up or down, or one look at what is applied) is a transaction that
    takes the advisory lock first and then reads `schema_migrations`, so it acts on what the
    steps of other processes left, never on what it read before the lock.
    """

    def __init__(self, connection: asyncpg.Connection, migrations: list[Migration]) -> None:
        self._connection = connection
        self._migrations = {m.version: m for m in migrations}

    @asynccontextmanager
    async def _locked_step(self) -> AsyncIterator[None]:
        """A transaction holding the lock, with the bookkeeping table there to read."""
        async with self._connection.transaction():
            await self._connection.execute(TAKE_LOCK, ADVISORY_LOCK_KEY)
            await self._connection.execute(CREATE_BOOKKEEPING)
            yield

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
            await self._connection.execute(migration.up_sql)
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
            await self._connection.execute(migration.down_sql)
            await self._connection.execute(
                "DELETE FROM schema_migrations WHERE version = $1", migration.version
            )
        return migration

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
        yield MigrationRunner(connection, load_migrations() if migrations is None else migrations)
    finally:
        await connection.close()


async def migrate(target: ConnectionTarget) -> list[Migration]:
    """Apply pending migrations; returns those applied."""
    async with locked_runner(target) as runner:
        return await runner.up()


def _listing(verb: str, migrations: list[Migration]) -> str:
    return f"{verb} {len(migrations)} migration(s)" + "".join(f"\n  {m.label}" for m in migrations)


async def _run_command(target: ConnectionTarget, command: str, steps: int) -> None:
    async with locked_runner(target) as runner:
        if command == "up":
            print(_listing("applied", await runner.up()))
        elif command == "down":
            print(_listing("rolled back", await runner.down(steps)))
        else:
            for migration, row in await runner.status():
                state = f"applied {row.applied_at.isoformat()}" if row else "pending"
                print(f"{migration.label:40} {state}")


def main(argv: list[str] | None = None) -> int:
    from impl.db.embedded import database_target
    from impl.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m impl.db.migrations", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument(
        "--steps", type=int, default=1, help="how many migrations `down` rolls back"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    try:
        with database_target(settings) as target:
            asyncio.run(_run_command(target, args.command, args.steps))
    except MigrationError as error:
        print(f"migration error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
