"""What a user's list queries cost as the table around them grows: statement time, in PostgreSQL.

The same three users (100 tasks, 10,000 — the default cap — and 100,000, a cap raised tenfold)
are seeded into a table whose other users hold 100,000 tasks, then into one whose other users
hold 10,000,000 (a hundred tasks each: 100,000 users). Each user's rows are spread over the whole
table, as tasks written over months are. Every query is the statement the service sends
(`impl.tasks.queries.list_statement`, a page of 51), prepared and run as asyncpg runs it: after
the first runs PostgreSQL keeps one generic plan. The figure is the time from sending the
prepared statement to the last row, p50 and p99 over the runs after `WARMUP_RUNS`.

Words come from a vocabulary of ten verbs and ten nouns (each in a tenth of the tasks), every
description holds "description", one task in 97 holds "kiwi"; a third of the tasks are tagged
`home`, a third `work` and `errand`, the rest one of 997 rare tags.
"""

import asyncio
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from impl.db.migrations import connect, migrate
from impl.db.url import ConnectionTarget, normalize_database_url
from impl.tasks.listing import PageStart, Sort, TaskFilter
from impl.tasks.queries import list_statement
from tests.support.postgres import PostgresServer

MEASURED_USERS = {"scale_100": 100, "scale_10k": 10_000, "scale_100k": 100_000}
OTHER_USER_TASKS = 100
TABLES = {"baseline": 100_000, "large": 10_000_000}
PAGE = 51
WARMUP_RUNS = 8
# Each query runs MAX_RUNS times, or for BUDGET_SECONDS when that ends first, and at least
# MIN_RUNS times: enough runs for a p99 of the fast queries, a bounded time for the slow.
MAX_RUNS = 400
MIN_RUNS = 40
BUDGET_SECONDS = 2.0
SORTS = ("-created_at", "updated_at", "due_at", "priority", "title", "manual")


@dataclass(frozen=True)
class Query:
    name: str
    task_filter: TaskFilter
    sort: str = "-created_at"
    deep: bool = False


QUERIES = (
    *(Query(f"first page, sort={sort}", TaskFilter(), sort) for sort in SORTS),
    Query("deep page (from the middle)", TaskFilter(), deep=True),
    Query("status=pending", TaskFilter(status="pending")),
    Query("priority=urgent&sort=due_at", TaskFilter(priorities=frozenset({"urgent"})), "due_at"),
    Query("q=milk (common word, 10%)", TaskFilter(text="milk")),
    Query("q=description (every task)", TaskFilter(text="description")),
    Query("q=kiwi (rare word, 1%)", TaskFilter(text="kiwi")),
    Query("tag=home (common tag, 33%)", TaskFilter(tags=frozenset({"home"}))),
    Query("tag=rare5 (rare tag, 0.03%)", TaskFilter(tags=frozenset({"rare5"}))),
)

USERS_SQL = """
CREATE TABLE scale_users AS
SELECT 'other_' || lpad(n::text, 7, '0') AS user_id, n AS number, $1::int AS tasks
FROM generate_series(1, $2::int) AS n
UNION ALL
SELECT user_id, 100000000 + row_number() OVER (), tasks
FROM unnest($3::text[], $4::int[]) AS measured (user_id, tasks)
"""
INBOXES_SQL = """
INSERT INTO task_lists (user_id, id, name, position, is_inbox)
SELECT user_id, 1 + ('x' || left(md5(user_id || '/inbox'), 13))::bit(52)::bigint, 'Inbox', 'a0',
       true
FROM scale_users
"""
# Rows in the order of a timeline that every user's tasks are spread over, so that a user's
# tasks lie on pages of their own, as tasks written over months do (not one user after another).
# The triggers that keep derived rows for the service's writes (history, reminders, counts,
# notifications) are off while the seed runs, and the row's own derived columns are written
# here as the triggers write them: the figures are of reads.
TASKS_SQL = """
INSERT INTO tasks (user_id, id, title, description, completed, created_at, updated_at, priority,
                   tags, due_at, due, overdue_at, completed_at, list_id, position, search_words)
SELECT user_id, id, title, description, completed, created_at, updated_at, priority, tags,
       due_at,
       CASE WHEN due_at IS NOT NULL THEN jsonb_build_object(
           'date', to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
           'time', to_char(due_at AT TIME ZONE 'UTC', 'HH24:MI:SS'),
           'time_zone', 'UTC') END,
       due_at,
       CASE WHEN completed THEN updated_at END,
       1 + ('x' || left(md5(user_id || '/inbox'), 13))::bit(52)::bigint,
       'a' || lpad(t::text, 6, '0'),
       task_search_words(title, description)
FROM (
    SELECT user_id, number, t,
           1 + ('x' || left(md5(user_id || '/' || t), 13))::bit(52)::bigint AS id,
           (ARRAY['buy', 'call', 'fix', 'plan', 'clean', 'book', 'pay', 'send', 'read', 'check'])
               [1 + (number * 7 + t) % 10]
           || ' '
           || (ARRAY['milk', 'plumber', 'passport', 'dentist', 'bill', 'plants', 'report',
                     'trip', 'bike', 'garden'])[1 + (number * 3 + t * 7) % 10]
           || ' #' || t
           || CASE WHEN t % 97 = 0 THEN ' kiwi' ELSE '' END AS title,
           'A description of this task.' AS description,
           (t * 7 + number) % 3 = 0 AS completed,
           moment AS created_at,
           moment + ((t * 13) % 100) * interval '1 hour' AS updated_at,
           (ARRAY['low', 'medium', 'high', 'urgent'])[1 + (t * 5 + number) % 4]::task_priority
               AS priority,
           CASE t % 3 WHEN 0 THEN ARRAY['home'] WHEN 1 THEN ARRAY['work', 'errand']
                ELSE ARRAY['rare' || (number * 31 + t) % 997] END AS tags,
           CASE WHEN t % 4 = 0 THEN NULL
                ELSE moment + ((t * 11) % 60) * interval '1 day' END AS due_at
    FROM scale_users,
         generate_series(1, tasks) AS t,
         LATERAL (SELECT timestamptz '2026-01-01 00:00+00'
                         + (t - 0.5) / tasks * interval '300 days'
                         + number * interval '1 millisecond') AS m (moment)
    ORDER BY (t - 0.5) / tasks, number
) AS seeded
"""
SECONDARY_INDEXES_SQL = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = 'tasks'
  AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'tasks'::regclass)
"""
# What the table and each of its indexes take on disk, MiB.
SIZES_SQL = """
SELECT relname AS name, round(pg_relation_size(oid) / 1048576.0, 1)::float8 AS mib
FROM pg_class
WHERE oid = 'tasks'::regclass
   OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'tasks'::regclass)
ORDER BY relname
"""
MIDDLE_SQL = """
SELECT created_at, id FROM tasks WHERE user_id = $1
ORDER BY created_at DESC, id DESC OFFSET (SELECT count(*) / 2 FROM tasks WHERE user_id = $1)
LIMIT 1
"""


def measure_query_scale(postgres: PostgresServer, tables: dict[str, int]) -> dict[str, Any]:
    """p50 and p99 (ms) of every query, per table and user, and each large over baseline.

    Both tables are seeded first; then each query runs on one and on the other in turn, so
    that whatever else the machine does meanwhile weighs on both alike.
    """
    figures: dict[str, Any] = {}
    with ExitStack() as stack:
        targets = {}
        for table, others in tables.items():
            print(f"  query_scale: seeding {others:,} other users' tasks", flush=True)
            target, seconds = stack.enter_context(seeded(postgres, f"query_scale_{table}", others))
            print(f"  query_scale: seeded in {seconds:.0f} s", flush=True)
            targets[table] = target
            figures[table] = {
                "other_tasks": others,
                "seed_seconds": round(seconds),
                "mib": asyncio.run(_sizes(target)),
            }
        print("  query_scale: measuring", flush=True)
        for table, users in asyncio.run(_measure(targets)).items():
            figures[table]["users"] = users
    baseline, large = (figures[table]["users"] for table in tables)
    figures["large_over_baseline"] = {
        user: {
            query: {
                key: round(large[user][query][key] / baseline[user][query][key], 2)
                for key in ("p50_ms", "p99_ms")
            }
            for query in baseline[user]
        }
        for user in baseline
    }
    return figures


@contextmanager
def seeded(
    postgres: PostgresServer, name: str, others: int
) -> Iterator[tuple[ConnectionTarget, float]]:
    """A fresh database seeded with `others` other users' tasks and the measured users', and
    how long the seed took."""
    with postgres.fresh_database(name) as url:
        target = normalize_database_url(url, connect_timeout_seconds=10)
        started = time.monotonic()
        asyncio.run(_seed(target, others))
        yield target, time.monotonic() - started


async def _seed(target: ConnectionTarget, others: int) -> None:
    await migrate(target)
    connection = await connect(target)
    try:
        await connection.execute(
            "SET maintenance_work_mem = '1GB'; SET work_mem = '512MB';"
            " SET max_parallel_maintenance_workers = 2"
        )
        await connection.execute(
            USERS_SQL,
            OTHER_USER_TASKS,
            others // OTHER_USER_TASKS,
            list(MEASURED_USERS),
            list(MEASURED_USERS.values()),
        )
        await connection.execute(INBOXES_SQL)
        # A bulk load: the secondary indexes are built once from the whole table, after it.
        indexes = await connection.fetch(SECONDARY_INDEXES_SQL)
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        await connection.execute("ALTER TABLE tasks DISABLE TRIGGER USER")
        await connection.execute(TASKS_SQL)
        await connection.execute("ALTER TABLE tasks ENABLE TRIGGER USER")
        for index in indexes:
            await connection.execute(index["indexdef"])
        await connection.execute("DROP TABLE scale_users")
        await connection.execute("VACUUM (ANALYZE) tasks")
        await connection.execute("VACUUM (ANALYZE) task_lists")
    finally:
        await connection.close()


async def _sizes(target: ConnectionTarget) -> dict[str, float]:
    connection = await connect(target)
    try:
        return {row["name"]: row["mib"] for row in await connection.fetch(SIZES_SQL)}
    finally:
        await connection.close()


Timings = dict[str, dict[str, dict[str, float]]]


async def _measure(targets: dict[str, ConnectionTarget]) -> dict[str, Timings]:
    """Per table, user and query: its figures."""
    connections = {table: await connect(target) for table, target in targets.items()}
    try:
        results: dict[str, Timings] = {table: {} for table in targets}
        for user in MEASURED_USERS:
            for table in connections:
                results[table][user] = {}
            # The same user's rows in every table: the same cursor.
            middle = await next(iter(connections.values())).fetchrow(MIDDLE_SQL, user)
            for query in QUERIES:
                start = PageStart(middle["created_at"], middle["id"]) if query.deep else None
                timed = await _timed(connections, user, query, start)
                for table, figures in timed.items():
                    results[table][user][query.name] = figures
        return results
    finally:
        for connection in connections.values():
            await connection.close()


async def _timed(
    connections: dict[str, asyncpg.Connection], user: str, query: Query, start: PageStart | None
) -> dict[str, dict[str, float]]:
    """The query's figures on each connection, run on one and on the other in turn."""
    sql, arguments = list_statement(user, query.task_filter, Sort.parse(query.sort), start, PAGE)
    statements = {table: await c.prepare(sql) for table, c in connections.items()}
    for statement in statements.values():
        for _ in range(WARMUP_RUNS):
            await statement.fetch(*arguments)
    times: dict[str, list[float]] = {table: [] for table in statements}
    runs = 0
    until = time.monotonic() + BUDGET_SECONDS * len(statements)
    while runs < MAX_RUNS and (runs < MIN_RUNS or time.monotonic() < until):
        for table, statement in statements.items():
            began = time.perf_counter()
            await statement.fetch(*arguments)
            times[table].append(1000 * (time.perf_counter() - began))
        runs += 1
    return {
        table: {
            "p50_ms": round(statistics.median(runs_ms), 3),
            "p99_ms": round(statistics.quantiles(runs_ms, n=100)[98], 3),
            "runs": len(runs_ms),
        }
        for table, runs_ms in times.items()
    }
