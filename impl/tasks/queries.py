"""The SQL of the list and of delta sync, composed from fixed fragments.

Only the shape of a statement varies (which filters, which order); every value is a parameter.
Each shape is prepared once per connection by asyncpg and kept in its statement cache.
"""

from dataclasses import dataclass, field
from typing import Any

from impl.observability.naming import named
from impl.tasks.listing import PageStart, Sort, TaskFilter

# The columns of the contract's `Task`, in its order.
TASK_COLUMNS = (
    "id, user_id, title, description, completed, created_at, updated_at,"
    " priority, tags, due_at, completed_at, version"
)
# Sort key expressions, each matching an index of migrations 0002 and 0004 exactly. Tasks
# without a due date sort last in both directions.
SORT_KEYS = {
    ("created_at", False): "created_at",
    ("updated_at", False): "updated_at",
    ("priority", False): "priority",
    ("title", False): 'title COLLATE "C"',
    ("due_at", False): "coalesce(due_at, 'infinity'::timestamptz)",
}
SORT_KEYS.update({(name, True): key for (name, _), key in SORT_KEYS.items() if name != "due_at"})
SORT_KEYS[("due_at", True)] = "coalesce(due_at, '-infinity'::timestamptz)"
PAGE_START_KEYS = {
    "created_at": "$%d::timestamptz",
    "updated_at": "$%d::timestamptz",
    "priority": "$%d::task_priority",
    "title": '$%d::text COLLATE "C"',
}
# Every word of the search text, as a prefix: 'mil' finds "milk". Its words are found by the
# function that finds a task's (migration 0011), then quoted for to_tsquery; no word at all gives
# NULL, which matches nothing. A task's words are stored: a generic plan of the prepared statement
# may read the user's tasks by key and filter each one, and must not compute them again per row.
TEXT_QUERY = """search_words @@ to_tsquery('simple', (
    SELECT string_agg('''' || replace(replace(lexeme, '\\', '\\\\'), '''', '''''') || ''':*', ' & ')
    FROM unnest(task_search_words($%d::text, NULL))))"""
OVERDUE = "(due_at < now() AND NOT completed)"


@dataclass
class Statement:
    """SQL text with its parameters, built one condition at a time."""

    conditions: list[str] = field(default_factory=list)
    arguments: list[Any] = field(default_factory=list)

    def parameter(self, value: Any) -> int:
        self.arguments.append(value)
        return len(self.arguments)

    def where(self, template: str, *values: Any) -> None:
        numbers = tuple(self.parameter(value) for value in values)
        self.conditions.append(template % numbers if numbers else template)


def list_statement(
    user_id: str, task_filter: TaskFilter, sort: Sort, start: PageStart | None, limit: int
) -> tuple[str, list[Any]]:
    """One page of the user's tasks: `limit` rows from after `start`, in `sort` order."""
    statement = Statement()
    statement.where("user_id = $%d", user_id)
    _filter(statement, task_filter)
    key = SORT_KEYS[(sort.field, sort.descending)]
    direction = "DESC" if sort.descending else "ASC"
    if start is not None:
        if sort.field == "due_at":
            infinity = "-infinity" if sort.descending else "infinity"
            start_key = f"coalesce($%d::timestamptz, '{infinity}'::timestamptz)"
        else:
            start_key = PAGE_START_KEYS[sort.field]
        comparison = "<" if sort.descending else ">"
        statement.where(
            f"({key}, id) {comparison} ({start_key}, $%d::bigint)", start.key, start.task_id
        )
    limit_number = statement.parameter(limit)
    sql = (
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE {' AND '.join(statement.conditions)}"
        f" ORDER BY {key} {direction}, id {direction} LIMIT ${limit_number}"
    )
    return named("list_tasks", sql), statement.arguments


def _filter(statement: Statement, task_filter: TaskFilter) -> None:
    if task_filter.status == "pending":
        statement.where("NOT completed")
    elif task_filter.status == "completed":
        statement.where("completed")
    if task_filter.priorities:
        statement.where("priority = ANY($%d::task_priority[])", sorted(task_filter.priorities))
    if task_filter.tags:
        statement.where("tags @> $%d::text[]", sorted(task_filter.tags))
    if task_filter.text is not None:
        statement.where(TEXT_QUERY, task_filter.text)
    if task_filter.due_before is not None:
        statement.where("due_at < $%d", task_filter.due_before)
    if task_filter.due_after is not None:
        statement.where("due_at >= $%d", task_filter.due_after)
    if task_filter.overdue is True:
        statement.where(OVERDUE)
    elif task_filter.overdue is False:
        statement.where(f"NOT coalesce({OVERDUE}, false)")


def _changes_branch(source: str, since: bool, columns: str) -> str:
    xid, task_id = {"tasks": ("changed_xid", "id"), "task_deletions": ("deleted_xid", "task_id")}[
        source
    ]
    unseen = (
        f" AND {xid} >= pg_snapshot_xmin($6::text::pg_snapshot)"
        f" AND NOT pg_visible_in_snapshot({xid}, $6::text::pg_snapshot)"
        if since
        else ""
    )
    return (
        f"SELECT {xid} AS xid, {task_id} AS task_id, {columns} FROM {source}"
        f" WHERE user_id = $1{unseen} AND pg_visible_in_snapshot({xid}, $2::text::pg_snapshot)"
        f" AND ({xid}, {task_id}) > ($3::text::xid8, $4::bigint)"
    )


_TASK_CHANGE = (
    "false AS deleted, user_id, title, description, completed, created_at, updated_at,"
    " priority, tags, due_at, completed_at, version"
)
_DELETION = (
    "true, NULL::text, NULL::text, NULL::text, NULL::boolean, NULL::timestamptz,"
    " NULL::timestamptz, NULL::task_priority, NULL::text[], NULL::timestamptz,"
    " NULL::timestamptz, NULL::bigint"
)


def changes_statement(since: bool) -> str:
    """What changed for user $1 up to snapshot $2, and after snapshot $6 when `since`.

    A row is stamped with the id of the transaction that last wrote it (deleted ids, of the one
    that deleted it); a snapshot says which transactions had committed when it was taken. Rows
    of transactions the earlier snapshot could not see, and the later one can, are the changes
    between them, in whatever order those transactions committed. Paged by (xid, id) from
    ($3, $4), $5 rows at a time.
    """
    branches = [_changes_branch("tasks", since, _TASK_CHANGE)]
    if since:
        branches.append(_changes_branch("task_deletions", since, _DELETION))
    union = " UNION ALL ".join(f"({branch})" for branch in branches)
    return named(
        "list_changes",
        "SELECT xid::text AS xid, task_id AS id, deleted, user_id, title, description, completed,"
        " created_at, updated_at, priority, tags, due_at, completed_at, version"
        f" FROM ({union}) AS changes ORDER BY changes.xid, changes.task_id LIMIT $5",
    )
