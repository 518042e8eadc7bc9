"""All SQL of the trash (migration 0033): a user's items, newest first; restoring one (its
tasks and list moved back into the live tables, with their ids); removing one, or all, for good;
and the retention job's purge of every user's items past the trash retention.

A restore takes its item out of `trash` in a statement before the one that inserts its tasks:
the trigger that keeps new ids off trashed ones then sees it gone (migration 0033).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import asyncpg

from generated.documents import Task, TodoList
from impl.dates.due import stored_due
from impl.dates.zones import Clock, zone
from impl.db.pool import Database
from impl.lists.repository import LIST_COLUMNS, LOCK_ORDER
from impl.observability.naming import named
from impl.tasks.queries import TASK_COLUMNS
from impl.tasks.repository import (
    ENSURE_INBOX,
    LIST_FIELDS,
    MOVE_DUES,
    TASK_FIELDS,
    USER_ZONE,
)
from impl.tasks.repository import (
    GET as GET_TASK,
)
from impl.tasks.subtasks import DEPTH, LOCK_PARENT, MAX_DEPTH
from impl.trash.columns import TRASHED_LIST_COLUMNS, TRASHED_TASK_COLUMNS

Kind = Literal["task", "list"]


def _columns(fields: Sequence[str], table: str, prefix: str = "") -> str:
    """Each field of a document of `fields`, read from `table` (named `<prefix>.<field>` with a
    prefix). A trashed list has no `is_inbox`: the Inbox is never deleted."""
    values = [f"{table}.{field}" if field != "is_inbox" else "false" for field in fields]
    names = [f'"{prefix}.{field}"' if prefix else field for field in fields]
    return ", ".join(f"{value} AS {name}" for value, name in zip(values, names, strict=True))


# After the position ($2, $3, $4), newest first: one range of the index trash_newest, read
# backwards, each item's content found by its key.
PAGE = named(
    "list_trash",
    f"""
    SELECT item.kind, item.item_id, item.version, item.trashed_at, item.task_count,
           {_columns(TASK_FIELDS, "task", "task")},
           {_columns(LIST_FIELDS, "list", "list")}
    FROM trash AS item
    LEFT JOIN trashed_tasks AS task
        ON item.kind = 'task' AND task.user_id = item.user_id AND task.id = item.item_id
    LEFT JOIN trashed_lists AS list
        ON item.kind = 'list' AND list.user_id = item.user_id AND list.id = item.item_id
    WHERE item.user_id = $1 AND (item.trashed_at, item.kind, item.item_id) < ($2, $3::text, $4)
    ORDER BY item.trashed_at DESC, item.kind DESC, item.item_id DESC
    LIMIT $5
""",  # noqa: S608 (fixed columns)
)
# $4: the versions If-Match allows, or NULL for any.
TAKE_ITEM = named(
    "take_trash_item",
    """
    DELETE FROM trash
    WHERE user_id = $1 AND kind = $2 AND item_id = $3
      AND ($4::bigint[] IS NULL OR version = ANY($4::bigint[]))
    RETURNING version, task_count
""",
)
# A task or list of the trash as it was, when it is an item of the trash.
TRASHED_TASK = named(
    "read_trashed_task",
    f"""
    SELECT {_columns(TASK_FIELDS, "trashed_tasks")} FROM trashed_tasks
    WHERE user_id = $1 AND id = $2 AND trash_kind = 'task' AND trash_item_id = $2
""",  # noqa: S608 (fixed columns)
)
TRASHED_LIST = named(
    "read_trashed_list",
    f"""
    SELECT {_columns(LIST_FIELDS, "trashed_lists")}
    FROM trashed_lists WHERE user_id = $1 AND id = $2
""",  # noqa: S608 (fixed columns)
)
# Room for $2 more tasks under the cap ($3), taken on the user's locked count; none: no room.
TAKE_SLOTS = named(
    "take_task_slots",
    """
    INSERT INTO task_counts AS counts (user_id, task_count)
    SELECT $1::text, $2::integer WHERE $2::integer <= $3::integer
    ON CONFLICT (user_id) DO UPDATE SET task_count = counts.task_count + $2::integer
        WHERE counts.task_count + $2::integer <= $3::integer
    RETURNING task_count
""",
)
TRASHED_ROOT = named(
    "read_trashed_root",
    "SELECT list_id, parent_id FROM trashed_tasks WHERE user_id = $1 AND id = $2",
)
# How many levels the trashed subtree of $2 has, its root included.
TRASHED_HEIGHT = named(
    "read_trashed_subtree_height",
    """
    WITH RECURSIVE subtree (id, level) AS (
        SELECT id, 1 FROM trashed_tasks WHERE user_id = $1 AND id = $2
        UNION ALL
        SELECT child.id, subtree.level + 1
        FROM trashed_tasks AS child JOIN subtree ON child.parent_id = subtree.id
        WHERE child.user_id = $1
    )
    SELECT max(level) FROM subtree
""",
)
HOLD_LIST = named(
    "hold_list_for_restore",
    "SELECT id FROM task_lists WHERE user_id = $1 AND id = $2 FOR KEY SHARE",
)
# The tasks of item ($2, $3) back into `tasks`, each with a new version, in list $4; the item's
# root task (a task item's) under $5 and, unless $6, last in its list. Their deletions go, as a
# new task's do (impl/tasks/repository.py's INSERT).
RESTORE_TASKS = named(
    "restore_trashed_tasks",
    f"""
    WITH back AS (
        DELETE FROM trashed_tasks
        WHERE user_id = $1 AND trash_kind = $2 AND trash_item_id = $3
        RETURNING user_id, id, {TRASHED_TASK_COLUMNS}
    ), added AS (
        INSERT INTO tasks (user_id, id, {TRASHED_TASK_COLUMNS})
        SELECT back.user_id, back.id, back.title, back.description, back.completed,
               back.created_at, greatest(clock_timestamp(), back.updated_at), back.priority,
               back.tags, back.due_at, back.completed_at, back.version + 1, $4,
               CASE WHEN back.id = $3 AND $2 = 'task' AND NOT $6 THEN NULL ELSE back.position END,
               CASE WHEN back.id = $3 AND $2 = 'task' THEN $5 ELSE back.parent_id END,
               back.due, back.overdue_at, back.recurrence, back.reminders
        FROM back
        RETURNING {TASK_COLUMNS}
    ), reused AS (
        DELETE FROM task_deletions AS deletion USING added
        WHERE deletion.user_id = added.user_id AND deletion.task_id = added.id
    )
    SELECT {TASK_COLUMNS} FROM added
""",  # noqa: S608 (fixed columns)
)
RESTORE_LIST = named(
    "restore_trashed_list",
    f"""
    WITH back AS (
        DELETE FROM trashed_lists WHERE user_id = $1 AND id = $2
        RETURNING user_id, id, {TRASHED_LIST_COLUMNS}
    ), added AS (
        INSERT INTO task_lists (user_id, id, {TRASHED_LIST_COLUMNS})
        SELECT user_id, id, name, color, position, archived, version + 1, created_at,
               greatest(clock_timestamp(), updated_at)
        FROM back
        RETURNING {LIST_COLUMNS}
    ), reused AS (
        DELETE FROM task_list_deletions AS deletion USING added
        WHERE deletion.user_id = added.user_id AND deletion.list_id = added.id
    )
    SELECT {LIST_COLUMNS} FROM added
""",  # noqa: S608 (fixed columns)
)
COUNT_LISTS = named("count_lists_for_restore", "SELECT count(*) FROM task_lists WHERE user_id = $1")
GET_LIST = named(
    "get_list_for_restore",
    f"SELECT {LIST_COLUMNS} FROM task_lists WHERE user_id = $1 AND id = $2",  # noqa: S608 (fixed columns)
)
# What goes with items for good: the tasks and lists that would have come back with them, and
# the tasks' occurrences and history. `item` is a CTE of the items deleted from `trash`.
WITH_ITS_CONTENT = """
    , tasks_gone AS (
        DELETE FROM trashed_tasks AS task USING item
        WHERE task.user_id = item.user_id AND task.trash_kind = item.kind
          AND task.trash_item_id = item.item_id
        RETURNING task.user_id, task.id
    ), lists_gone AS (
        DELETE FROM trashed_lists AS list USING item
        WHERE item.kind = 'list' AND list.user_id = item.user_id AND list.id = item.item_id
    ), occurrences_gone AS (
        DELETE FROM task_occurrences AS occurrence USING tasks_gone
        WHERE occurrence.user_id = tasks_gone.user_id AND occurrence.task_id = tasks_gone.id
    ), history_gone AS (
        DELETE FROM task_history AS history USING tasks_gone
        WHERE history.user_id = tasks_gone.user_id AND history.task_id = tasks_gone.id
    )
    SELECT count(*) FROM item"""
REMOVE_ITEM = named(
    "remove_trash_item",
    f"""
    WITH item AS (
        DELETE FROM trash
        WHERE user_id = $1 AND kind = $2 AND item_id = $3
          AND ($4::bigint[] IS NULL OR version = ANY($4::bigint[]))
        RETURNING user_id, kind, item_id
    ){WITH_ITS_CONTENT}
""",  # noqa: S608 (fixed fragments)
)
EMPTY = named(
    "empty_trash",
    f"""
    WITH item AS (
        DELETE FROM trash WHERE user_id = $1 RETURNING user_id, kind, item_id
    ){WITH_ITS_CONTENT}
""",  # noqa: S608 (fixed fragments)
)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page of the trash starts: before this item, newest first."""

    trashed_at: datetime
    kind: str
    item_id: int


@dataclass(frozen=True, slots=True)
class TrashedItem:
    position: Position
    version: int
    task_count: int
    task: Task | None
    list: TodoList | None


class TaskLimit(Exception):
    """Restoring would pass the user's task limit."""


class ListLimit(Exception):
    """Restoring would pass the user's list limit."""


class NotTrashed(Exception):
    """No such item in the trash."""


@dataclass(frozen=True, slots=True)
class Taken:
    """Why an item was not taken from the trash: If-Match failed (`trashed`: the task or list
    in the trash), or it is not there (`live`: the task or list as it is, if it was restored)."""

    trashed: dict[str, Any] | None
    live: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Restored:
    """The restored task or list; `taken` says why there is none."""

    written: dict[str, Any] | None
    taken: Taken | None = None


class TrashRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def page(self, user_id: str, start: Position, limit: int) -> list[TrashedItem]:
        records = await self._database.read(
            lambda connection: connection.fetch(
                PAGE, user_id, start.trashed_at, start.kind, start.item_id, limit
            )
        )
        return [_item(record) for record in records]

    async def restore_task(
        self, user_id: str, task_id: int, versions: list[int] | None, cap: int
    ) -> Restored:
        async with self._database.connection() as connection:
            return await TrashWriter(connection).restore_task(user_id, task_id, versions, cap)

    async def restore_list(
        self,
        user_id: str,
        list_id: int,
        versions: list[int] | None,
        list_cap: int,
        task_cap: int,
    ) -> Restored:
        """The list back with the tasks deleted with it, as they were."""
        async with self._database.connection() as connection, connection.transaction():
            # In the order every write of lists takes its locks (impl/lists/repository.py).
            await connection.execute(ENSURE_INBOX, user_id)
            await connection.execute(LOCK_ORDER, user_id)
            item = await connection.fetchrow(TAKE_ITEM, user_id, "list", list_id, versions)
            if item is None:
                return Restored(None, await _not_taken(connection, user_id, "list", list_id))
            if await connection.fetchval(COUNT_LISTS, user_id) >= list_cap:
                raise ListLimit
            tasks = item["task_count"]
            if tasks and await connection.fetchval(TAKE_SLOTS, user_id, tasks, task_cap) is None:
                raise TaskLimit
            restored = await connection.fetchrow(RESTORE_LIST, user_id, list_id)
            records = await connection.fetch(
                RESTORE_TASKS, user_id, "list", list_id, list_id, None, True
            )
            await _read_floating_dues_again(connection, user_id, records)
        return Restored(dict(restored))

    async def remove(
        self, user_id: str, kind: Kind, item_id: int, versions: list[int] | None
    ) -> Taken | None:
        """The item gone for good; None when it went, else why not."""
        async with self._database.connection() as connection, connection.transaction():
            if await connection.fetchval(REMOVE_ITEM, user_id, kind, item_id, versions):
                return None
            return await _not_taken(connection, user_id, kind, item_id, live=False)

    async def empty(self, user_id: str) -> int:
        """Every item of the user's gone for good: how many."""
        async with self._database.connection() as connection:
            removed: int = await connection.fetchval(EMPTY, user_id)
        return removed


async def _not_taken(
    connection: asyncpg.Connection, user_id: str, kind: Kind, item_id: int, live: bool = True
) -> Taken:
    trashed = await connection.fetchrow(
        TRASHED_TASK if kind == "task" else TRASHED_LIST, user_id, item_id
    )
    if trashed is not None or not live:
        return Taken(None if trashed is None else dict(trashed), None)
    record = await connection.fetchrow(GET_TASK if kind == "task" else GET_LIST, user_id, item_id)
    return Taken(None, None if record is None else dict(record))


async def _home(
    connection: asyncpg.Connection, user_id: str, task_id: int, root: asyncpg.Record
) -> tuple[int, int | None]:
    """Where a trashed task goes back: its list and parent, held until the restore ends."""
    parent_id = root["parent_id"]
    if parent_id is not None:
        parent_list = await connection.fetchval(LOCK_PARENT, user_id, parent_id)
        if parent_list is not None:
            depth = await connection.fetchval(DEPTH, user_id, parent_id)
            height = await connection.fetchval(TRASHED_HEIGHT, user_id, task_id)
            if depth + height <= MAX_DEPTH:
                return parent_list, parent_id
    if await connection.fetchval(HOLD_LIST, user_id, root["list_id"]) is not None:
        return root["list_id"], None
    inbox: int = await connection.fetchval(ENSURE_INBOX, user_id)
    return inbox, None


async def _read_floating_dues_again(
    connection: asyncpg.Connection, user_id: str, restored: Sequence[asyncpg.Record]
) -> None:
    """The restored due dates read in the user's zone (a date alone, a floating time) read in
    the zone the user has now, which may have changed while they were in the trash."""
    floating = [
        (record["id"], stored_due(record["due"]))
        for record in restored
        if record["due"] is not None
    ]
    floating = [(task_id, due) for task_id, due in floating if due.floats]
    if not floating:
        return
    clock = Clock(zone(await connection.fetchval(USER_ZONE, user_id)))
    moved = [(task_id, *due.instants(clock)) for task_id, due in floating]
    await connection.execute(
        MOVE_DUES,
        user_id,
        [task_id for task_id, _, _ in moved],
        [due_at for _, due_at, _ in moved],
        [overdue_at for _, _, overdue_at in moved],
    )


def _item(record: asyncpg.Record) -> TrashedItem:
    position = Position(record["trashed_at"], record["kind"], record["item_id"])
    task = list_ = None
    if record["kind"] == "task":
        task = cast(Task, {field: record[f"task.{field}"] for field in TASK_FIELDS})
    else:
        list_ = cast(TodoList, {field: record[f"list.{field}"] for field in LIST_FIELDS})
    return TrashedItem(position, record["version"], record["task_count"], task, list_)


class TrashWriter:
    """A restore on a lent connection: in a transaction of its own, or in a savepoint of the
    caller's (a batch), so that a refusal after the item was taken leaves it in the trash."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def restore_task(
        self, user_id: str, task_id: int, versions: list[int] | None, cap: int
    ) -> Restored:
        """The task back with the subtasks deleted with it: under its parent if that is there
        (and deep enough room), else at the top level of its list, else of the Inbox."""
        connection = self._connection
        async with connection.transaction():
            item = await connection.fetchrow(TAKE_ITEM, user_id, "task", task_id, versions)
            if item is None:
                return Restored(None, await _not_taken(connection, user_id, "task", task_id))
            if await connection.fetchval(TAKE_SLOTS, user_id, item["task_count"] + 1, cap) is None:
                raise TaskLimit
            root = await connection.fetchrow(TRASHED_ROOT, user_id, task_id)
            list_id, parent_id = await _home(connection, user_id, task_id, root)
            keeps_place = (list_id, parent_id) == (root["list_id"], root["parent_id"])
            records = await connection.fetch(
                RESTORE_TASKS, user_id, "task", task_id, list_id, parent_id, keeps_place
            )
            await _read_floating_dues_again(connection, user_id, records)
            restored = await connection.fetchrow(GET_TASK, user_id, task_id)
        return Restored(dict(restored))
