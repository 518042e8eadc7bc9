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

from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import asyncpg
import orjson

from generated.documents import Task, TodoList
from impl.dates.due import Due, stored_due
from impl.dates.zones import Clock, zone
from impl.db.ids import drawing_ids_again
from impl.db.pool import Database
from impl.idempotency import KeyedRequest, RecordedAnswer, earlier_answer, remember
from impl.observability.naming import named
from impl.ordering import NeighbourMissing, Place, already_there, sibling_order
from impl.positions import keys_after, not_its_own
from impl.tasks import many
from impl.tasks.listing import PageStart, Sort, TaskFilter
from impl.tasks.many import Beside, KnownOrder, Named
from impl.tasks.queries import (
    LIST_KIND,
    TASK_COLUMNS,
    Statement,
    changes_statement,
    list_statement,
)
from impl.tasks.stamps import STAMP, completion_stamp
from impl.tasks.subtasks import (
    DEPTH,
    LOCK_PARENT,
    MAX_DEPTH,
    SUBTREE_SHAPE,
    SUBTREE_TO_LIST,
    spreading_completion,
)
from impl.versioned import Outcome

GET = named("get_task", f"SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND id = $2")  # noqa: S608 (fixed columns)
# The user's count goes up in the same statement that inserts, on a locked row, only while it
# is under the cap ($8): no row from the count means no room, and nothing is inserted. Without a
# list ($7 NULL), the task goes to the user's Inbox (migration 0016's trigger). The id is
# drawn at random (migration 0012). One that was a deleted task's loses its deletion: delta sync
# would otherwise hand a client the new task and the old deletion of its id in one page, which
# says nothing of their order.
INSERT = named(
    "insert_task",
    f"""
    WITH slot AS (
        INSERT INTO task_counts AS counts (user_id, task_count) VALUES ($1, 1)
        ON CONFLICT (user_id) DO UPDATE SET task_count = counts.task_count + 1
            WHERE counts.task_count < $8
        RETURNING user_id
    ), written AS (SELECT clock_timestamp() AS at
    ), added AS (
        INSERT INTO tasks (user_id, title, description, priority, tags, due_at, list_id,
                           parent_id, created_at, updated_at, due, overdue_at, recurrence,
                           reminders)
        SELECT slot.user_id, $2, $3, $4::task_priority, $5::text[], $6, $7, $9, written.at,
               written.at, $10::jsonb, $11, $12::jsonb, $13::jsonb
        FROM slot, written
        RETURNING {TASK_COLUMNS}
    ), reused AS (
        DELETE FROM task_deletions AS deletion USING added
        WHERE deletion.user_id = added.user_id AND deletion.task_id = added.id
    )
    SELECT {TASK_COLUMNS} FROM added
""",  # noqa: S608 (fixed columns)
)
# A drawn id that the user already holds fails the insert on the task's key (impl/db/ids.py).
TASK_KEY = "tasks_pkey"
LIST_KEY = "tasks_list_id_fkey"
T = TypeVar("T")
# $3: the versions If-Match allows, or NULL for any. A replace without a list ($9 NULL) leaves the
# task in its own; one into another list takes it from its parent (its subtasks follow it:
# SUBTREE_TO_LIST).
MATCHING = "user_id = $1 AND id = $2 AND ($3::bigint[] IS NULL OR version = ANY($3::bigint[]))"
# A recurring task is completed by the occurrence (TaskService), not by a plain write: the
# write of a completion leaves one alone, and the service, reading it as it is, takes over.
REOPENS_OR_RECURS_NOT = "({recurrence} IS NULL OR NOT {completed})"
# A toggle: it reopens a recurring task, never completes one.
TOGGLES = REOPENS_OR_RECURS_NOT.format(recurrence="recurrence", completed="NOT completed")
# A recurring task keeps a due date (tasks_recurrence_needs_due, 0030): a write that would take
# it away is not made, and the service answers 422.
KEEPS_A_DUE_IF_RECURRING = "({recurrence} IS NULL OR {due} IS NOT NULL)"
# A write sets reminders without their fire times, which the database adds (migration 0031):
# they changed if their rules did.
REMINDERS_DIFFER = "reminder_rules(reminders) IS DISTINCT FROM {reminders}"
REPLACE = named(
    "replace_task",
    f"""
    UPDATE tasks SET title = $4, description = $5, priority = $6::task_priority,
        tags = $7::text[], due_at = $8, list_id = coalesce($9, list_id),
        parent_id = CASE WHEN coalesce($9, list_id) = list_id THEN parent_id END,
        due = $10::jsonb, overdue_at = $11, recurrence = $12::jsonb, reminders = $13::jsonb,
        {STAMP}
    WHERE {MATCHING}
      AND ((title, description, priority, tags, due_at, list_id, due, recurrence)
          IS DISTINCT FROM ($4, $5, $6::task_priority, $7::text[], $8, coalesce($9, list_id),
                            $10::jsonb, $12::jsonb)
           OR {REMINDERS_DIFFER.format(reminders="$13::jsonb")})
    RETURNING {TASK_COLUMNS}
""",  # noqa: S608 (fixed fragments)
)
TOGGLE = named(
    "toggle_task",
    spreading_completion(
        f"""
        UPDATE tasks SET completed = NOT completed,
            {completion_stamp("NOT tasks.completed")}
        WHERE {MATCHING} AND {TOGGLES}
        RETURNING {TASK_COLUMNS}""",  # noqa: S608 (fixed fragments)
        TASK_COLUMNS,
    ),
)
# What PATCH may set, each with its parameter's type. A name is written into the SQL as a column:
# update_statement refuses any other.
PATCHABLE = {
    "title": "text",
    "description": "text",
    "priority": "task_priority",
    "tags": "text[]",
    "due_at": "timestamptz",
    "due": "jsonb",
    "overdue_at": "timestamptz",
    "recurrence": "jsonb",
    "reminders": "jsonb",
    "completed": "boolean",
    "list_id": "bigint",
}
# A deleted id is remembered for delta sync, until the retention job (impl/retention) purges it.
# The task goes with its subtasks (If-Match is the task's own), each id remembered. Answers
# whether the task itself went.
DELETE = named(
    "delete_task",
    f"""
    WITH RECURSIVE doomed (id, root) AS (
        SELECT id, id FROM tasks WHERE user_id = $1 AND id = $2
            AND ($3::bigint[] IS NULL OR version = ANY($3::bigint[]))
        {many.DOOMED_SUBTREES}
    SELECT count(*) FILTER (WHERE id = $2) FROM gone
""",  # noqa: S608 (fixed fragments)
)
# A subtask written while its ancestor's deletion waited for it fails the deletion on the key
# of subtasks to their parent: the deletion is made again, and takes it too.
PARENT_KEY = "tasks_parent_id_fkey"
DELETE_ATTEMPTS = 3
# How many times a transaction of several writes is made at most (`in_one_transaction`).
TRANSACTION_ATTEMPTS = 3
# One batch of a user's at a time: two that take the same tasks in opposite orders would
# otherwise wait on each other until PostgreSQL broke the deadlock, a second later.
TAKE_BATCH_TURN = named(
    "take_batch_turn",
    "SELECT pg_advisory_xact_lock(hashtextextended('task batches' || E'\\n' || $1, 0))",
)
# The lists a transaction writes tasks into, kept from being deleted until it ends.
HOLD_LISTS = named(
    "hold_lists",
    "SELECT id FROM task_lists WHERE user_id = $1 AND id = ANY($2::bigint[]) FOR KEY SHARE",
)
# A move (impl/tasks/repository.py's `move`): the task's list first, then the list's row locked
# for the move's transaction, so that moves in one list come one after another and none reads
# neighbours another is changing; then the task.
LIST_OF = named("list_of_task", "SELECT list_id FROM tasks WHERE user_id = $1 AND id = $2")
LOCK_LIST = named(
    "lock_list_of_moves",
    "SELECT id FROM task_lists WHERE user_id = $1 AND id = $2 FOR NO KEY UPDATE",
)
LOCK_TASK = named(
    "lock_task_to_move",
    f"SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND id = $2 FOR UPDATE",  # noqa: S608 (fixed columns)
)
# A task's siblings: the top-level tasks of its list ($2), or its parent's ($2) subtasks.
TOP_LEVEL = sibling_order("top_level_tasks", "tasks", "list_id = $2 AND parent_id IS NULL")
SUBTASKS = sibling_order("subtasks", "tasks", "parent_id = $2")
RESPACE = named(
    "respace_siblings",
    f"""
    UPDATE tasks SET position = fresh.position, {STAMP}
    FROM unnest($3::bigint[], $4::text[]) AS fresh (id, position)
    WHERE tasks.user_id = $1 AND tasks.list_id = $2 AND tasks.id = fresh.id
""",  # noqa: S608 (fixed fragments)
)
PLACE = named(
    "place_task",
    f"""
    UPDATE tasks SET list_id = $3, position = $4, parent_id = $5, {STAMP}
    WHERE user_id = $1 AND id = $2
    RETURNING {TASK_COLUMNS}
""",  # noqa: S608 (fixed fragments)
)
TASK_FIELDS = tuple(Task.__annotations__)
LIST_FIELDS = tuple(TodoList.__annotations__)
# The user's Inbox, made by the database if the user has none yet (migration 0016): a first sync
# hands it to the client, as the list of lists does, before any task is written.
ENSURE_INBOX = named("ensure_inbox", "SELECT user_inbox($1)")
# A recurring task's occurrence, completed or skipped, as it was due (migration 0030).
RECORD_OCCURRENCE = named(
    "record_occurrence",
    """
    INSERT INTO task_occurrences
        (user_id, task_id, due, due_at, outcome, recorded_at, from_version)
    VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)
""",
)
# A page of a task's occurrences, newest first, after the one of id $3 (none: from the newest).
OCCURRENCES = named(
    "list_occurrences",
    """
    SELECT id, due, due_at, outcome, recorded_at FROM task_occurrences
    WHERE user_id = $1 AND task_id = $2 AND ($3::bigint IS NULL OR id < $3)
    ORDER BY id DESC LIMIT $4
""",
)
# What a recurring task's next write is, for its history (migration 0034): its occurrence
# completed or skipped, which its columns cannot tell from an edit of its due date.
NAME_CHANGE = named("name_history_change", "SELECT set_config('taskapi.change', $1, true)")
# Whether an occurrence of the task was done after $3.
DONE_SINCE = named(
    "occurrence_done_since",
    "SELECT EXISTS (SELECT FROM task_occurrences"
    " WHERE user_id = $1 AND task_id = $2 AND recorded_at > $3)",
)
# Whether an occurrence of the task was completed or skipped ($4) from one of the versions $3.
DONE_FROM = named(
    "occurrence_done_from",
    "SELECT EXISTS (SELECT FROM task_occurrences"
    " WHERE user_id = $1 AND task_id = $2 AND from_version = ANY($3::bigint[])"
    " AND outcome = $4)",
)
TASK_EXISTS = named(
    "task_exists", "SELECT EXISTS (SELECT FROM tasks WHERE user_id = $1 AND id = $2)"
)
# The user's zone, under the user's zone lock until the transaction ends (migration 0027).
USER_ZONE = named("user_time_zone", "SELECT user_time_zone_for_writes($1)")
# The due dates read in the user's zone, and their instants once the zone has changed.
FLOATING_DUES = named(
    "read_floating_dues",
    "SELECT id, due FROM tasks WHERE user_id = $1 AND due IS NOT NULL"
    " AND due ->> 'time_zone' IS NULL",
)
MOVE_DUES = named(
    "move_floating_dues",
    f"""
    UPDATE tasks SET due_at = moved.due_at, overdue_at = moved.overdue_at, {STAMP}
    FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[])
         AS moved (id, due_at, overdue_at)
    WHERE tasks.user_id = $1 AND tasks.id = moved.id
      AND (tasks.due_at, tasks.overdue_at) IS DISTINCT FROM (moved.due_at, moved.overdue_at)
""",  # noqa: S608 (fixed fragments)
)
# What a due date with a zone of its own is read with: its zone, not this one.
UTC_CLOCK = Clock(zone("UTC"))
SNAPSHOT = named(
    "take_snapshot",
    "SELECT pg_current_snapshot()::text AS snapshot, clock_timestamp() AS taken_at",
)


# What doing a recurring task's occurrence changes, given the clock of its due date: the changes
# (names of PATCHABLE, `due` a Due) and the occurrence's outcome (`completed` or `skipped`).
OccurrencePlan = Callable[[Clock], tuple[dict[str, Any], str]]


@dataclass(frozen=True, slots=True)
class NewFields:
    """Every editable field of a task, as stored."""

    title: str
    description: str | None
    priority: str
    tags: list[str]
    due: Due | None
    recurrence: dict[str, Any] | None
    # Without their fire times (impl/dates/reminders.py).
    reminders: list[dict[str, Any]]
    # None: the Inbox for a new task, the task's own list for a replaced one.
    list_id: int | None
    # A new task's parent; a replace leaves the parent alone.
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class ChangeKey:
    """Where a change stands in the order of delta sync: its transaction, its kind, its id."""

    xid: str
    kind: int
    item_id: int


@dataclass(frozen=True, slots=True)
class Change:
    """A row of delta sync: a task or a list as it is now, or (`item` None) the id of a deleted
    one."""

    key: ChangeKey
    item: Task | TodoList | None

    @property
    def of_a_list(self) -> bool:
        return self.key.kind == LIST_KIND


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Which transactions had committed at `taken_at`, in pg_snapshot's text form."""

    snapshot: str
    taken_at: datetime


def _task(record: asyncpg.Record | None) -> Task | None:
    return None if record is None else cast(Task, dict(record))


async def _outcome(
    connection: asyncpg.Connection, record: asyncpg.Record | None, user_id: str, task_id: int
) -> Outcome[Task]:
    if record is not None:
        return Outcome(written=True, current=_task(record))
    # Read on the write's connection, in its unit of work: one deadline bounds both.
    return Outcome(written=False, current=_task(await connection.fetchrow(GET, user_id, task_id)))


class ListMissing(Exception):
    """A write named a list the user does not hold (or one deleted while it ran)."""


class ParentMissing(Exception):
    """A parent the user does not hold, or in another list than the one named."""


class ParentIsSubtask(Exception):
    """A parent that is the moved task itself, or one of its subtasks."""


class TooDeep(Exception):
    """A parent that would nest tasks deeper than MAX_DEPTH."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a move puts a task: a list (None: its own, or its parent's), a parent (when
    `parent_named`; None: the top level), and a place among its siblings there."""

    list_id: int | None
    place: Place
    parent_named: bool = False
    parent_id: int | None = None


class TaskRepository:
    """Reads and writes the rows of `tasks`, always for one user at a time: each call on a
    connection of its own (writes through a `TaskWriter` on it), or several writes in one
    transaction (`in_one_transaction`)."""

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
                return await TaskWriter(connection).add(user_id, fields, cap)

        return await drawing_ids_again(insert, TASK_KEY)

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

        async def insert(writer: "TaskWriter") -> tuple[Task | None, bool]:
            task = await writer.add(user_id, fields, cap)
            return task, task is not None

        keyed = KeyedRequest(key, request_hash, key_lifetime, render)
        return await self.in_one_transaction(user_id, insert, keyed)

    async def in_one_transaction(
        self,
        user_id: str,
        work: Callable[["TaskWriter"], Awaitable[tuple[T, bool]]],
        keyed: KeyedRequest | None = None,
    ) -> tuple[RecordedAnswer | None, T]:
        """`work`'s writes in one transaction, kept only if it answers (result, True).

        Under an idempotency key (`keyed`), the key's earlier answer instead, if it holds one:
        (that answer, None); else the result, rendered into the key when kept. A statement that
        must be made again (an id drawn twice, a deadlock, a subtask written under a task being
        deleted) makes the whole transaction again, `work` included, a few times at most.
        """

        async def attempt() -> tuple[RecordedAnswer | None, T]:
            try:
                async with self._database.connection() as connection, connection.transaction():
                    if keyed is not None:
                        earlier = await earlier_answer(connection, user_id, keyed)
                        if earlier is not None:
                            return earlier, cast(T, None)
                    result, kept = await work(TaskWriter(connection))
                    if not kept:
                        raise _Discarded(result)
                    if keyed is not None:
                        await remember(connection, user_id, keyed, result)
                    return None, result
            except _Discarded as discarded:
                return None, cast(T, discarded.result)

        for _ in range(TRANSACTION_ATTEMPTS - 1):
            try:
                return await attempt()
            except asyncpg.PostgresError as error:
                if not _made_again(error):
                    raise
        return await attempt()

    async def replace(
        self, user_id: str, task_id: int, versions: list[int] | None, fields: NewFields
    ) -> Outcome[Task]:
        """The replaced task, or the task as it is if it fails If-Match or would not change."""
        async with self._database.connection() as connection:
            return await TaskWriter(connection).replace(user_id, task_id, versions, fields)

    async def update(
        self, user_id: str, task_id: int, versions: list[int] | None, changes: dict[str, Any]
    ) -> Outcome[Task]:
        """Set the `changes` (names of PATCHABLE); the outcome as for `replace`."""
        async with self._database.connection() as connection:
            return await TaskWriter(connection).update(user_id, task_id, versions, changes)

    async def advance(self, user_id: str, current: Task, plan: OccurrencePlan) -> Outcome[Task]:
        async with self._database.connection() as connection:
            return await TaskWriter(connection).advance(user_id, current, plan)

    async def done_since(self, user_id: str, task_id: int, since: datetime) -> bool:
        """Whether an occurrence of the task was completed or skipped after `since`."""
        done: bool = await self._database.read(
            lambda connection: connection.fetchval(DONE_SINCE, user_id, task_id, since)
        )
        return done

    async def done_from(
        self, user_id: str, task_id: int, versions: list[int], outcome: str
    ) -> bool:
        """Whether an occurrence of the task was completed or skipped (`outcome`) from one of
        `versions` of it."""
        done: bool = await self._database.read(
            lambda connection: connection.fetchval(DONE_FROM, user_id, task_id, versions, outcome)
        )
        return done

    async def occurrences(
        self, user_id: str, task_id: int, after: int | None, limit: int
    ) -> list[dict[str, Any]] | None:
        """Up to `limit` of the task's occurrences after the one of id `after`, newest first,
        each with its `id`; None when the user has no such task."""

        async def read(connection: asyncpg.Connection) -> list[dict[str, Any]] | None:
            records = await connection.fetch(OCCURRENCES, user_id, task_id, after, limit)
            if not records and not await connection.fetchval(TASK_EXISTS, user_id, task_id):
                return None
            return [dict(record) for record in records]

        return await self._database.read(read)

    async def toggle_completion(
        self, user_id: str, task_id: int, versions: list[int] | None
    ) -> Outcome[Task]:
        async with self._database.connection() as connection:
            return await TaskWriter(connection).toggle_completion(user_id, task_id, versions)

    async def delete(self, user_id: str, task_id: int, versions: list[int] | None) -> Outcome[Task]:
        """`written` when deleted, subtasks and all (`current` None); else the task as it is
        (If-Match failed)."""
        async with self._database.connection() as connection:
            return await TaskWriter(connection).delete(user_id, task_id, versions)

    async def move(
        self, user_id: str, task_id: int, versions: list[int] | None, to: Destination
    ) -> Outcome[Task]:
        """Put the task at `to`; as `TaskWriter.move`."""
        async with self._database.connection() as connection:
            return await TaskWriter(connection).move(user_id, task_id, versions, to)

    async def snapshot(self) -> Snapshot:
        """Which transactions have committed now: what a sync token taken now sees."""
        record = await self._database.read(lambda connection: connection.fetchrow(SNAPSHOT))
        return Snapshot(record["snapshot"], record["taken_at"])

    async def changes(
        self,
        user_id: str,
        upper: Snapshot | None,
        since: str | None,
        start: ChangeKey | None,
        limit: int,
    ) -> tuple[Snapshot, list[Change]]:
        """Changes visible in snapshot `upper` and not in `since`, ordered, after `start`.

        Without `upper` (a sync's first page), the current snapshot, which is returned.
        """
        start = start or ChangeKey("0", LIST_KIND, 0)

        async def read(connection: asyncpg.Connection) -> tuple[Snapshot, list[asyncpg.Record]]:
            snapshot = upper
            if snapshot is None:
                if since is None:
                    await connection.fetchval(ENSURE_INBOX, user_id)
                record = await connection.fetchrow(SNAPSHOT)
                snapshot = Snapshot(record["snapshot"], record["taken_at"])
            arguments: list[Any] = [
                user_id,
                snapshot.snapshot,
                start.xid,
                start.item_id,
                limit,
                start.kind,
            ]
            if since is not None:
                arguments.append(since)
            records = await connection.fetch(changes_statement(since is not None), *arguments)
            return snapshot, records

        snapshot, records = await self._database.read(read)
        return snapshot, [_change(record) for record in records]


class TaskWriter:
    """One user's task writes on a connection lent to its caller: alone, each write is its own
    unit (a transaction only when it takes more than one statement); within the caller's
    transaction, it is part of that one.

    A write either raises before it has changed anything or does not raise: a caller's
    transaction can go on after a refused write, and keep the others.
    """

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection
        # The user's zone, once read in the transaction (whose end releases its lock).
        self._user_clock: Clock | None = None

    @property
    def connection(self) -> asyncpg.Connection:
        """The connection it writes on, for other writes of the same transaction."""
        return self._connection

    async def get(self, user_id: str, task_id: int) -> Task | None:
        return _task(await self._connection.fetchrow(GET, user_id, task_id))

    async def _clock(self, user_id: str, dues: Iterable[Due | None]) -> Clock:
        """What reads `dues`: the user's zone if one of them floats (read in the caller's
        transaction, which must be open), else any."""
        if not any(due is not None and due.floats for due in dues):
            return UTC_CLOCK
        if self._user_clock is None:
            assert self._connection.is_in_transaction()
            self._user_clock = Clock(zone(await self._connection.fetchval(USER_ZONE, user_id)))
        return self._user_clock

    async def take_batch_turn(self, user_id: str) -> None:
        """Wait until no other batch of the user's is under way; the turn ends with the caller's
        transaction."""
        await self._connection.execute(TAKE_BATCH_TURN, user_id)

    async def nested(self, user_id: str, task_ids: Sequence[int]) -> bool:
        """Whether one of the tasks is under another of them."""
        return await many.nested(self._connection, user_id, task_ids)

    async def set_completions(
        self, user_id: str, tasks: Sequence[Named], completed: Sequence[bool]
    ) -> list[Outcome[Task]]:
        """Each task completed or reopened in one statement, when none is under another."""
        return await many.complete_many(self._connection, user_id, tasks, completed)

    async def update_all(
        self, user_id: str, tasks: Sequence[Named], changes: Sequence[dict[str, Any]]
    ) -> list[Outcome[Task]]:
        """Each task's own field changes (names of many.EDITABLE, or `due`), in one
        statement."""
        clock = await self._clock(user_id, [change.get("due") for change in changes])
        stored = [stored_changes(change, clock) for change in changes]
        return await many.update_many(self._connection, user_id, tasks, stored)

    async def delete_all(self, user_id: str, tasks: Sequence[Named]) -> list[Outcome[Task]]:
        """Each task deleted in one statement, when none is under another."""
        return await many.delete_many(self._connection, user_id, tasks)

    async def add_all(
        self, user_id: str, tasks: Sequence[NewFields], cap: int
    ) -> list[Task | None] | None:
        """New tasks at the top level of their lists, last there in the order given, in a few
        statements for all: as many as fit under `cap`, the others None; None for all when one
        has a parent (make them one at a time then)."""
        if any(fields.parent_id is not None for fields in tasks):
            return None
        connection = self._connection
        held = await connection.fetchval(many.LOCK_COUNT, user_id)
        fitting = list(tasks[: max(cap - held, 0)])
        inbox = 0
        if any(fields.list_id is None for fields in fitting):
            inbox = await connection.fetchval(many.INBOX, user_id)
        lists = [inbox if fields.list_id is None else fields.list_id for fields in fitting]
        keys: dict[int, list[str]] = {}
        for list_id in dict.fromkeys(lists):
            last, _ = await TOP_LEVEL.neighbours(
                connection, (user_id, list_id, 0), Place(None, None)
            )
            count = lists.count(list_id)
            keys[list_id] = keys_after(None if last is None else last[0], [""] * count)[::-1]
        placed = [keys[list_id].pop() for list_id in lists]
        clock = await self._clock(user_id, [fields.due for fields in fitting])
        dues = [due_columns(fields.due, clock) for fields in fitting]
        records = await connection.fetch(
            many.INSERT_MANY,
            user_id,
            [fields.title for fields in fitting],
            [fields.description for fields in fitting],
            [fields.priority for fields in fitting],
            [orjson.dumps(fields.tags).decode() for fields in fitting],
            [due_at for _, due_at, _ in dues],
            lists,
            placed,
            [due for due, _, _ in dues],
            [overdue_at for _, _, overdue_at in dues],
            [fields.recurrence for fields in fitting],
            [orjson.dumps(fields.reminders).decode() for fields in fitting],
        )
        added = {(record["list_id"], record["position"]): record for record in records}
        created: list[Task | None] = [
            cast(Task, dict(added[place])) for place in zip(lists, placed, strict=True)
        ]
        return created + [None] * (len(tasks) - len(fitting))

    async def move_all_to_list(
        self, user_id: str, tasks: Sequence[Named], list_id: int
    ) -> list[Outcome[Task]] | None:
        """Each task put last in the list, one after another, its subtree along, in a few
        statements for all: when none is in that list already, none is under another, and the
        list is the user's; else None, having written nothing (move them one at a time)."""
        connection = self._connection
        task_ids = [task.task_id for task in tasks]
        lists_of = {
            record["id"]: record["list_id"]
            for record in await connection.fetch(many.LISTS_OF_TASKS, user_id, task_ids)
        }
        if list_id in lists_of.values():
            return None
        lists = sorted({list_id, *lists_of.values()})
        locked = {
            record["id"] for record in await connection.fetch(many.LOCK_LISTS, user_id, lists)
        }
        if list_id not in locked:
            return None
        current = {
            record["id"]: cast(Task, dict(record))
            for record in await connection.fetch(many.LOCK_TASKS, user_id, task_ids)
        }
        if any(task["list_id"] != lists_of.get(task["id"]) for task in current.values()):
            return None
        moving = [
            task.task_id
            for task in tasks
            if task.task_id in current
            and (task.versions is None or current[task.task_id]["version"] in task.versions)
        ]
        last, _ = await TOP_LEVEL.neighbours(connection, (user_id, list_id, 0), Place(None, None))
        owns = [current[task_id]["position"] for task_id in moving]
        keys = keys_after(None if last is None else last[0], owns)
        placed = {
            record["id"]: cast(Task, dict(record))
            for record in await connection.fetch(many.PLACE_MANY, user_id, list_id, moving, keys)
        }
        await connection.execute(many.SUBTREES_TO_LIST, user_id, moving, list_id)
        return [
            Outcome(written=True, current=placed[task.task_id])
            if task.task_id in placed
            else Outcome(written=False, current=current.get(task.task_id))
            for task in tasks
        ]

    async def move_all_beside(
        self, user_id: str, moves: Sequence[Beside]
    ) -> list[Outcome[Task] | NeighbourMissing] | None:
        """Each task put right after or before its neighbour in its own order, one after
        another, in a few statements for all (the order around each neighbour read once, the
        moves played on it, the new keys written at once); an outcome each, or the neighbour
        missing, as one move at a time would give them. None, having written nothing, when the
        order read does not reach far enough or a gap would need respacing (move them one at a
        time then)."""
        connection = self._connection
        task_ids = [move.task.task_id for move in moves]
        lists_of = {
            record["id"]: record["list_id"]
            for record in await connection.fetch(many.LISTS_OF_TASKS, user_id, task_ids)
        }
        await connection.fetch(many.LOCK_LISTS, user_id, sorted(set(lists_of.values())))
        current = {
            record["id"]: cast(Task, dict(record))
            for record in await connection.fetch(many.LOCK_TASKS, user_id, task_ids)
        }
        if any(task["list_id"] != lists_of.get(task["id"]) for task in current.values()):
            return None
        reach = len(moves) + 1
        anchors = sorted({move.neighbour for move in moves})
        siblings = await connection.fetch(many.SIBLINGS_AROUND, user_id, anchors, reach)
        outcomes = many.play_moves(moves, current, KnownOrder(siblings, reach))
        if outcomes is None:
            return None
        placed_keys = {
            move.task.task_id: outcome
            for move, outcome in zip(moves, outcomes, strict=True)
            if isinstance(outcome, str)
        }
        placed = {
            record["id"]: cast(Task, dict(record))
            for record in await connection.fetch(
                many.REPLACE_MANY, user_id, list(placed_keys), list(placed_keys.values())
            )
        }
        return [
            Outcome(written=True, current=placed[move.task.task_id])
            if isinstance(outcome, str)
            else outcome
            for move, outcome in zip(moves, outcomes, strict=True)
        ]

    async def advance(self, user_id: str, current: Task, plan: OccurrencePlan) -> Outcome[Task]:
        """A recurring task moved past its current occurrence, which is recorded as `plan` says.
        Written only if the task is still at `current`'s version; else the outcome holds the task
        as it is."""
        connection = self._connection
        task_id = current["id"]
        due = stored_due(cast(dict[str, Any], current["due"]))
        async with _unit(connection, True):
            clock = await self._clock(user_id, [due])
            changes, outcome = plan(clock)
            sql, arguments = update_statement(stored_changes(changes, clock), advancing=True)
            await connection.execute(NAME_CHANGE, outcome)
            record = await connection.fetchrow(
                sql, user_id, task_id, [current["version"]], *arguments
            )
            if record is not None:
                await connection.execute(
                    RECORD_OCCURRENCE,
                    user_id,
                    task_id,
                    current["due"],
                    current["due_at"],
                    outcome,
                    record["updated_at"],
                    current["version"],
                )
            return await _outcome(connection, record, user_id, task_id)

    async def move_floating_dues(self, user_id: str, clock: Clock) -> None:
        """Every due date read in the user's zone (a date alone, a floating time) read in
        `clock`'s instead, in the caller's transaction, which holds the user's zone."""
        records = await self._connection.fetch(FLOATING_DUES, user_id)
        if not records:
            return
        moved = [(record["id"], *stored_due(record["due"]).instants(clock)) for record in records]
        await self._connection.execute(
            MOVE_DUES,
            user_id,
            [task_id for task_id, _, _ in moved],
            [due_at for _, due_at, _ in moved],
            [overdue_at for _, _, overdue_at in moved],
        )

    async def hold_lists(self, user_id: str, list_ids: Collection[int]) -> set[int]:
        """Which of `list_ids` the user holds, each kept from being deleted until the caller's
        transaction ends, so that writes into them cannot fail on the list's key."""
        records = await self._connection.fetch(HOLD_LISTS, user_id, list(list_ids))
        return {record["id"] for record in records}

    async def add(self, user_id: str, fields: NewFields, cap: int) -> Task | None:
        """The new task; None when the user already holds `cap` tasks."""
        connection = self._connection
        several = fields.parent_id is not None or _floats(fields.due)
        async with _naming_a_held_list(), _unit(connection, several):
            clock = await self._clock(user_id, [fields.due])
            return await _insert(connection, user_id, fields, cap, clock)

    async def replace(
        self, user_id: str, task_id: int, versions: list[int] | None, fields: NewFields
    ) -> Outcome[Task]:
        connection = self._connection
        several = fields.list_id is not None or _floats(fields.due)
        async with _naming_a_held_list(), _unit(connection, several):
            clock = await self._clock(user_id, [fields.due])
            record = await connection.fetchrow(
                REPLACE, user_id, task_id, versions, *_values(fields, clock)
            )
            if record is not None and fields.list_id is not None:
                await connection.execute(SUBTREE_TO_LIST, user_id, task_id, record["list_id"])
            return await _outcome(connection, record, user_id, task_id)

    async def update(
        self, user_id: str, task_id: int, versions: list[int] | None, changes: dict[str, Any]
    ) -> Outcome[Task]:
        connection = self._connection
        spreads = "list_id" in changes
        async with _naming_a_held_list(), _unit(connection, spreads or _floats(changes.get("due"))):
            clock = await self._clock(user_id, [changes.get("due")])
            sql, arguments = update_statement(stored_changes(changes, clock))
            record = await connection.fetchrow(sql, user_id, task_id, versions, *arguments)
            if record is not None and spreads:
                await connection.execute(SUBTREE_TO_LIST, user_id, task_id, record["list_id"])
            return await _outcome(connection, record, user_id, task_id)

    async def toggle_completion(
        self, user_id: str, task_id: int, versions: list[int] | None
    ) -> Outcome[Task]:
        record = await self._connection.fetchrow(TOGGLE, user_id, task_id, versions)
        return await _outcome(self._connection, record, user_id, task_id)

    async def delete(self, user_id: str, task_id: int, versions: list[int] | None) -> Outcome[Task]:
        connection = self._connection
        # Within a caller's transaction the failed statement ends it: the caller makes it all
        # again (TaskRepository.in_one_transaction).
        attempts = 1 if connection.is_in_transaction() else DELETE_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                deleted: int = await connection.fetchval(DELETE, user_id, task_id, versions)
                break
            except asyncpg.ForeignKeyViolationError as error:
                if error.constraint_name != PARENT_KEY or attempt == attempts:
                    raise
        if deleted == 1:
            return Outcome(written=True, current=None)
        return await _outcome(connection, None, user_id, task_id)

    async def move(
        self, user_id: str, task_id: int, versions: list[int] | None, to: Destination
    ) -> Outcome[Task]:
        """Put the task at `to`, its subtasks along; the outcome as for `replace` (a move to
        where the task is changes nothing). A neighbour, list or parent that is not there, or a
        parent that would make a cycle or nest too deep, raises."""
        connection = self._connection
        async with _unit(connection, True):
            own_list = await connection.fetchval(LIST_OF, user_id, task_id)
            if own_list is None:
                return Outcome(written=False, current=None)
            list_id = to.list_id or own_list
            if to.parent_id is not None:
                parent_list = await connection.fetchval(LIST_OF, user_id, to.parent_id)
                if parent_list is None or (to.list_id is not None and to.list_id != parent_list):
                    raise ParentMissing
                list_id = parent_list
            # Both lists, in one order for every move, so that two moves cannot wait on each
            # other; a subtree leaves one and joins the other.
            for locked in sorted({own_list, list_id}):
                if await connection.fetchval(LOCK_LIST, user_id, locked) is None:
                    raise ListMissing
            current = _task(await connection.fetchrow(LOCK_TASK, user_id, task_id))
            if current is None or (versions is not None and current["version"] not in versions):
                return Outcome(written=False, current=current)
            parent = _new_parent(current, to, list_id)
            if parent is not None:
                await _check_nesting(connection, user_id, task_id, parent)
            order, group = (SUBTASKS, parent) if parent is not None else (TOP_LEVEL, list_id)
            scope = (user_id, group, task_id)
            lower, upper = await order.neighbours(connection, scope, to.place)
            mine = (current["position"], task_id)
            stays = current["list_id"] == list_id and current["parent_id"] == parent
            if stays and already_there(mine, lower, upper):
                return Outcome(written=False, current=current)
            key, moved = await order.key_between(connection, scope, lower, upper)
            if list_id != current["list_id"] and parent is None:
                below = None if lower is None else moved.get(lower[1], lower[0])
                key = not_its_own(key, current["position"], below)
            if moved:
                await connection.execute(
                    RESPACE, user_id, list_id, list(moved), list(moved.values())
                )
            placed = await connection.fetchrow(PLACE, user_id, task_id, list_id, key, parent)
            if list_id != current["list_id"]:
                await connection.execute(SUBTREE_TO_LIST, user_id, task_id, list_id)
            return Outcome(written=True, current=_task(placed))


class _Discarded(Exception):
    """Rolls back a transaction whose result its caller still answers with."""

    def __init__(self, result: object) -> None:
        super().__init__("discarded")
        self.result = result


def _made_again(error: asyncpg.PostgresError) -> bool:
    """Whether a transaction that failed on `error` is made again: it lost a race (a deadlock,
    an id another write drew, a subtask written under a task being deleted), not a rule."""
    if isinstance(error, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
        return True
    constraint = getattr(error, "constraint_name", None)
    if isinstance(error, asyncpg.UniqueViolationError):
        return constraint == TASK_KEY
    return isinstance(error, asyncpg.ForeignKeyViolationError) and constraint == PARENT_KEY


def _unit(connection: asyncpg.Connection, spreads: bool) -> AbstractAsyncContextManager[object]:
    """A transaction when the write takes more than one statement (a subtree following its
    task to another list, a parent locked for its new subtask), unless the caller's holds it
    already; else none: a write of one statement is atomic by itself, and a shutdown that cuts
    it short answers at once, without waiting on a ROLLBACK."""
    if spreads and not connection.is_in_transaction():
        return cast(AbstractAsyncContextManager[object], connection.transaction())
    return nullcontext()


async def _insert(
    connection: asyncpg.Connection, user_id: str, fields: NewFields, cap: int, clock: Clock
) -> Task | None:
    """The new task, in its parent's list when it has one (the parent held until the task is
    written, so that it cannot move or go meanwhile)."""
    if fields.parent_id is not None:
        parent_list = await connection.fetchval(LOCK_PARENT, user_id, fields.parent_id)
        if parent_list is None or fields.list_id not in (None, parent_list):
            raise ParentMissing
        if await connection.fetchval(DEPTH, user_id, fields.parent_id) >= MAX_DEPTH:
            raise TooDeep
        fields = replace(fields, list_id=parent_list)
    *values, due, overdue_at, recurrence, reminders = _values(fields, clock)
    record = await connection.fetchrow(
        INSERT, user_id, *values, cap, fields.parent_id, due, overdue_at, recurrence, reminders
    )
    return _task(record)


def _new_parent(current: Task, to: Destination, list_id: int) -> int | None:
    """The task's parent after the move: the one named (None: the top level); else its own,
    unless it leaves its list."""
    if to.parent_named:
        return to.parent_id
    return current["parent_id"] if current["list_id"] == list_id else None


async def _check_nesting(
    connection: asyncpg.Connection, user_id: str, task_id: int, parent: int
) -> None:
    """Raise unless the task and its subtree fit under `parent`: not under itself, and no
    deeper than MAX_DEPTH."""
    if parent == task_id:
        raise ParentIsSubtask
    shape = await connection.fetchrow(SUBTREE_SHAPE, user_id, task_id, parent)
    if shape["holds"]:
        raise ParentIsSubtask
    if await connection.fetchval(DEPTH, user_id, parent) + 1 + shape["levels"] > MAX_DEPTH:
        raise TooDeep


def _values(fields: NewFields, clock: Clock) -> tuple[Any, ...]:
    """The fields as REPLACE binds them ($4 on); INSERT takes the last four after its own."""
    due, due_at, overdue_at = due_columns(fields.due, clock)
    return (
        fields.title,
        fields.description,
        fields.priority,
        fields.tags,
        due_at,
        fields.list_id,
        due,
        overdue_at,
        fields.recurrence,
        fields.reminders,
    )


def _floats(due: Due | None) -> bool:
    return due is not None and due.floats


def due_columns(
    due: Due | None, clock: Clock
) -> tuple[dict[str, Any] | None, datetime | None, datetime | None]:
    """A due date as stored: its form, its instant, and when it is overdue from."""
    if due is None:
        return None, None, None
    due_at, overdue_at = due.instants(clock)
    return due.document(), due_at, overdue_at


def stored_changes(changes: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """A patch's changes as columns: a `due` becomes its three (due_columns)."""
    if "due" not in changes:
        return changes
    stored = dict(changes)
    stored["due"], stored["due_at"], stored["overdue_at"] = due_columns(changes["due"], clock)
    return stored


@asynccontextmanager
async def _naming_a_held_list() -> AsyncIterator[None]:
    """A list the block's write names that the user does not hold, raised as ListMissing.

    The list's key is checked by the database (tasks_list_id_fkey): a list deleted while the
    write waits for it is caught as surely as one that never was.
    """
    try:
        yield
    except asyncpg.ForeignKeyViolationError as error:
        if error.constraint_name != LIST_KEY:
            raise
        raise ListMissing from error


def update_statement(changes: dict[str, Any], advancing: bool = False) -> tuple[str, list[Any]]:
    """UPDATE … SET only the changed columns, and only if one of them differs.

    The statement's first three parameters are MATCHING's (user, task, versions); the values of
    `changes` follow them, in the arguments returned. Unless `advancing` (a recurring task's
    next occurrence, which the service computed), it does not complete a recurring task.
    """
    unknown = [name for name in changes if name not in PATCHABLE]
    if unknown:
        raise ValueError(f"PATCH cannot set {', '.join(map(repr, unknown))}: not in PATCHABLE")
    statement = Statement(preceding=3)
    assignments: list[str] = []
    differences: list[str] = []
    guards: list[str] = []
    stamp = STAMP
    new_values: dict[str, str] = {}
    for name, value in changes.items():
        new_value = f"{statement.parameter(value)}::{PATCHABLE[name]}"
        new_values[name] = new_value
        assignments.append(f"{name} = {new_value}")
        differences.append(
            REMINDERS_DIFFER.format(reminders=new_value)
            if name == "reminders"
            else f"{name} IS DISTINCT FROM {new_value}"
        )
        if name == "completed":
            stamp = completion_stamp(new_value)
        if name == "list_id":
            # Into another list, out of its parent (its subtasks follow: SUBTREE_TO_LIST).
            assignments.append(f"parent_id = CASE WHEN list_id = {new_value} THEN parent_id END")
    if "completed" in changes and not advancing:
        recurrence = new_values.get("recurrence", "recurrence")
        completed = new_values["completed"]
        guards.append(REOPENS_OR_RECURS_NOT.format(recurrence=recurrence, completed=completed))
    if "due" in changes or "recurrence" in changes:
        guards.append(
            KEEPS_A_DUE_IF_RECURRING.format(
                recurrence=new_values.get("recurrence", "recurrence"),
                due=new_values.get("due", "due"),
            )
        )
    sql = f"""
        UPDATE tasks SET {", ".join(assignments)}, {stamp}
        WHERE {" AND ".join([MATCHING, *guards])} AND ({" OR ".join(differences)})
        RETURNING {TASK_COLUMNS}"""  # noqa: S608 (columns of PATCHABLE only, values bound)
    if "completed" in changes:
        sql = spreading_completion(sql, TASK_COLUMNS)
    return named("update_task", sql), statement.arguments


def _change(record: asyncpg.Record) -> Change:
    key = ChangeKey(record["xid"], record["kind"], record["id"])
    if record["deleted"]:
        return Change(key, None)
    fields = LIST_FIELDS if key.kind == LIST_KIND else TASK_FIELDS
    return Change(key, cast(Task | TodoList, {name: record[name] for name in fields}))
