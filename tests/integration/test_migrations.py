"""sql/ migrations: reversible, checksummed, and applied once even by replicas starting together."""

import asyncio
import shutil
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from impl.db.migrations import (
    Migration,
    MigrationError,
    connect,
    load_migrations,
    locked_runner,
    migrate,
)
from tests.support.postgres import PostgresServer, target

SCHEMA_QUERY = """
SELECT 'column' AS kind, table_name || '.' || column_name AS name,
       concat_ws(' ', data_type, is_nullable, column_default, is_identity) AS definition
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass || '.' || conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index', tablename || '.' || indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
ORDER BY 1, 2
"""


async def schema_of(url: str) -> list[tuple[Any, ...]]:
    connection = await connect(target(url))
    try:
        rows = await connection.fetch(SCHEMA_QUERY)
    finally:
        await connection.close()
    return [tuple(row) for row in rows if not row["name"].startswith("schema_migrations")]


async def up_down_up(url: str) -> tuple[list[tuple[Any, ...]], ...]:
    migrations = load_migrations()
    async with locked_runner(target(url), migrations) as runner:
        empty = await schema_of(url)
        await runner.up()
        first = await schema_of(url)
        await runner.down(steps=len(migrations))
        after_down = await schema_of(url)
        await runner.up()
        second = await schema_of(url)
    return empty, first, after_down, second


def test_up_down_up_leaves_the_same_schema(postgres: PostgresServer) -> None:
    with postgres.fresh_database() as url:
        empty, first, after_down, second = asyncio.run(up_down_up(url))

    assert empty == []
    assert any(kind == "index" and name == "tasks.tasks_pkey" for kind, name, _ in first)
    assert after_down == empty
    assert second == first


def test_migrate_twice_applies_nothing_the_second_time(postgres: PostgresServer) -> None:
    with postgres.fresh_database() as url:
        first = asyncio.run(migrate(target(url)))
        second = asyncio.run(migrate(target(url)))

    assert [m.label for m in first] == [m.label for m in load_migrations()]
    assert second == []


def test_replicas_migrating_at_once_apply_each_migration_once(postgres: PostgresServer) -> None:
    async def four_replicas(url: str) -> list[list[str]]:
        results = await asyncio.gather(*(migrate(target(url)) for _ in range(4)))
        return [[m.label for m in applied] for applied in results]

    with postgres.fresh_database() as url:
        shares = asyncio.run(four_replicas(url))
        again = asyncio.run(migrate(target(url)))

    # They take turns migration by migration: together they applied each one once, each its
    # share in order, and nothing was left pending.
    labels = [m.label for m in load_migrations()]
    assert sorted(label for share in shares for label in share) == labels
    assert all(share == sorted(share) for share in shares)
    assert again == []


def test_edited_applied_migration_is_refused(postgres: PostgresServer, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(Path(__file__).resolve().parents[2] / "sql", sql_dir)
    up_file = next(sql_dir.glob("0001_*.up.sql"))

    async def apply_then_edit(url: str) -> None:
        async with locked_runner(target(url), load_migrations(sql_dir)) as runner:
            await runner.up()
        up_file.write_text(up_file.read_text() + "\n-- edited\n")
        async with locked_runner(target(url), load_migrations(sql_dir)) as runner:
            await runner.up()

    with postgres.fresh_database() as url, pytest.raises(MigrationError, match="was edited"):
        asyncio.run(apply_then_edit(url))


def test_applied_migration_missing_from_disk_is_refused(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    async def apply_then_forget(url: str) -> None:
        async with locked_runner(target(url)) as runner:
            await runner.up()
        async with locked_runner(target(url), []) as runner:
            await runner.status()

    with postgres.fresh_database() as url, pytest.raises(MigrationError, match="is missing"):
        asyncio.run(apply_then_forget(url))


def test_failing_migration_leaves_nothing_behind(postgres: PostgresServer, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(Path(__file__).resolve().parents[2] / "sql", sql_dir)
    existing = [m.version for m in load_migrations()]
    broken = f"{len(existing) + 1:04d}_broken"
    (sql_dir / f"{broken}.up.sql").write_text("CREATE TABLE half_done (id int);\nSELECT 1/0;\n")
    (sql_dir / f"{broken}.down.sql").write_text("DROP TABLE half_done;\n")

    async def apply(url: str) -> list[tuple[Any, ...]]:
        async with locked_runner(target(url), load_migrations(sql_dir)) as runner:
            with pytest.raises(Exception, match="division by zero"):
                await runner.up()
            applied = [row.version for row in await runner.applied()]
        assert applied == existing
        return await schema_of(url)

    with postgres.fresh_database() as url:
        schema = asyncio.run(apply(url))

    assert not any(name.startswith("half_done") for _, name, _ in schema)


async def each_migration_up_down_up(url: str) -> list[tuple[str, bool, bool]]:
    """For each migration in turn, on top of the ones before it: up, down, up again."""
    migrations = load_migrations()
    verdicts: list[tuple[str, bool, bool]] = []
    for count, migration in enumerate(migrations, start=1):
        async with locked_runner(target(url), migrations[:count]) as runner:
            before = await schema_of(url)
            await runner.up()
            after_up = await schema_of(url)
            await runner.down(steps=1)
            after_down = await schema_of(url)
            await runner.up()
            again = await schema_of(url)
        verdicts.append((migration.label, after_down == before, again == after_up))
    return verdicts


def test_each_migration_goes_up_down_and_up_again(postgres: PostgresServer) -> None:
    with postgres.fresh_database() as url:
        verdicts = asyncio.run(each_migration_up_down_up(url))

    assert [label for label, _, _ in verdicts] == [m.label for m in load_migrations()]
    assert all(down_restores for _, down_restores, _ in verdicts), verdicts
    assert all(up_again_same for _, _, up_again_same in verdicts), verdicts


def test_migrations_keep_existing_tasks_and_fill_the_new_fields(postgres: PostgresServer) -> None:
    async def migrate_with_tasks(url: str) -> list[asyncpg.Record]:
        migrations = load_migrations()
        async with locked_runner(target(url), migrations[:2]) as runner:
            await runner.up()
        connection = await connect(target(url))
        try:
            await connection.execute(
                "INSERT INTO tasks (user_id, title, completed) VALUES"
                " ('alice', 'open', false), ('alice', 'done', true), ('bob', 'b', false)"
            )
            await migrate(target(url))
            rows: list[asyncpg.Record] = await connection.fetch(
                "SELECT t.title, t.priority::text, t.tags, t.version, t.completed_at IS NOT NULL"
                " AS has_completed_at, c.task_count FROM tasks t"
                " JOIN task_counts c USING (user_id) ORDER BY t.id"
            )
            return rows
        finally:
            await connection.close()

    with postgres.fresh_database() as url:
        rows = asyncio.run(migrate_with_tasks(url))

    assert [tuple(row) for row in rows] == [
        ("open", "medium", [], 1, False, 2),
        ("done", "medium", [], 1, True, 2),
        ("b", "medium", [], 1, False, 1),
    ]


UNIQUE_TITLES = "tasks_unique_title_idx"
# A statement outside a transaction that waits on the runner's own transaction never ends.
BOUND_SECONDS = 60


def with_concurrent_unique_index(tmp_path: Path) -> Path:
    """sql/ plus a migration that builds a unique index outside a transaction."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(Path(__file__).resolve().parents[2] / "sql", sql_dir)
    label = f"{len(load_migrations()) + 1:04d}_unique_titles"
    (sql_dir / f"{label}.up.sql").write_text(
        "-- no-transaction\n"
        f"CREATE UNIQUE INDEX CONCURRENTLY {UNIQUE_TITLES} ON tasks (user_id, title);\n"
    )
    (sql_dir / f"{label}.down.sql").write_text(
        f"-- no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS {UNIQUE_TITLES};\n"
    )
    return sql_dir


async def index_state(url: str, name: str) -> bool | None:
    """Whether the index is valid; None when there is no such index."""
    connection = await connect(target(url))
    try:
        valid: bool | None = await connection.fetchval(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = $1",
            name,
        )
        return valid
    finally:
        await connection.close()


async def run_sql(url: str, *statements: str) -> None:
    connection = await connect(target(url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


DUPLICATE_TITLES = "INSERT INTO tasks (user_id, title) VALUES ('alice', 'same'), ('alice', 'same')"


def test_runners_together_apply_a_migration_outside_a_transaction_once(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    migrations = load_migrations(with_concurrent_unique_index(tmp_path))

    async def runners_together(url: str) -> list[list[str]]:
        async def one_runner() -> list[str]:
            async with locked_runner(target(url), migrations) as runner:
                return [m.label for m in await runner.up()]

        return list(await asyncio.gather(*(one_runner() for _ in range(3))))

    with postgres.fresh_database() as url:
        shares = asyncio.run(asyncio.wait_for(runners_together(url), BOUND_SECONDS))
        valid = asyncio.run(index_state(url, UNIQUE_TITLES))

    assert sorted(label for share in shares for label in share) == [m.label for m in migrations]
    assert valid is True


def test_a_failed_migration_outside_a_transaction_leaves_no_invalid_index(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    migrations = load_migrations(with_concurrent_unique_index(tmp_path))

    async def fail_then_fix(url: str) -> tuple[bool | None, list[int], list[Migration]]:
        # given every migration but the last, and tasks that break its unique index
        async with locked_runner(target(url), migrations[:-1]) as runner:
            await runner.up()
        await run_sql(url, DUPLICATE_TITLES)
        async with locked_runner(target(url), migrations) as runner:
            # when it runs, it fails
            with pytest.raises(MigrationError, match="could not create unique index"):
                await runner.up()
            left = await index_state(url, UNIQUE_TITLES)
            recorded = [row.version for row in await runner.applied()]
            # and once the cause is fixed, a second run applies it
            await run_sql(url, "DELETE FROM tasks WHERE id = (SELECT max(id) FROM tasks)")
            applied = await runner.up()
        return left, recorded, applied

    with postgres.fresh_database() as url:
        left, recorded, applied = asyncio.run(asyncio.wait_for(fail_then_fix(url), BOUND_SECONDS))
        valid = asyncio.run(index_state(url, UNIQUE_TITLES))

    assert left is None, "the invalid index the failed build left must be dropped"
    assert recorded == [m.version for m in migrations[:-1]]
    assert applied == migrations[-1:]
    assert valid is True


def test_what_a_killed_migration_left_is_cleared_before_it_runs_again(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    migrations = load_migrations(with_concurrent_unique_index(tmp_path))

    async def leftover_then_migrate(url: str) -> tuple[bool | None, list[Migration]]:
        async with locked_runner(target(url), migrations[:-1]) as runner:
            await runner.up()
        # given the invalid index a build stopped half-way leaves behind
        await run_sql(url, DUPLICATE_TITLES)
        with pytest.raises(asyncpg.UniqueViolationError):
            await run_sql(url, migrations[-1].up_sql)
        await run_sql(url, "DELETE FROM tasks WHERE id = (SELECT max(id) FROM tasks)")
        left = await index_state(url, UNIQUE_TITLES)
        # when the runner applies the migration
        async with locked_runner(target(url), migrations) as runner:
            return left, await runner.up()

    with postgres.fresh_database() as url:
        left, applied = asyncio.run(asyncio.wait_for(leftover_then_migrate(url), BOUND_SECONDS))
        valid = asyncio.run(index_state(url, UNIQUE_TITLES))

    assert left is False
    assert applied == migrations[-1:]
    assert valid is True
