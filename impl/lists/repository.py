"""All SQL for task lists. Every statement is filtered by the owner's user id.

As for tasks (impl/tasks/repository.py): a write checks its precondition (If-Match) in the
statement that writes, stamps the row with a new `version`, the time and its transaction (for
delta sync), and a list row is the contract's `TodoList` column for column.

The Inbox is made by the database (`user_inbox`, migration 0016) the first time the user needs
it: when a task is written without a list, when the user's lists are read, or before another
list is made, so that it is always the user's first. Whatever changes the set or the order of a
user's lists (a creation, a deletion) holds the lock of the Inbox's row for its transaction: of
two at once, the second computes its position, and counts the lists, after the first committed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

import asyncpg

from generated.documents import TodoList
from impl.db.ids import drawing_ids_again
from impl.db.pool import Database
from impl.idempotency import KeyedRequest, RecordedAnswer, earlier_answer, remember
from impl.observability.naming import named
from impl.ordering import Place, already_there, sibling_order
from impl.positions import key_between, keys_after
from impl.tasks.queries import Statement
from impl.tasks.repository import ENSURE_INBOX
from impl.tasks.stamps import STAMP
from impl.trash.columns import TRASHED_LIST_COLUMNS, TRASHED_TASK_COLUMNS
from impl.versioned import Outcome

LIST_COLUMNS = (
    "id, user_id, name, color, position, is_inbox, archived, created_at, updated_at, version"
)
ListSortField = Literal["manual", "name", "created_at"]
# Each order's key, matching an index of migrations 0016 and 0020; ties are broken by id.
SORT_KEYS: dict[str, str] = {
    "manual": "position",
    "name": 'name COLLATE "C"',
    "created_at": "created_at",
}
PAGE_START_TYPES = {
    "manual": 'text COLLATE "C"',
    "name": 'text COLLATE "C"',
    "created_at": "timestamptz",
}
GET = named("get_list", f"SELECT {LIST_COLUMNS} FROM task_lists WHERE user_id = $1 AND id = $2")  # noqa: S608 (fixed columns)
LOCK_ORDER = named(
    "lock_list_order",
    "SELECT id FROM task_lists WHERE user_id = $1 AND is_inbox FOR NO KEY UPDATE",
)
# Read once the lock is held: in a statement of its own, whose snapshot sees what the holder
# before committed.
COUNT_AND_LAST = named(
    "count_lists",
    "SELECT count(*) AS lists, max(position) AS last FROM task_lists WHERE user_id = $1",
)
# An id that was a deleted list's loses its deletion, as a task's does (impl/tasks/repository.py).
INSERT = named(
    "insert_list",
    f"""
    WITH added AS (
        INSERT INTO task_lists (user_id, name, color, archived, position)
        VALUES ($1, $2, $3, $4, $5)
        RETURNING {LIST_COLUMNS}
    ), reused AS (
        DELETE FROM task_list_deletions AS deletion USING added
        WHERE deletion.user_id = added.user_id AND deletion.list_id = added.id
    )
    SELECT {LIST_COLUMNS} FROM added
""",  # noqa: S608 (fixed columns)
)
# A drawn id the user already holds fails the insert on the list's key (impl/db/ids.py).
LIST_KEY = "task_lists_pkey"
# $3: the versions If-Match allows, or NULL for any. The Inbox is never archived: such a write
# matches no row, and the service tells why.
MATCHING = "user_id = $1 AND id = $2 AND ($3::bigint[] IS NULL OR version = ANY($3::bigint[]))"
REPLACE = named(
    "replace_list",
    f"""
    UPDATE task_lists SET name = $4, color = $5, archived = $6, {STAMP}
    WHERE {MATCHING} AND NOT (is_inbox AND $6)
      AND (name, color, archived) IS DISTINCT FROM ($4, $5, $6)
    RETURNING {LIST_COLUMNS}
""",  # noqa: S608 (fixed fragments)
)
PATCHABLE = {"name": "text", "color": "text", "archived": "boolean"}
LOCK_FOR_DELETE = named(
    "lock_list_for_delete",
    f"SELECT {LIST_COLUMNS} FROM task_lists WHERE user_id = $1 AND id = $2 FOR UPDATE",  # noqa: S608 (fixed columns)
)


# The list goes into the trash, an item of it with `task_count` tasks (migration 0033), and its
# id is remembered for delta sync; its tasks either go with it (into the trash, to come back with
# the list; each id remembered, the user's count lowered) or move to the Inbox with a new
# version. One statement: the key of tasks to lists is checked at its end, when no task is left
# in the list.
def _forget_list(task_count: str) -> str:
    return f"""
    gone AS (
        DELETE FROM task_lists WHERE user_id = $1 AND id = $2
        RETURNING user_id, id, {TRASHED_LIST_COLUMNS}
    ), list_trashed AS (
        INSERT INTO trashed_lists (user_id, id, {TRASHED_LIST_COLUMNS})
        SELECT user_id, id, {TRASHED_LIST_COLUMNS} FROM gone
    ), item AS (
        INSERT INTO trash (user_id, kind, item_id, version, task_count)
        SELECT user_id, 'list', id, version, {task_count} FROM gone
    ), list_remembered AS (
        INSERT INTO task_list_deletions (user_id, list_id) SELECT user_id, id FROM gone
    )"""  # noqa: S608 (fixed fragments)


DELETE_WITH_TASKS = named(
    "delete_list_with_tasks",
    f"""
    WITH tasks_gone AS (
        DELETE FROM tasks WHERE user_id = $1 AND list_id = $2
        RETURNING user_id, id, {TRASHED_TASK_COLUMNS}
    ), tasks_trashed AS (
        INSERT INTO trashed_tasks (user_id, id, trash_kind, trash_item_id, {TRASHED_TASK_COLUMNS})
        SELECT user_id, id, 'list', $2, {TRASHED_TASK_COLUMNS} FROM tasks_gone
    ), tasks_remembered AS (
        INSERT INTO task_deletions (user_id, task_id) SELECT user_id, id FROM tasks_gone
    ), counted AS (
        UPDATE task_counts SET task_count = task_count - (SELECT count(*) FROM tasks_gone)
        WHERE user_id = $1 AND EXISTS (SELECT FROM tasks_gone)
    ), {_forget_list("(SELECT count(*) FROM tasks_gone)")}
    SELECT count(*) FROM tasks_gone
""",  # noqa: S608 (fixed fragments)
)
# The tasks come last in the Inbox, in the order they had ($3: their ids, $4: their new keys).
DELETE_MOVING_TASKS = named(
    "delete_list_moving_tasks",
    f"""
    WITH moved AS (
        UPDATE tasks SET list_id = (
                SELECT id FROM task_lists WHERE user_id = $1 AND is_inbox
            ),
            position = fresh.position,
            version = version + 1,
            updated_at = greatest(clock_timestamp(), tasks.updated_at),
            changed_xid = pg_current_xact_id()
        FROM unnest($3::bigint[], $4::text[]) AS fresh (id, position)
        WHERE tasks.user_id = $1 AND tasks.list_id = $2 AND tasks.id = fresh.id
        RETURNING tasks.id
    ), {_forget_list("0")}
    SELECT count(*) FROM moved
""",  # noqa: S608 (fixed fragments)
)
TASKS_IN_ORDER = named(
    "read_tasks_of_list_in_order",
    "SELECT id, position FROM tasks WHERE user_id = $1 AND list_id = $2 ORDER BY position, id",
)
LAST_IN_INBOX = named(
    "read_last_position_in_inbox",
    """
    SELECT max(position) FROM tasks
    WHERE user_id = $1 AND list_id = (SELECT id FROM task_lists WHERE user_id = $1 AND is_inbox)
""",
)
ORDER = sibling_order("lists", "task_lists", "user_id = $2")
LOCK_LIST_TO_MOVE = named(
    "lock_list_to_move",
    f"SELECT {LIST_COLUMNS} FROM task_lists WHERE user_id = $1 AND id = $2 FOR NO KEY UPDATE",  # noqa: S608 (fixed columns)
)
RESPACE = named(
    "respace_lists",
    f"""
    UPDATE task_lists SET position = fresh.position, {STAMP}
    FROM unnest($2::bigint[], $3::text[]) AS fresh (id, position)
    WHERE task_lists.user_id = $1 AND task_lists.id = fresh.id
""",  # noqa: S608 (fixed fragments)
)
PLACE = named(
    "place_list",
    f"""
    UPDATE task_lists SET position = $3, {STAMP}
    WHERE user_id = $1 AND id = $2
    RETURNING {LIST_COLUMNS}
""",  # noqa: S608 (fixed fragments)
)


@dataclass(frozen=True, slots=True)
class NewList:
    """Every editable field of a list, as stored."""

    name: str
    color: str | None
    archived: bool


@dataclass(frozen=True, slots=True)
class ListPageStart:
    """The sort key and id of the last list of the previous page."""

    key: Any
    list_id: int


@dataclass(frozen=True, slots=True)
class Creation:
    """The new list; or (`created` None) the key's earlier answer, or, without one, no room."""

    created: TodoList | None
    earlier: RecordedAnswer | None = None


@dataclass(frozen=True, slots=True)
class Deletion:
    """What a delete did: `deleted`, or the list as it is (None: there is none)."""

    deleted: bool
    current: TodoList | None


def _list(record: asyncpg.Record | None) -> TodoList | None:
    return None if record is None else cast(TodoList, dict(record))


class ListRepository:
    """Reads and writes the rows of `task_lists`, always for one user at a time."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def list_page(
        self,
        user_id: str,
        archived: bool | None,
        sort: ListSortField,
        descending: bool,
        start: ListPageStart | None,
        limit: int,
    ) -> list[TodoList]:
        """Up to `limit` lists in order after `start`; the Inbox is made first if missing."""
        sql, arguments = page_statement(user_id, archived, sort, descending, start, limit)

        async def read(connection: asyncpg.Connection) -> list[asyncpg.Record]:
            if start is None:
                await connection.fetchval(ENSURE_INBOX, user_id)
            return cast(list[asyncpg.Record], await connection.fetch(sql, *arguments))

        records = await self._database.read(read)
        return [cast(TodoList, dict(record)) for record in records]

    async def get(self, user_id: str, list_id: int) -> TodoList | None:
        record = await self._database.read(
            lambda connection: connection.fetchrow(GET, user_id, list_id)
        )
        return _list(record)

    async def add(
        self,
        user_id: str,
        fields: NewList,
        cap: int,
        keyed: KeyedRequest | None = None,
    ) -> Creation:
        """The new list, last in the user's order; no list when the user holds `cap` already.

        With `keyed`, the key's earlier answer instead when it holds one.
        """

        async def insert() -> Creation:
            async with self._database.connection() as connection, connection.transaction():
                if keyed is not None:
                    earlier = await earlier_answer(connection, user_id, keyed)
                    if earlier is not None:
                        return Creation(None, earlier)
                await connection.fetchval(ENSURE_INBOX, user_id)
                await connection.execute(LOCK_ORDER, user_id)
                held = await connection.fetchrow(COUNT_AND_LAST, user_id)
                if held["lists"] >= cap:
                    return Creation(None)
                position = key_between(held["last"], None)
                created = _list(
                    await connection.fetchrow(
                        INSERT, user_id, fields.name, fields.color, fields.archived, position
                    )
                )
                if keyed is not None and created is not None:
                    await remember(connection, user_id, keyed, created)
                return Creation(created)

        return await drawing_ids_again(insert, LIST_KEY)

    async def replace(
        self, user_id: str, list_id: int, versions: list[int] | None, fields: NewList
    ) -> Outcome[TodoList]:
        async with self._database.connection() as connection:
            record = await connection.fetchrow(
                REPLACE, user_id, list_id, versions, fields.name, fields.color, fields.archived
            )
            return await _outcome(connection, record, user_id, list_id)

    async def update(
        self, user_id: str, list_id: int, versions: list[int] | None, changes: dict[str, Any]
    ) -> Outcome[TodoList]:
        """Set the `changes` (names of PATCHABLE), if one of them differs."""
        sql, arguments = update_statement(changes)
        async with self._database.connection() as connection:
            record = await connection.fetchrow(sql, user_id, list_id, versions, *arguments)
            return await _outcome(connection, record, user_id, list_id)

    async def delete(
        self,
        user_id: str,
        list_id: int,
        allowed: Callable[[TodoList], bool],
        move_tasks_to_inbox: bool,
    ) -> Deletion:
        """Delete the list if `allowed` says so of it as it is, locked: nothing can be written
        into it meanwhile (a task's key to its list waits for the lock, then finds no list)."""
        async with self._database.connection() as connection, connection.transaction():
            current = _list(await connection.fetchrow(LOCK_FOR_DELETE, user_id, list_id))
            if current is None or not allowed(current):
                return Deletion(False, current)
            # Statements of their own, after the lock: they see every task committed into the
            # list before.
            if not move_tasks_to_inbox:
                await connection.fetchval(DELETE_WITH_TASKS, user_id, list_id)
                return Deletion(True, None)
            moving = await connection.fetch(TASKS_IN_ORDER, user_id, list_id)
            last = await connection.fetchval(LAST_IN_INBOX, user_id)
            keys = keys_after(last, [record["position"] for record in moving])
            ids = [record["id"] for record in moving]
            await connection.fetchval(DELETE_MOVING_TASKS, user_id, list_id, ids, keys)
            return Deletion(True, None)

    async def move(
        self, user_id: str, list_id: int, versions: list[int] | None, place: Place
    ) -> Outcome[TodoList]:
        """Put the list at `place` in the user's order; the outcome as for `replace` (a move to
        where the list is changes nothing). A neighbour that is not the user's raises."""
        async with self._database.connection() as connection, connection.transaction():
            await connection.execute(LOCK_ORDER, user_id)
            current = _list(await connection.fetchrow(LOCK_LIST_TO_MOVE, user_id, list_id))
            if current is None or (versions is not None and current["version"] not in versions):
                return Outcome(written=False, current=current)
            scope = (user_id, user_id, list_id)
            lower, upper = await ORDER.neighbours(connection, scope, place)
            if already_there((current["position"], list_id), lower, upper):
                return Outcome(written=False, current=current)
            key, moved = await ORDER.key_between(connection, scope, lower, upper)
            if moved:
                await connection.execute(RESPACE, user_id, list(moved), list(moved.values()))
            placed = await connection.fetchrow(PLACE, user_id, list_id, key)
            return Outcome(written=True, current=_list(placed))


async def _outcome(
    connection: asyncpg.Connection, record: asyncpg.Record | None, user_id: str, list_id: int
) -> Outcome[TodoList]:
    if record is not None:
        return Outcome(written=True, current=_list(record))
    return Outcome(written=False, current=_list(await connection.fetchrow(GET, user_id, list_id)))


def page_statement(
    user_id: str,
    archived: bool | None,
    sort: ListSortField,
    descending: bool,
    start: ListPageStart | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """One page of the user's lists, each order served by its index."""
    statement = Statement()
    statement.where(f"user_id = {statement.parameter(user_id)}")
    if archived is not None:
        statement.where(f"archived = {statement.parameter(archived)}")
    key = SORT_KEYS[sort]
    direction = "DESC" if descending else "ASC"
    if start is not None:
        start_key = f"{statement.parameter(start.key)}::{PAGE_START_TYPES[sort]}"
        start_id = statement.parameter(start.list_id)
        comparison = "<" if descending else ">"
        statement.where(f"({key}, id) {comparison} ({start_key}, {start_id}::bigint)")
    limit_placeholder = statement.parameter(limit)
    sql = (
        f"SELECT {LIST_COLUMNS} FROM task_lists WHERE {' AND '.join(statement.conditions)}"  # noqa: S608 (fixed fragments, values bound)
        f" ORDER BY {key} {direction}, id {direction} LIMIT {limit_placeholder}"
    )
    return named("list_lists", sql), statement.arguments


def update_statement(changes: dict[str, Any]) -> tuple[str, list[Any]]:
    """UPDATE … SET only the changed columns, and only if one of them differs; never archiving
    the Inbox. MATCHING's parameters come first."""
    unknown = [name for name in changes if name not in PATCHABLE]
    if unknown:
        raise ValueError(f"PATCH cannot set {', '.join(map(repr, unknown))}: not in PATCHABLE")
    statement = Statement(preceding=3)
    assignments: list[str] = []
    differences: list[str] = []
    for name, value in changes.items():
        new_value = f"{statement.parameter(value)}::{PATCHABLE[name]}"
        assignments.append(f"{name} = {new_value}")
        differences.append(f"{name} IS DISTINCT FROM {new_value}")
    inbox_guard = ""
    if changes.get("archived") is True:
        inbox_guard = " AND NOT is_inbox"
    sql = f"""
        UPDATE task_lists SET {", ".join(assignments)}, {STAMP}
        WHERE {MATCHING}{inbox_guard} AND ({" OR ".join(differences)})
        RETURNING {LIST_COLUMNS}
    """  # noqa: S608 (columns of PATCHABLE only, values bound)
    return named("update_list", sql), statement.arguments
