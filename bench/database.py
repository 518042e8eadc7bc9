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
# list figures are "a list of 50"; the others hold 50 to 200. `user_big` exists only in the
# scale data set. Titles, descriptions and timestamps vary like a real user's list would.
SEED_SQL = """
WITH owned AS (
    SELECT 'user_' || lpad(u::text, 6, '0') AS owner, u, t
    FROM generate_series(1, $1::int) AS u,
         generate_series(1, CASE WHEN u <= $2::int THEN 50 ELSE 50 + (u * 37) % 151 END) AS t
    UNION ALL
    SELECT 'user_big', 0, t FROM generate_series(1, $3::int) AS t
)
INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at)
SELECT owner,
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
       (u + t) % 3 = 0,
       created_at,
       created_at + (u % 90) * interval '1 hour'
FROM owned,
     LATERAL (SELECT timestamptz '2026-01-01 08:00+00' + t * interval '7 minutes') AS s(created_at)
ORDER BY owner, t
"""
# Tasks that exist only to be deleted, one per DELETE, spread over the users that are not listed.
DELETE_POOL_SQL = """
INSERT INTO tasks (user_id, title)
SELECT 'user_' || lpad((1 + $2::int + g % ($1::int - $2::int))::text, 6, '0'), 'Delete me #' || g
FROM generate_series(1, $3::int) AS g
RETURNING user_id, id
"""
# Seeded tasks for get, replace and toggle, in a scattered but repeatable order.
TARGETS_SQL = """
SELECT user_id, id FROM tasks WHERE user_id <> 'user_big' ORDER BY md5(user_id || id::text) LIMIT $1
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


# About 135,000 tasks: 200 users with 50, 1,000 users with 50 to 200.
SMALL = DataSet(users=1_200, list_users=200)
# 1,000,000 tasks: 18,000 users with 50 each and one with 100,000 (read-only: no "others").
LARGE = DataSet(users=18_000, list_users=18_000, big_user_tasks=100_000)


@dataclass(frozen=True)
class SeededDatabase:
    url: str
    data: DataSet
    targets: list[tuple[str, int]]


@contextmanager
def seeded_database(server: PostgresServer, name: str, data: DataSet) -> Iterator[SeededDatabase]:
    """A fresh database with the schema and `data`, dropped after the block."""
    with server.fresh_database(f"taskapi_bench_{name}") as url:
        targets = asyncio.run(_migrate_and_seed(url, data))
        yield SeededDatabase(url, data, targets)


def add_delete_pool(database: SeededDatabase, size: int) -> list[tuple[str, int]]:
    """`size` new tasks for DELETE to remove, each exactly once; returns (user id, task id)."""
    rows = asyncio.run(
        _fetch(database.url, DELETE_POOL_SQL, database.data.users, database.data.list_users, size)
    )
    return [(row["user_id"], row["id"]) for row in rows]


async def _migrate_and_seed(url: str, data: DataSet) -> list[tuple[str, int]]:
    target = normalize_database_url(url, connect_timeout_seconds=10)
    await migrate(target)
    connection = await connect(target)
    try:
        await connection.execute(SEED_SQL, data.users, data.list_users, data.big_user_tasks)
        await connection.execute("ANALYZE tasks")
        rows = await connection.fetch(TARGETS_SQL, TARGET_COUNT)
    finally:
        await connection.close()
    return [(row["user_id"], row["id"]) for row in rows]


async def _fetch(url: str, statement: str, *arguments: Any) -> list[asyncpg.Record]:
    connection = await connect(normalize_database_url(url, connect_timeout_seconds=10))
    try:
        rows: list[asyncpg.Record] = await connection.fetch(statement, *arguments)
    finally:
        await connection.close()
    return rows
