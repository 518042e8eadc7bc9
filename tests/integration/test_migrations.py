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
    broken = f"{existing[-1] + 1:04d}_broken"
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


RANDOM_TASK_IDS = "0012_random_task_ids"
MAX_SAFE_INTEGER = 2**53 - 1
ADD_TASKS = (
    "INSERT INTO tasks (user_id, title) SELECT 'alice', $1 || n FROM generate_series(1, $2) AS n"
)
IDS_OF = "SELECT id FROM tasks WHERE title LIKE $1 || '%' ORDER BY created_at, title"


def test_random_task_ids_apply_to_new_tasks_only_and_roll_back_to_a_sequence(
    postgres: PostgresServer,
) -> None:
    async def up_then_down(url: str) -> dict[str, Any]:
        migrations = load_migrations()
        at = next(n for n, m in enumerate(migrations) if m.label == RANDOM_TASK_IDS)
        seen: dict[str, Any] = {}
        connection = await connect(target(url))
        try:
            # given tasks numbered by the sequence of the migrations before
            async with locked_runner(target(url), migrations[:at]) as runner:
                await runner.up()
            await connection.execute(ADD_TASKS, "sequential ", 3)
            seen["file_before"] = await connection.fetchval("SELECT pg_relation_filenode('tasks')")
            # when the migration applies, then new tasks draw their ids
            async with locked_runner(target(url), migrations[: at + 1]) as runner:
                await runner.up()
                seen["file_after"] = await connection.fetchval(
                    "SELECT pg_relation_filenode('tasks')"
                )
                await connection.execute(ADD_TASKS, "random ", 20)
                # and when it is rolled back, then the sequence goes on after every id
                await runner.down()
            await connection.execute(ADD_TASKS, "after ", 2)
            for prefix in ("sequential ", "random ", "after "):
                seen[prefix.strip()] = [row["id"] for row in await connection.fetch(IDS_OF, prefix)]
        finally:
            await connection.close()
        return seen

    with postgres.fresh_database() as url:
        seen = asyncio.run(up_then_down(url))

    assert seen["sequential"] == [1, 2, 3]
    assert seen["file_after"] == seen["file_before"], "the table must not be rewritten"
    assert all(1 <= task_id <= MAX_SAFE_INTEGER for task_id in seen["random"])
    assert max(seen["random"]) > 2**40
    highest = max(seen["sequential"] + seen["random"])
    assert seen["after"] == [highest + 1, highest + 2]


UNIQUE_TITLES = "tasks_unique_title_idx"
# A statement outside a transaction that waits on the runner's own transaction never ends.
BOUND_SECONDS = 60


def with_concurrent_unique_index(tmp_path: Path) -> Path:
    """sql/ plus a migration that builds a unique index outside a transaction."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(Path(__file__).resolve().parents[2] / "sql", sql_dir)
    label = f"{load_migrations()[-1].version + 1:04d}_unique_titles"
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


SEARCH_WORDS = "0011_search_words"
SEARCH_WORDS_BACKFILL = "0013_search_words_backfill"
SEARCH_WORDS_INDEX_MIGRATION = "0014_search_words_index"
SEARCH_WORDS_INDEX = "tasks_search_words_idx"
SEARCH_QUERY = "0015_search_query"
# More than two of the backfill's batches of 5,000, over users whose keys interleave.
OLD_TASKS = (
    "INSERT INTO tasks (user_id, title) SELECT 'user_' || (n % 7), 'old ' || n"
    " FROM generate_series(1, 12345) AS n"
)
# What delta sync and If-Match read of a task: filling its words must change none of it.
STAMPS = (
    "SELECT user_id, id, updated_at, version, changed_xid::text AS xid FROM tasks"
    " WHERE title <> 'x@y.com' ORDER BY user_id, id"
)
WORDS = (
    "SELECT title, search_words::text AS words FROM tasks WHERE user_id = 'alice' ORDER BY title"
)
WITHOUT_WORDS = "SELECT count(*) FROM tasks WHERE search_words IS NULL"
SEARCH_WORDS_OBJECTS = """
SELECT to_regprocedure('task_search_words(text, text)') IS NOT NULL AS function,
       EXISTS (SELECT FROM pg_trigger WHERE tgname = 'tasks_search_words') AS trigger,
       EXISTS (SELECT FROM information_schema.columns
               WHERE table_name = 'tasks' AND column_name = 'search_words') AS words_column,
       EXISTS (SELECT FROM information_schema.columns
               WHERE table_name = 'tasks' AND column_name = 'search') AS old_search_column,
       to_regclass('tasks_search_idx') IS NOT NULL AS old_search_index
"""


def test_search_words_reach_tasks_stored_before_and_during_the_rollout_and_roll_back_alone(
    postgres: PostgresServer,
) -> None:
    migrations = load_migrations()
    labels = [m.label for m in migrations]

    def before(label: str) -> list[Migration]:
        return migrations[: labels.index(label)]

    def through(label: str) -> list[Migration]:
        return migrations[: labels.index(label) + 1]

    # The text condition of the list of the release that came with the index, alone: on a few
    # rows, the user's index would win otherwise.
    sql = "SELECT title FROM tasks WHERE search_words @@ (SELECT task_search_query($1::text))"

    async def migrate_step_by_step_then_roll_back(url: str) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        connection = await connect(target(url))

        async def rows(query: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in await connection.fetch(query)]

        try:
            # given tasks stored by the releases before the words, one in NFD
            async with locked_runner(target(url), before(SEARCH_WORDS)) as runner:
                await runner.up()
            await connection.execute(OLD_TASKS)
            await connection.execute(
                "INSERT INTO tasks (user_id, title, description)"
                " VALUES ('alice', 'milk/eggs', NULL), ('alice', 'bread', 'cafe\u0301.au.lait')"
            )
            seen["stamps_before"] = await rows(STAMPS)
            # when the column and its trigger come, and a task is written before the backfill
            async with locked_runner(target(url), through(SEARCH_WORDS)) as runner:
                await runner.up()
            await connection.execute(
                "INSERT INTO tasks (user_id, title) VALUES ('alice', 'x@y.com')"
            )
            seen["words_before_backfill"] = await rows(WORDS)
            # and the backfill and the index follow
            async with locked_runner(target(url), through(SEARCH_WORDS_BACKFILL)) as runner:
                await runner.up()
            seen["words_after_backfill"] = await rows(WORDS)
            seen["without_words"] = await connection.fetchval(WITHOUT_WORDS)
            seen["stamps_after_backfill"] = await rows(STAMPS)
            # then the index, and the migration after it that the list's search needs
            async with locked_runner(target(url), through(SEARCH_QUERY)) as runner:
                await runner.up()
            seen["valid"] = await index_state(url, SEARCH_WORDS_INDEX)
            async with connection.transaction():
                await connection.execute("SET LOCAL enable_seqscan = off")
                plan = await connection.fetch(f"EXPLAIN {sql}", "eggs")
            seen["plan"] = "\n".join(row[0] for row in plan)
            seen["found"] = [
                [row["title"] for row in await connection.fetch(sql, q)] for q in ("eggs", "y.co")
            ]
            # then each rolls back alone, the newest first, after every later one has come
            async with locked_runner(target(url), migrations) as runner:
                await runner.up()
                await runner.down(
                    steps=len(migrations) - labels.index(SEARCH_WORDS_INDEX_MIGRATION)
                )
                seen["index_after_its_down"] = await index_state(url, SEARCH_WORDS_INDEX)
                await runner.down()
                seen["words_after_backfill_down"] = await rows(WORDS)
                await runner.down(
                    steps=labels.index(SEARCH_WORDS_BACKFILL) - labels.index(SEARCH_WORDS)
                )
                seen["objects_after_down"] = dict(await connection.fetchrow(SEARCH_WORDS_OBJECTS))
        finally:
            await connection.close()
        return seen

    with postgres.fresh_database() as url:
        seen = asyncio.run(
            asyncio.wait_for(migrate_step_by_step_then_roll_back(url), BOUND_SECONDS)
        )

    by_label = {m.label: m for m in migrations}
    assert by_label[SEARCH_WORDS].in_transaction("up") is True
    assert by_label[SEARCH_WORDS_BACKFILL].in_transaction("up") is False
    assert by_label[SEARCH_WORDS_INDEX_MIGRATION].in_transaction("up") is False
    assert seen["words_before_backfill"] == [
        ("bread", None),
        ("milk/eggs", None),
        ("x@y.com", "'com':3 'x':1 'y':2"),
    ]
    assert seen["words_after_backfill"] == [
        ("bread", "'au':3 'bread':1 'caf\u00e9':2 'lait':4"),
        ("milk/eggs", "'eggs':2 'milk':1"),
        ("x@y.com", "'com':3 'x':1 'y':2"),
    ]
    assert seen["without_words"] == 0
    assert seen["stamps_after_backfill"] == seen["stamps_before"]
    assert seen["valid"] is True
    assert SEARCH_WORDS_INDEX in seen["plan"], seen["plan"]
    assert seen["found"] == [["milk/eggs"], ["x@y.com"]]
    assert seen["index_after_its_down"] is None
    assert seen["words_after_backfill_down"] == seen["words_after_backfill"]
    assert seen["objects_after_down"] == {
        "function": False,
        "trigger": False,
        "words_column": False,
        "old_search_column": True,
        "old_search_index": True,
    }


TASK_LISTS = "0016_task_lists"
TASK_LISTS_BACKFILL = "0017_task_lists_backfill"
LIST_ID_REQUIRED = "0019_tasks_list_id_required"
# What If-Match and the client read of a task: its list comes without a new version.
VERSIONS = (
    "SELECT user_id, id, updated_at, version FROM tasks WHERE title LIKE 'old %'"
    " ORDER BY user_id, id"
)
IN_THEIR_INBOX = """
SELECT count(*) FILTER (WHERE tasks.list_id IS NULL) AS without_list,
       count(*) FILTER (WHERE inbox.is_inbox AND inbox.user_id = tasks.user_id) AS in_inbox,
       count(*) AS tasks,
       (SELECT count(*) FROM task_lists) AS lists,
       (SELECT count(DISTINCT user_id) FROM task_lists WHERE is_inbox) AS users_with_an_inbox
FROM tasks
LEFT JOIN task_lists AS inbox ON inbox.user_id = tasks.user_id AND inbox.id = tasks.list_id
"""
LIST_ID_COLUMN = """
SELECT is_nullable,
       (SELECT convalidated FROM pg_constraint WHERE conname = 'tasks_list_id_fkey') AS key_valid,
       EXISTS (SELECT FROM pg_constraint WHERE conname = 'tasks_list_id_not_null') AS check_left
FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'list_id'
"""


def test_tasks_stored_before_and_during_the_lists_rollout_land_in_their_owners_inbox(
    postgres: PostgresServer,
) -> None:
    migrations = load_migrations()
    labels = [m.label for m in migrations]

    def through(label: str) -> list[Migration]:
        return migrations[: labels.index(label) + 1]

    async def roll_out_with_writes_meanwhile(url: str) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        connection = await connect(target(url))
        writer = await connect(target(url))

        async def rows(query: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in await connection.fetch(query)]

        async def old_release_writes(rounds: int) -> None:
            # What the release before lists writes: tasks and edits that name no list.
            for n in range(rounds):
                await writer.execute(
                    "INSERT INTO tasks (user_id, title) VALUES ('user_' || ($1::int % 9), 'new')",
                    n,
                )
                await writer.execute(
                    "UPDATE tasks SET title = title WHERE user_id = 'user_3' AND title = 'old 3'"
                )

        try:
            # given tasks stored by the releases before lists
            async with locked_runner(target(url), migrations[: labels.index(TASK_LISTS)]) as runner:
                await runner.up()
            await connection.execute(OLD_TASKS)
            seen["versions_before"] = await rows(VERSIONS)
            # when the lists come, and the old release goes on writing through the backfill
            async with locked_runner(target(url), through(TASK_LISTS)) as runner:
                await runner.up()
            await old_release_writes(5)
            async with locked_runner(target(url), through(TASK_LISTS_BACKFILL)) as runner:
                await asyncio.gather(runner.up(), old_release_writes(50))
            seen["after_backfill"] = dict(await connection.fetchrow(IN_THEIR_INBOX))
            seen["versions_after"] = await rows(VERSIONS)
            # then the index and the constraint
            async with locked_runner(target(url), migrations) as runner:
                await runner.up()
            seen["column"] = dict(await connection.fetchrow(LIST_ID_COLUMN))
            seen["index"] = await index_state(url, "tasks_user_id_list_id_created_at_idx")
            seen["new_task_list"] = await connection.fetchval(
                "INSERT INTO tasks (user_id, title) VALUES ('user_0', 'latest') RETURNING"
                " list_id = (SELECT id FROM task_lists WHERE user_id = 'user_0' AND is_inbox)"
            )
            # and each rolls back alone, the newest first
            async with locked_runner(target(url), migrations) as runner:
                await runner.down(steps=len(migrations) - labels.index(LIST_ID_REQUIRED))
                seen["column_after_down"] = dict(await connection.fetchrow(LIST_ID_COLUMN))
                await runner.down(steps=3)
                seen["lists_after_down"] = await connection.fetchval(
                    "SELECT to_regclass('task_lists') IS NOT NULL"
                )
        finally:
            await connection.close()
            await writer.close()
        return seen

    with postgres.fresh_database() as url:
        seen = asyncio.run(asyncio.wait_for(roll_out_with_writes_meanwhile(url), BOUND_SECONDS))

    by_label = {m.label: m for m in migrations}
    assert by_label[TASK_LISTS_BACKFILL].in_transaction("up") is False
    after = seen["after_backfill"]
    assert after["without_list"] == 0
    assert after["in_inbox"] == after["tasks"] == 12345 + 55
    assert after["lists"] == after["users_with_an_inbox"] == 9
    assert seen["versions_after"] == seen["versions_before"]
    assert seen["column"] == {"is_nullable": "NO", "key_valid": True, "check_left": False}
    assert seen["index"] is True
    assert seen["new_task_list"] is True
    assert seen["column_after_down"] == {
        "is_nullable": "YES",
        "key_valid": False,
        "check_left": True,
    }
    assert seen["lists_after_down"] is False


TASK_POSITIONS = "0020_task_positions"
TASK_POSITIONS_BACKFILL = "0021_task_positions_backfill"
# Each list's tasks in their manual order, and in the order they were created.
MANUAL_ORDER = """
SELECT user_id, list_id, array_agg(id ORDER BY position, id) AS by_position,
       array_agg(id ORDER BY title LIKE 'new%', created_at, id) AS by_creation,
       count(*) FILTER (WHERE position IS NULL) AS without_position
FROM tasks GROUP BY user_id, list_id ORDER BY user_id, list_id
"""


def test_tasks_stored_before_the_manual_order_keep_their_creation_order_and_come_first(
    postgres: PostgresServer,
) -> None:
    migrations = load_migrations()
    labels = [m.label for m in migrations]

    async def roll_out(url: str) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        connection = await connect(target(url))
        try:
            # given tasks stored before positions, in lists
            async with locked_runner(target(url), migrations[: labels.index(TASK_POSITIONS)]) as r:
                await r.up()
            await connection.execute(
                "INSERT INTO tasks (user_id, title, created_at) SELECT 'user_' || (n % 3),"
                " 'old ' || n, now() - (n % 17) * interval '1 minute'"
                " FROM generate_series(1, 600) AS n"
            )
            seen["versions_before"] = [tuple(row) for row in await connection.fetch(VERSIONS)]
            # when positions come, and the previous release writes a task before the backfill
            async with locked_runner(
                target(url), migrations[: labels.index(TASK_POSITIONS) + 1]
            ) as r:
                await r.up()
            await connection.execute("INSERT INTO tasks (user_id, title) VALUES ('user_1', 'new')")
            async with locked_runner(target(url), migrations) as r:
                await r.up()
            seen["order"] = [dict(row) for row in await connection.fetch(MANUAL_ORDER)]
            seen["versions_after"] = [tuple(row) for row in await connection.fetch(VERSIONS)]
            seen["nullable"] = await connection.fetchval(
                "SELECT is_nullable FROM information_schema.columns"
                " WHERE table_name = 'tasks' AND column_name = 'position'"
            )
        finally:
            await connection.close()
        return seen

    with postgres.fresh_database() as url:
        seen = asyncio.run(asyncio.wait_for(roll_out(url), BOUND_SECONDS))

    assert len(seen["order"]) == 3
    for group in seen["order"]:
        assert group["without_position"] == 0
        assert group["by_position"] == group["by_creation"], group
    assert seen["versions_after"] == seen["versions_before"]
    assert seen["nullable"] == "NO"


OWNER_TERMS = "0036_owner_terms"
OWNER_TERMS_INDEX = "tasks_owner_terms_idx"
# Tasks of two users, with words and tags of every kind a client may send.
TERMS_TASKS = """
INSERT INTO tasks (user_id, title, description, tags)
VALUES ('alice', 'Buy milk/eggs', 'x@y.com', ARRAY['home', 'it''s', 'back\\slash', 'a:b c']),
       ('alice', 'Book the dentist', NULL, ARRAY['Ünï', 'home']),
       ('alice', 'Call Bob', 'about the milkman', '{}'),
       ('bob', 'Buy milk', NULL, ARRAY['home', 'it''s'])
"""
# A filter as the release before the owner's terms wrote it, and as this release writes it.
BEFORE_TERMS = (
    "SELECT title FROM tasks WHERE user_id = $1 AND tags @> $2::text[]"
    " AND ($3::text IS NULL OR search_words @@ (SELECT task_search_query($3::text)))"
    " ORDER BY title"
)


def with_terms(user: str, tags: list[str], text: str | None) -> tuple[str, list[Any]]:
    """The same filter as this release writes the part its index serves: the owner's terms
    alone, which name the user in their keys, and its arguments."""
    conditions: list[str] = []
    arguments: list[Any] = [user]
    if tags:
        arguments.append(tags)
        conditions.append(
            "task_owner_terms(user_id, search_words, tags)"
            f" @@ (SELECT task_owner_tags_query($1::text, ${len(arguments)}::text[]))"
        )
    if text is not None:
        arguments.append(text)
        conditions.append(
            "task_owner_terms(user_id, search_words, tags)"
            f" @@ (SELECT task_owner_words_query($1::text, ${len(arguments)}::text))"
        )
    return f"SELECT title FROM tasks WHERE {' AND '.join(conditions)} ORDER BY title", arguments


TERMS_FILTERS: list[tuple[str, list[str], str | None]] = [
    ("alice", ["home"], None),
    ("alice", ["it's"], None),
    ("alice", ["back\\slash", "a:b c"], None),
    ("alice", ["Ünï"], None),
    ("alice", ["ünï"], None),
    ("alice", [], "milk"),
    ("alice", [], "MIL"),
    ("alice", ["home"], "eggs mil"),
    ("alice", [], "y.co"),
    ("alice", [], "!!!"),
    ("bob", ["it's"], "milk"),
    ("bob", [], "dentist"),
]
TERMS_OBJECTS = """
SELECT to_regprocedure('task_owner_terms(text, tsvector, text[])') IS NOT NULL AS terms,
       to_regclass('tasks_owner_terms_idx') IS NOT NULL AS terms_index,
       to_regclass('tasks_tags_idx') IS NOT NULL AS tags_index,
       to_regclass('tasks_search_words_idx') IS NOT NULL AS words_index,
       to_regclass('tasks_search_idx') IS NOT NULL AS old_search_index,
       EXISTS (SELECT FROM information_schema.columns
               WHERE table_name = 'tasks' AND column_name = 'search') AS old_search_column
"""


def test_the_owners_terms_find_what_the_tags_and_words_found_and_roll_back_alone(
    postgres: PostgresServer,
) -> None:
    migrations = load_migrations()
    labels = [m.label for m in migrations]
    before_terms = migrations[: labels.index(OWNER_TERMS)]

    async def roll_out_and_back(url: str) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        connection = await connect(target(url))

        async def found(terms: bool) -> list[list[str]]:
            async with connection.transaction():
                # On a few rows, a plan would read the table whole otherwise.
                await connection.execute("SET LOCAL enable_seqscan = off")
                titles = []
                for arguments in TERMS_FILTERS:
                    sql, bound = with_terms(*arguments) if terms else (BEFORE_TERMS, arguments)
                    titles.append([row["title"] for row in await connection.fetch(sql, *bound)])
                return titles

        try:
            # given tasks stored by the release before the owner's terms
            async with locked_runner(target(url), before_terms) as runner:
                await runner.up()
            await connection.execute(TERMS_TASKS)
            seen["before"] = await found(terms=False)
            # when the terms, their index and the drops come
            async with locked_runner(target(url), migrations) as runner:
                await runner.up()
            seen["valid"] = await index_state(url, OWNER_TERMS_INDEX)
            seen["objects_after_up"] = dict(await connection.fetchrow(TERMS_OBJECTS))
            seen["with_terms"] = await found(terms=True)
            async with connection.transaction():
                await connection.execute("SET LOCAL enable_seqscan = off")
                sql, arguments = with_terms("alice", ["home"], "mil")
                plan = await connection.fetch(f"EXPLAIN {sql}", *arguments)
            seen["plan"] = "\n".join(row[0] for row in plan)
            # then they roll back, the newest first
            async with locked_runner(target(url), migrations) as runner:
                await runner.down(steps=len(migrations) - len(before_terms))
            seen["objects_after_down"] = dict(await connection.fetchrow(TERMS_OBJECTS))
            seen["after_down"] = await found(terms=False)
        finally:
            await connection.close()
        return seen

    with postgres.fresh_database() as url:
        seen = asyncio.run(asyncio.wait_for(roll_out_and_back(url), BOUND_SECONDS))

    assert seen["before"] == [
        ["Book the dentist", "Buy milk/eggs"],
        ["Buy milk/eggs"],
        ["Buy milk/eggs"],
        ["Book the dentist"],
        [],
        ["Buy milk/eggs", "Call Bob"],
        ["Buy milk/eggs", "Call Bob"],
        ["Buy milk/eggs"],
        ["Buy milk/eggs"],
        [],
        ["Buy milk"],
        [],
    ]
    assert seen["with_terms"] == seen["before"]
    assert seen["valid"] is True
    assert OWNER_TERMS_INDEX in seen["plan"], seen["plan"]
    assert seen["objects_after_up"] == {
        "terms": True,
        "terms_index": True,
        "tags_index": False,
        "words_index": False,
        "old_search_index": False,
        "old_search_column": False,
    }
    assert seen["objects_after_down"] == {
        "terms": False,
        "terms_index": False,
        "tags_index": True,
        "words_index": True,
        "old_search_index": True,
        "old_search_column": True,
    }
    assert seen["after_down"] == seen["before"]
