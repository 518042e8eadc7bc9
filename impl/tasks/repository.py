"""All SQL for tasks. Every statement is filtered by the owner's user id.

Each method runs its statements on one pooled connection, prepared and cached by asyncpg. The
connection goes back to the pool as soon as the rows are read; only then do rows become
documents. Reads go through `Database.read`, which repeats them on another connection if theirs
closes under them; writes never are. A task row is the contract's `Task` column for column, so
it becomes one as a plain dict: no per-row model, no second validation.

Every change is one statement that checks its precondition (If-Match) and writes in the same
step, so concurrent requests can never interleave between a read and a write. Each one stamps
the row with the time of the write (clock_timestamp(), never moving `updated_at` backwards), a
new `version`, and the id of its transaction for delta sync.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import asyncpg

from generated.documents import Task
from impl.db.pool import Database
from impl.observability.naming import named
from impl.tasks.listing import PageStart, Sort, TaskFilter
from impl.tasks.queries import TASK_COLUMNS, Statement, changes_statement, list_statement

GET = named("get_task", f"SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND id = $2")  # noqa: S608 (fixed columns)
# The user's count goes up in the same statement that inserts, on a locked row, only while it
# is under the cap ($7): no row from the count means no room, and nothing is inserted. The id is
# drawn at random (migration 0012). One that was a deleted task's loses its deletion: delta sync
# would otherwise hand a client the new task and the old deletion of its id in one page, which
# says nothing of their order.
INSERT = named(
    "insert_task",
    f"""
    WITH slot AS (
        INSERT INTO task_counts AS counts (user_id, task_count) VALUES ($1, 1)
        ON CONFLICT (user_id) DO UPDATE SET task_count = counts.task_count + 1
            WHERE counts.task_count < $7
        RETURNING user_id
    ), written AS (SELECT clock_timestamp() AS at
    ), added AS (
        INSERT INTO tasks (user_id, title, description, priority, tags, due_at, created_at,
                           updated_at)
        SELECT slot.user_id, $2, $3, $4::task_priority, $5::text[], $6, written.at, written.at
        FROM slot, written
        RETURNING {TASK_COLUMNS}
    ), reused AS (
        DELETE FROM task_deletions AS deletion USING added
        WHERE deletion.user_id = added.user_id AND deletion.task_id = added.id
    )
    SELECT {TASK_COLUMNS} FROM added
""",  # noqa: S608 (fixed columns)
)
# A drawn id that the user already holds (for a user with n tasks, n chances in 2^53 - 1) fails
# the insert on the task's key; it is drawn again, a few times at most.
TASK_KEY = "tasks_pkey"
ID_DRAWS = 3
T = TypeVar("T")
# Shared by every update: a new version, the time and the transaction of the write. The time is
# read in the SET list, so that it is taken when the row is written: after any wait for a
# concurrent writer's lock (a FROM subquery would be read when the statement starts).
STAMP = """version = version + 1,
    updated_at = greatest(clock_timestamp(), updated_at),
    changed_xid = pg_current_xact_id()"""


def _completion_stamp(completed: str) -> str:
    """STAMP, where the write also completes or reopens the task.

    `completed` is the SQL of whether it will be completed. One clock reading for both
    timestamps, taken per row at write time.
    """
    return f"""version = version + 1,
    (updated_at, completed_at) = (
        SELECT written.at, CASE WHEN NOT ({completed}) THEN NULL
                                WHEN tasks.completed THEN tasks.completed_at
                                ELSE written.at END
        FROM (SELECT greatest(clock_timestamp(), tasks.updated_at) AS at) AS written
    ),
    changed_xid = pg_current_xact_id()"""  # noqa: S608 (`completed`: a placeholder or a column)


# $3: the versions If-Match allows, or NULL for any.
MATCHING = "user_id = $1 AND id = $2 AND ($3::bigint[] IS NULL OR version = ANY($3::bigint[]))"
REPLACE = named(
    "replace_task",
    f"""
    UPDATE tasks SET title = $4, description = $5, priority = $6::task_priority,
        tags = $7::text[], due_at = $8, {STAMP}
    WHERE {MATCHING}
      AND (title, description, priority, tags, due_at)
          IS DISTINCT FROM ($4, $5, $6::task_priority, $7::text[], $8)
    RETURNING {TASK_COLUMNS}
""",  # noqa: S608 (fixed fragments)
)
TOGGLE = named(
    "toggle_task",
    f"""
    UPDATE tasks SET completed = NOT completed,
        {_completion_stamp("NOT tasks.completed")}
    WHERE {MATCHING}
    RETURNING {TASK_COLUMNS}
""",  # noqa: S608 (fixed fragments)
)
# What PATCH may set, each with its parameter's type. A name is written into the SQL as a column:
# update_statement refuses any other.
PATCHABLE = {
    "title": "text",
    "description": "text",
    "priority": "task_priority",
    "tags": "text[]",
    "due_at": "timestamptz",
    "completed": "boolean",
}
# A deleted id is remembered for delta sync, until the retention job (impl/retention) purges it.
DELETE = named(
    "delete_task",
    """
    WITH gone AS (
        DELETE FROM tasks WHERE user_id = $1 AND id = $2
            AND ($3::bigint[] IS NULL OR version = ANY($3::bigint[]))
        RETURNING user_id, id
    ), remembered AS (
        INSERT INTO task_deletions (user_id, task_id) SELECT user_id, id FROM gone
    ), counted AS (
        UPDATE task_counts SET task_count = task_count - 1
        WHERE user_id = $1 AND EXISTS (SELECT FROM gone)
    )
    SELECT count(*) FROM gone
""",
)
TASK_FIELDS = tuple(Task.__annotations__)
SNAPSHOT = named(
    "take_snapshot",
    "SELECT pg_current_snapshot()::text AS snapshot, clock_timestamp() AS taken_at",
)
# Idempotent creation: one transaction per key at a time (the advisory lock), so that of
# concurrent requests with one key exactly one creates and the others find its answer.
LOCK_KEY = named(
    "lock_idempotency_key",
    "SELECT pg_advisory_xact_lock(hashtextextended($1 || E'\\n' || $2, 0))",
)
FORGET_EXPIRED_KEYS = named(
    "forget_expired_idempotency_keys",
    """
    DELETE FROM idempotency_keys
    WHERE user_id = $1 AND created_at < clock_timestamp() - $2::interval
""",
)
FIND_KEY = named(
    "find_idempotency_key",
    "SELECT request_hash, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
)
REMEMBER_KEY = named(
    "remember_idempotency_key",
    """
    INSERT INTO idempotency_keys (user_id, key, request_hash, response) VALUES ($1, $2, $3, $4)
""",
)


@dataclass(frozen=True, slots=True)
class NewFields:
    """Every editable field of a task, as stored."""

    title: str
    description: str | None
    priority: str
    tags: list[str]
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """What an idempotency key holds: a hash of its request and the answer's body."""

    request_hash: bytes
    response: bytes


@dataclass(frozen=True, slots=True)
class Change:
    """A row of delta sync: a task as it is now, or (`task` None) the id of a deleted one."""

    xid: str
    task_id: int
    task: Task | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Which transactions had committed at `taken_at`, in pg_snapshot's text form."""

    snapshot: str
    taken_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a conditional write did: `written` True with the task as written; else the task as
    it is (None: there is no such task), to tell a failed If-Match from a write that would
    change nothing."""

    written: bool
    task: Task | None


def _task(record: asyncpg.Record | None) -> Task | None:
    return None if record is None else cast(Task, dict(record))


async def _outcome(
    connection: asyncpg.Connection, record: asyncpg.Record | None, user_id: str, task_id: int
) -> Outcome:
    if record is not None:
        return Outcome(written=True, task=_task(record))
    # Read on the write's connection, in its unit of work: one deadline bounds both.
    return Outcome(written=False, task=_task(await connection.fetchrow(GET, user_id, task_id)))


class TaskRepository:
    """Reads and writes the rows of `tasks`, always for one user at a time."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def list_page(
        self, user_id: str, task_filter: TaskFilter, sort: Sort, start: PageStart | None, limit: int
    ) -> list[Task]:
        """Up to `limit` tasks in `sort` order after `start`, each sort served by its index."""
        sql, arguments = list_statement(user_id, task_filter, sort, start, limit)
        records = await self._database.read(lambda connection: connection.fetch(sql, *arguments))
        return [cast(Task, dict(record)) for record in records]

    async def get(self, user_id: str, task_id: int) -> Task | None:
        record = await self._database.read(
            lambda connection: connection.fetchrow(GET, user_id, task_id)
        )
        return _task(record)

    async def add(self, user_id: str, fields: NewFields, cap: int) -> Task | None:
        """The new task; None when the user already holds `cap` tasks."""

        async def insert() -> Task | None:
            async with self._database.connection() as connection:
                return _task(await connection.fetchrow(INSERT, user_id, *_values(fields), cap))

        return await _drawing_ids_again(insert)

    async def add_once(
        self,
        user_id: str,
        key: str,
        request_hash: bytes,
        fields: NewFields,
        cap: int,
        key_lifetime: timedelta,
        render: Callable[[Task], bytes],
    ) -> tuple[RecordedAnswer | None, Task | None]:
        """Create under an idempotency key, unless the key already holds an answer.

        Returns (the earlier answer, None) for a known key, (None, the new task) for a new one,
        and (None, None) when the user has no room for another task. `render` gives the body
        the key replays.
        """

        async def insert_once() -> tuple[RecordedAnswer | None, Task | None]:
            async with self._database.connection() as connection, connection.transaction():
                await connection.execute(LOCK_KEY, user_id, key)
                await connection.execute(FORGET_EXPIRED_KEYS, user_id, key_lifetime)
                earlier = await connection.fetchrow(FIND_KEY, user_id, key)
                if earlier is not None:
                    return RecordedAnswer(earlier["request_hash"], earlier["response"]), None
                task = _task(await connection.fetchrow(INSERT, user_id, *_values(fields), cap))
                if task is not None:
                    await connection.execute(REMEMBER_KEY, user_id, key, request_hash, render(task))
            return None, task

        # A failed statement ends the transaction: the whole of it is made again.
        return await _drawing_ids_again(insert_once)

    async def replace(
        self, user_id: str, task_id: int, versions: list[int] | None, fields: NewFields
    ) -> Outcome:
        """The replaced task, or the task as it is if it fails If-Match or would not change."""
        async with self._database.connection() as connection:
            record = await connection.fetchrow(
                REPLACE, user_id, task_id, versions, *_values(fields)
            )
            return await _outcome(connection, record, user_id, task_id)

    async def update(
        self, user_id: str, task_id: int, versions: list[int] | None, changes: dict[str, Any]
    ) -> Outcome:
        """Set the `changes` (names of PATCHABLE); the outcome as for `replace`."""
        sql, arguments = update_statement(changes)
        async with self._database.connection() as connection:
            record = await connection.fetchrow(sql, user_id, task_id, versions, *arguments)
            return await _outcome(connection, record, user_id, task_id)

    async def toggle_completion(
        self, user_id: str, task_id: int, versions: list[int] | None
    ) -> Outcome:
        async with self._database.connection() as connection:
            record = await connection.fetchrow(TOGGLE, user_id, task_id, versions)
            return await _outcome(connection, record, user_id, task_id)

    async def delete(self, user_id: str, task_id: int, versions: list[int] | None) -> Outcome:
        """`written` when deleted (`task` None); else the task as it is (If-Match failed)."""
        async with self._database.connection() as connection:
            deleted: int = await connection.fetchval(DELETE, user_id, task_id, versions)
            if deleted == 1:
                return Outcome(written=True, task=None)
            return await _outcome(connection, None, user_id, task_id)

    async def changes(
        self,
        user_id: str,
        upper: Snapshot | None,
        since: str | None,
        start: tuple[str, int] | None,
        limit: int,
    ) -> tuple[Snapshot, list[Change]]:
        """Changes visible in snapshot `upper` and not in `since`, ordered, after `start`.

        Without `upper` (a sync's first page), the current snapshot, which is returned.
        """
        start_xid, start_id = start or ("0", 0)

        async def read(connection: asyncpg.Connection) -> tuple[Snapshot, list[asyncpg.Record]]:
            snapshot = upper
            if snapshot is None:
                record = await connection.fetchrow(SNAPSHOT)
                snapshot = Snapshot(record["snapshot"], record["taken_at"])
            arguments: list[Any] = [user_id, snapshot.snapshot, start_xid, start_id, limit]
            if since is not None:
                arguments.append(since)
            records = await connection.fetch(changes_statement(since is not None), *arguments)
            return snapshot, records

        snapshot, records = await self._database.read(read)
        return snapshot, [_change(record) for record in records]


async def _drawing_ids_again(insert: Callable[[], Awaitable[T]]) -> T:
    """`insert`, made again while the id it drew is one the user already holds."""
    for _ in range(ID_DRAWS - 1):
        try:
            return await insert()
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name != TASK_KEY:
                raise
    return await insert()


def _values(fields: NewFields) -> tuple[Any, ...]:
    return (fields.title, fields.description, fields.priority, fields.tags, fields.due_at)


def update_statement(changes: dict[str, Any]) -> tuple[str, list[Any]]:
    """UPDATE … SET only the changed columns, and only if one of them differs.

    The statement's first three parameters are MATCHING's (user, task, versions); the values of
    `changes` follow them, in the arguments returned.
    """
    unknown = [name for name in changes if name not in PATCHABLE]
    if unknown:
        raise ValueError(f"PATCH cannot set {', '.join(map(repr, unknown))}: not in PATCHABLE")
    statement = Statement(preceding=3)
    assignments: list[str] = []
    differences: list[str] = []
    stamp = STAMP
    for name, value in changes.items():
        new_value = f"{statement.parameter(value)}::{PATCHABLE[name]}"
        assignments.append(f"{name} = {new_value}")
        differences.append(f"{name} IS DISTINCT FROM {new_value}")
        if name == "completed":
            stamp = _completion_stamp(new_value)
    sql = f"""
        UPDATE tasks SET {", ".join(assignments)}, {stamp}
        WHERE {MATCHING} AND ({" OR ".join(differences)})
        RETURNING {TASK_COLUMNS}
    """  # noqa: S608 (columns of PATCHABLE only, values bound)
    return named("update_task", sql), statement.arguments


def _change(record: asyncpg.Record) -> Change:
    if record["deleted"]:
        return Change(record["xid"], record["id"], None)
    task = {name: record[name] for name in TASK_FIELDS}
    return Change(record["xid"], record["id"], cast(Task, task))
