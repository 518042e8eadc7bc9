"""The benchmark's PostgreSQL: one server, a fresh database per side, the same seed SQL for both."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time
from typing import Any

import asyncpg
import orjson

from impl.dates.due import Due
from impl.dates.series import FROM_DUE, stored_recurrence
from impl.db.migrations import connect, migrate
from impl.db.url import normalize_database_url
from impl.tasks.repository import UTC_CLOCK
from tests.support.postgres import PostgresServer

# Users are `user_000001`, ...; the first `list_users` of them hold exactly 50 tasks, so that the
# list figures are "a list of 50"; the others hold 50 to 200. `user_big`, when the data set has
# one, holds `big_user_tasks`. Titles, descriptions, priorities, tags, due dates, timestamps and
# versions vary like a real user's list would: a third of the tasks are completed, half are high
# or urgent (independently), three in four have a due date.
# The seed writes `due_at` alone; while it runs, each row also gets the form a `due_at` sets
# (the instant in UTC, as the service stores it) and is overdue from then, as migration 0028
# fills the rows stored before due forms. Gone once the seed is in.
DUE_FORMS_ON = """
CREATE FUNCTION bench_due_forms() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.due := jsonb_build_object(
            'date', to_char(NEW.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
            'time', to_char(NEW.due_at AT TIME ZONE 'UTC', 'HH24:MI:SS')
                || CASE WHEN extract(microseconds FROM NEW.due_at) % 1000000 = 0 THEN ''
                        ELSE to_char(NEW.due_at AT TIME ZONE 'UTC', '.US') END,
            'time_zone', 'UTC');
        NEW.overdue_at := NEW.due_at;
        RETURN NEW;
    END
$$;
CREATE TRIGGER bench_due_forms BEFORE INSERT ON tasks
    FOR EACH ROW WHEN (NEW.due_at IS NOT NULL AND NEW.due IS NULL)
    EXECUTE FUNCTION bench_due_forms();
"""
DUE_FORMS_OFF = "DROP TRIGGER bench_due_forms ON tasks; DROP FUNCTION bench_due_forms();"
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
# `user_large`, when the data set has one: `large_user_lists` lists (the first its Inbox) of 50
# tasks each, every list ten families of three levels: a top-level task, two subtasks under it,
# and a subtask under each of those. Ids are drawn from the seed alone, as the other users'
# are (a task's from its number, a list's from its own); positions are keys the service could
# have made (impl/positions.py): 'a0'..'a9' among a list's top-level tasks, 'a0' and 'a1' among
# a task's subtasks, 'a0' for the Inbox and 'b' and two base-62 digits for the other lists. A
# family is completed or pending as a whole, as completing a task completes its subtree.
LARGE_USER_LISTS_SQL = """
INSERT INTO task_lists (user_id, id, name, position, is_inbox)
SELECT 'user_large',
       1 + ('x' || left(md5('user_large/' || CASE WHEN l = 1 THEN 'inbox' ELSE 'list/' || l END),
                          13))::bit(52)::bigint,
       CASE WHEN l = 1 THEN 'Inbox' ELSE 'List ' || l END,
       CASE WHEN l = 1 THEN 'a0'
            ELSE 'b' || substr(d.digits, l / 62 + 1, 1) || substr(d.digits, l % 62 + 1, 1) END,
       l = 1
FROM generate_series(1, $1::int) AS l,
     (SELECT '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') AS d (digits)
"""
LARGE_USER_TASKS_SQL = """
WITH numbered AS (
    -- Task t (from 1) is member r (0: the top-level task; 1, 3: its subtasks; 2, 4: theirs) of
    -- family j (0-9) of list l (from 1).
    SELECT t, l, (t - 1) % 50 / 5 AS j, (t - 1) % 5 AS r
    FROM generate_series(1, $1::int * 50) AS t,
         LATERAL (SELECT 1 + (t - 1) / 50) AS list (l)
), shaped AS (
    SELECT t, l, j, r,
           CASE r WHEN 0 THEN NULL WHEN 3 THEN t - 3 ELSE t - 1 END AS parent,
           CASE r WHEN 0 THEN 'a' || j WHEN 3 THEN 'a1' ELSE 'a0' END AS position
    FROM numbered
)
INSERT INTO tasks (user_id, id, list_id, parent_id, position, title, description, completed,
                   created_at, updated_at, priority, tags, due_at, completed_at, version)
SELECT 'user_large',
       1 + ('x' || left(md5('user_large/' || t), 13))::bit(52)::bigint,
       1 + ('x' || left(md5('user_large/' || CASE WHEN l = 1 THEN 'inbox' ELSE 'list/' || l END),
                          13))::bit(52)::bigint,
       CASE WHEN parent IS NOT NULL
            THEN 1 + ('x' || left(md5('user_large/' || parent), 13))::bit(52)::bigint END,
       position,
       (ARRAY['Plan the offsite', 'Draft the agenda', 'Book the rooms', 'Send the invitations',
              'Collect the slides'])[1 + r] || ' #' || t,
       CASE WHEN t % 4 = 0 THEN NULL ELSE 'Part of list ' || l || ', family ' || j || '.' END,
       completed,
       created_at,
       created_at + (t % 90) * interval '1 minute',
       (ARRAY['low', 'medium', 'high', 'urgent'])[1 + (t * 7) % 4]::task_priority,
       CASE t % 3 WHEN 0 THEN '{}'::text[] WHEN 1 THEN '{work}' ELSE '{work,planning}' END,
       CASE WHEN t % 4 = 0 THEN NULL ELSE created_at + (t % 30) * interval '1 day' END,
       CASE WHEN completed THEN created_at + (t % 90) * interval '1 minute' END,
       1 + t % 3
FROM shaped,
     LATERAL (SELECT timestamptz '2026-01-01 08:00+00' + t * interval '3 minutes',
                     (l + j) % 3 = 0) AS s (created_at, completed)
ORDER BY t
"""
# Recurring tasks for `complete_recurring`: $3 for each user after the first $2 (the listed
# users', whose pages must stay the same, hold none), each due at one of the times in zones of
# their own ($4, as `Due.document()` writes them, and their instants $5) and recurring by $6,
# which never ends, so that every completion moves a task on to another occurrence however often
# a run comes back to it. Ids from the seed alone, as the other tasks'.
RECURRING_SQL = """
WITH firsts AS (
    SELECT due::jsonb, due_at, n
    FROM unnest($4::text[], $5::timestamptz[]) WITH ORDINALITY AS given (due, due_at, n)
)
INSERT INTO tasks (user_id, id, title, priority, tags, due, due_at, overdue_at, recurrence,
                   created_at, updated_at)
SELECT owner,
       1 + ('x' || left(md5(owner || '/recurring/' || r), 13))::bit(52)::bigint,
       (ARRAY['Water the plants', 'Weekly review', 'Take out the recycling'])[1 + (u + r) % 3]
           || ' (recurring #' || r || ')',
       (ARRAY['low', 'medium', 'high'])[1 + (u + r) % 3]::task_priority,
       '{home}', firsts.due, firsts.due_at, firsts.due_at, $6::jsonb,
       timestamptz '2026-02-20 08:00+00', timestamptz '2026-02-20 08:00+00'
FROM generate_series($2::int + 1, $1::int) AS u,
     generate_series(1, $3::int) AS r,
     LATERAL (SELECT 'user_' || lpad(u::text, 6, '0')) AS o (owner),
     firsts
WHERE firsts.n = 1 + (u + r) % cardinality($4::text[])
ORDER BY owner, r
"""
RECURRING_TARGETS_SQL = """
SELECT user_id, id FROM tasks WHERE recurrence IS NOT NULL ORDER BY md5(user_id || id::text)
"""
# Every seeded due date is an occurrence of the rule (a Monday or a Wednesday).
RECURRING_RULE = "FREQ=WEEKLY;BYDAY=MO,WE"
RECURRING_DUES = (
    Due(date(2026, 3, 2), time(9), "Europe/Berlin"),
    Due(date(2026, 3, 4), time(18, 30), "America/New_York"),
    Due(date(2026, 3, 9), time(7, 15), "Asia/Tokyo"),
)
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
# both sides). Not the recurring tasks, which only `complete_recurring` writes: a replace would
# end their series, and a toggle would complete an occurrence instead.
TARGETS_SQL = """
SELECT user_id, id FROM tasks
WHERE user_id NOT IN ('user_big', 'user_large') AND user_id >= $2 AND recurrence IS NULL
ORDER BY md5(user_id || id::text) LIMIT $1
"""
# Users' top-level tasks that do not recur (those are `complete_recurring`'s alone), list by list
# in their order, with what a write that must change them needs to know.
ORDERED_SQL = """
SELECT user_id, id, list_id, completed FROM tasks
WHERE user_id = ANY($1::text[]) AND parent_id IS NULL AND recurrence IS NULL
ORDER BY user_id, list_id, position, id
"""
BIG_USER = "user_big"
LARGE_USER = "user_large"
TARGET_COUNT = 10_000


@dataclass(frozen=True)
class DataSet:
    """How many users, how many of them hold exactly 50 tasks, and the size of `user_big`."""

    users: int
    list_users: int
    big_user_tasks: int = 0
    # Lists of 50 tasks (three levels of subtasks) of `user_large`; 0: no such user.
    large_user_lists: int = 0
    # Recurring tasks of each user who is not listed (RECURRING_SQL).
    recurring_per_user: int = 0

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
# walk the deep-page figures read from far in, and two recurring tasks for each of the 1,000
# users who are not listed (2,000: each wrk thread walks a share far longer than its connections,
# so that no two requests in flight complete the same task).
THROUGHPUT = DataSet(users=1_200, list_users=200, big_user_tasks=10_000, recurring_per_user=2)
# 1,000,000 tasks: 18,000 users with 50 each and one with 100,000 (read-only: no "others").
LARGE = DataSet(users=18_000, list_users=18_000, big_user_tasks=100_000)
# The small data set, and `user_large` holding 10,000 tasks in 200 lists, with subtasks.
WITH_LARGE_USER = DataSet(users=1_200, list_users=200, large_user_lists=200)


@dataclass(frozen=True)
class OrderedTask:
    """A top-level task, as ORDERED_SQL reads it."""

    id: int
    list_id: int
    completed: bool


@dataclass(frozen=True)
class SeededDatabase:
    url: str
    data: DataSet
    targets: list[tuple[str, int]]
    # (user id, list id): the listed users' Inboxes.
    lists: list[tuple[str, int]]
    # (user id, task id): the recurring tasks, in a scattered but repeatable order.
    recurring: list[tuple[str, int]]


@contextmanager
def seeded_database(server: PostgresServer, name: str, data: DataSet) -> Iterator[SeededDatabase]:
    """A fresh database with the schema and `data`, dropped after the block."""
    with server.fresh_database(f"taskapi_bench_{name}") as url:
        targets, lists, recurring = asyncio.run(_migrate_and_seed(url, data))
        yield SeededDatabase(url, data, targets, lists, recurring)


def ordered_tasks(database: SeededDatabase, users: list[str]) -> dict[str, list[OrderedTask]]:
    """Each of `users`' top-level tasks, list by list, each list in its order."""
    rows = asyncio.run(_fetch(database.url, ORDERED_SQL, users))
    tasks: dict[str, list[OrderedTask]] = {user: [] for user in users}
    for row in rows:
        tasks[row["user_id"]].append(OrderedTask(row["id"], row["list_id"], row["completed"]))
    return tasks


def add_delete_pool(database: SeededDatabase, size: int) -> list[tuple[str, int]]:
    """`size` new tasks for DELETE to remove, each exactly once; returns (user id, task id)."""
    rows = asyncio.run(
        _fetch(database.url, DELETE_POOL_SQL, database.data.users, database.data.list_users, size)
    )
    return [(row["user_id"], row["id"]) for row in rows]


Rows = list[tuple[str, int]]


async def _migrate_and_seed(url: str, data: DataSet) -> tuple[Rows, Rows, Rows]:
    target = normalize_database_url(url, connect_timeout_seconds=10)
    await migrate(target)
    connection = await connect(target)
    try:
        await connection.execute(INBOX_SQL, data.users, data.big_user_tasks)
        await connection.execute(DUE_FORMS_ON)
        await connection.execute(SEED_SQL, data.users, data.list_users, data.big_user_tasks)
        if data.large_user_lists:
            await connection.execute(LARGE_USER_LISTS_SQL, data.large_user_lists)
            await connection.execute(LARGE_USER_TASKS_SQL, data.large_user_lists)
        await connection.execute(DUE_FORMS_OFF)
        if data.recurring_per_user:
            await _seed_recurring(connection, data)
        await connection.execute(COUNT_SQL)
        await connection.execute("ANALYZE tasks, task_counts, task_lists")
        rows = await connection.fetch(TARGETS_SQL, TARGET_COUNT, data.first_target_user())
        lists = await connection.fetch(LISTS_SQL, data.user_id(data.list_users))
        recurring = await connection.fetch(RECURRING_TARGETS_SQL)
    finally:
        await connection.close()
    return _keys(rows), _keys(lists), _keys(recurring)


def _keys(rows: list[asyncpg.Record]) -> Rows:
    return [(row["user_id"], row["id"]) for row in rows]


async def _seed_recurring(connection: asyncpg.Connection, data: DataSet) -> None:
    """RECURRING_SQL, its due dates and rule stored as the service stores them."""
    await connection.execute(
        RECURRING_SQL,
        data.users,
        data.list_users,
        data.recurring_per_user,
        [orjson.dumps(due.document()).decode() for due in RECURRING_DUES],
        [due.instants(UTC_CLOCK)[0] for due in RECURRING_DUES],
        orjson.dumps(stored_recurrence(RECURRING_RULE, FROM_DUE, ())).decode(),
    )


async def _fetch(url: str, statement: str, *arguments: Any) -> list[asyncpg.Record]:
    connection = await connect(normalize_database_url(url, connect_timeout_seconds=10))
    try:
        rows: list[asyncpg.Record] = await connection.fetch(statement, *arguments)
    finally:
        await connection.close()
    return rows
