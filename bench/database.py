"""The benchmark's PostgreSQL: one server, a fresh database per side, the same seed SQL for both."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from impl.db.migrations import connect, migrate
from impl.db.url import normalize_database_url
from tests.support.postgres import PostgresServer

# Users are `user_000001`, ...; the first `list_users` of them hold exactly 50 tasks, so that the
# list figures are "a list of 50"; the others hold 50 to 200. `user_big`, when the data set has
# one, holds `big_user_tasks`. Titles, descriptions, priorities, tags, due dates, timestamps and
# versions vary like a real user's list would: a third of the tasks are completed, half are high
# or urgent (independently), three in four have a due date.
SEED_SQL = """
WITH owned AS (
    SELECT 'user_' || lpad(u::text, 6, '0') AS owner, u, t
    FROM generate_series(1, $1::int) AS u,
         generate_series(1, CASE WHEN u <= $2::int THEN 50 ELSE 50 + (u * 37) % 151 END) AS t
    UNION ALL
    SELECT 'user_big', 0, t FROM generate_series(1, $3::int) AS t
)
INSERT INTO tasks (user_id, id, title, description, completed, created_at, updated_at, priority,
                   tags, due_at, completed_at, version)
SELECT owner,
       -- Ids drawn as the service draws them (at random, within 2^53), but from the seed alone,
       -- so that both sides' databases hold the same ids.
       1 + ('x' || left(md5(owner || '/' || t), 13))::bit(52)::bigint,
       (ARRAY['Buy milk', 'Call the plumber', 'Renew passport', 'Book dentist appointment',
              'Pay electricity bill', 'Water the plants', 'Prepare quarterly report',
              'Reply to Anna about the trip', 'Fix the bike''s back brake',
              'Read chapter 4 of the design book'])[1 + (u + t) % 10] || ' #' || t,
       CASE WHEN (u + t) % 4 = 0 THEN NULL
            ELSE (ARRAY['Two litres, semi-skimmed.',
                        'Before the end of the month, the form is in the blue folder.',
                        'Ask for the morning slot; bring the insurance card.',
                        'Check the figures with finance first, then send the draft to the team '
                        || 'and collect comments by Friday.',
                        'Call back if nobody answers.',
                        'Remember the receipt.'])[1 + (u * 7 + t) % 6]
       END,
       completed,
       created_at,
       updated_at,
       (ARRAY['low', 'medium', 'medium', 'high', 'high', 'urgent'])[1 + (u * 5 + t * 7) % 6]
           ::task_priority,
       CASE (u + t * 3) % 5 WHEN 0 THEN '{}'::text[] WHEN 1 THEN '{home}'
                            WHEN 2 THEN '{work,reports}' WHEN 3 THEN '{errands,home}'
                            ELSE '{health}' END,
       CASE WHEN (u * 11 + t) % 4 = 0 THEN NULL
            ELSE created_at + ((u + t * 13) % 60) * interval '1 day' + (u % 24) * interval '1 hour'
       END,
       CASE WHEN completed THEN updated_at END,
       1 + (u + t) % 4
FROM owned,
     LATERAL (SELECT timestamptz '2026-01-01 08:00+00' + t * interval '7 minutes') AS s(created_at),
     LATERAL (SELECT created_at + (u % 90) * interval '1 hour', (u + t) % 3 = 0)
         AS w(updated_at, completed)
ORDER BY owner, t
"""
# Every user's Inbox, made before their tasks (which go into it), with an id from the seed alone
# as the tasks' are, so that both sides' lists, and the tasks' `list_id`, are the same.
INBOX_SQL = """
INSERT INTO task_lists (user_id, id, name, position, is_inbox)
SELECT owner, 1 + ('x' || left(md5(owner || '/inbox'), 13))::bit(52)::bigint, 'Inbox', 'a0', true
FROM (
    SELECT 'user_' || lpad(u::text, 6, '0') FROM generate_series(1, $1::int) AS u
    UNION ALL
    SELECT 'user_big' WHERE $2::int > 0
) AS owners (owner)
"""
# The listed users' Inboxes, whose first page in the user's order `manual` reads.
LISTS_SQL = """
SELECT user_id, id FROM task_lists WHERE is_inbox AND user_id <= $1 ORDER BY user_id
"""
# The per-user counts that creation's cap and deletion keep, as the seeded rows make them.
COUNT_SQL = """
INSERT INTO task_counts (user_id, task_count)
SELECT user_id, count(*) FROM tasks GROUP BY user_id
ON CONFLICT (user_id) DO UPDATE SET task_count = EXCLUDED.task_count
"""
# Tasks that exist only to be deleted, one per DELETE, spread over the users that are not listed;
# counted, as creating them through the API would.
DELETE_POOL_SQL = """
WITH added AS (
    INSERT INTO tasks (user_id, title)
    SELECT 'user_' || lpad((1 + $2::int + g % ($1::int - $2::int))::text, 6, '0'),
           'Delete me #' || g
    FROM generate_series(1, $3::int) AS g
    RETURNING user_id, id
), counted AS (
    INSERT INTO task_counts AS counts (user_id, task_count)
    SELECT user_id, count(*) FROM added GROUP BY user_id
    ON CONFLICT (user_id) DO UPDATE SET task_count = counts.task_count + EXCLUDED.task_count
)
SELECT user_id, id FROM added ORDER BY id
"""
# Seeded tasks for get, replace and toggle, in a scattered but repeatable order, from the users
# at or after $2: while a data set has users besides the listed ones, the listed users' tasks are
# never written, so that their list and filtered pages stay the same all along (and alike on
# both sides).
TARGETS_SQL = """
SELECT user_id, id FROM tasks WHERE user_id <> 'user_big' AND user_id >= $2
ORDER BY md5(user_id || id::text) LIMIT $1
"""
BIG_USER = "user_big"
TARGET_COUNT = 10_000


@dataclass(frozen=True)
class DataSet:
    """How many users, how many of them hold exactly 50 tasks, and the size of `user_big`."""

    users: int
    list_users: int
    big_user_tasks: int = 0

    def user_id(self, number: int) -> str:
        return f"user_{number:06d}"

    def listed_users(self) -> list[str]:
        return [self.user_id(n) for n in range(1, self.list_users + 1)]

    def other_users(self) -> list[str]:
        return [self.user_id(n) for n in range(self.list_users + 1, self.users + 1)]

    def first_target_user(self) -> str:
        """Targets of get, replace and toggle come from this user on (see TARGETS_SQL)."""
        return self.user_id(self.list_users + 1 if self.users > self.list_users else 1)


# About 135,000 tasks: 200 users with 50, 1,000 users with 50 to 200.
SMALL = DataSet(users=1_200, list_users=200)
# The same, and `user_big` holding as many tasks as a user may (the service's default cap), whose
# walk the deep-page figures read from far in.
THROUGHPUT = DataSet(users=1_200, list_users=200, big_user_tasks=10_000)
# 1,000,000 tasks: 18,000 users with 50 each and one with 100,000 (read-only: no "others").
LARGE = DataSet(users=18_000, list_users=18_000, big_user_tasks=100_000)


@dataclass(frozen=True)
class SeededDatabase:
    url: str
    data: DataSet
    targets: list[tuple[str, int]]
    # (user id, list id): the listed users' Inboxes.
    lists: list[tuple[str, int]]


@contextmanager
def seeded_database(server: PostgresServer, name: str, data: DataSet) -> Iterator[SeededDatabase]:
    """A fresh database with the schema and `data`, dropped after the block."""
    with server.fresh_database(f"taskapi_bench_{name}") as url:
        targets, lists = asyncio.run(_migrate_and_seed(url, data))
        yield SeededDatabase(url, data, targets, lists)


def add_delete_pool(database: SeededDatabase, size: int) -> list[tuple[str, int]]:
    """`size` new tasks for DELETE to remove, each exactly once; returns (user id, task id)."""
    rows = asyncio.run(
        _fetch(database.url, DELETE_POOL_SQL, database.data.users, database.data.list_users, size)
    )
    return [(row["user_id"], row["id"]) for row in rows]


async def _migrate_and_seed(
    url: str, data: DataSet
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    target = normalize_database_url(url, connect_timeout_seconds=10)
    await migrate(target)
    connection = await connect(target)
    try:
        await connection.execute(INBOX_SQL, data.users, data.big_user_tasks)
        await connection.execute(SEED_SQL, data.users, data.list_users, data.big_user_tasks)
        await connection.execute(COUNT_SQL)
        await connection.execute("ANALYZE tasks, task_counts, task_lists")
        rows = await connection.fetch(TARGETS_SQL, TARGET_COUNT, data.first_target_user())
        lists = await connection.fetch(LISTS_SQL, data.user_id(data.list_users))
    finally:
        await connection.close()
    return (
        [(row["user_id"], row["id"]) for row in rows],
        [(row["user_id"], row["id"]) for row in lists],
    )


async def _fetch(url: str, statement: str, *arguments: Any) -> list[asyncpg.Record]:
    connection = await connect(normalize_database_url(url, connect_timeout_seconds=10))
    try:
        rows: list[asyncpg.Record] = await connection.fetch(statement, *arguments)
    finally:
        await connection.close()
    return rows
