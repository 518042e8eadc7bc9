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
    " priority, tags, due_at, due, recurrence, reminders, completed_at, version, list_id,"
    " parent_id,"
    " position"
)
# The same, of the table `tasks`, for a statement that joins it.
QUALIFIED_TASK_COLUMNS = ", ".join(f"tasks.{column.strip()}" for column in TASK_COLUMNS.split(","))
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
# The manual order: each list's own (migration 0022's index), one list after another.
SORT_KEYS[("manual", False)] = SORT_KEYS[("manual", True)] = "list_id, position"
# Overdue from `overdue_at`: for a date alone, the end of its day in the user's zone (0027).
OVERDUE = "(overdue_at < now() AND NOT completed)"


@dataclass
class Statement:
    """Conditions and the values they bind, built one condition at a time.

    A value is bound by `parameter`, which gives the placeholder to write in its place: no
    fragment is ever formatted, so whatever one holds (a `%`, a brace) is taken as written.
    """

    conditions: list[str] = field(default_factory=list)
    arguments: list[Any] = field(default_factory=list)
    # $1 to $`preceding` are bound by the caller itself, ahead of `arguments`.
    preceding: int = 0

    def parameter(self, value: Any) -> str:
        """Bind `value`; its placeholder, `$n`."""
        self.arguments.append(value)
        return f"${self.preceding + len(self.arguments)}"

    def where(self, condition: str) -> None:
        self.conditions.append(condition)


# A task's words and tags under keys of its owner's, as tasks_owner_terms_idx holds them
# (migrations 0036 and 0037): written exactly as the index's expression, so that the planner
# reads the index for it.
OWNER_TERMS = "task_owner_terms(user_id, search_words, tags)"


def text_conditions(owner: str, search: str) -> list[str]:
    """Tasks of the user bound at `owner` holding every word of the search text bound at
    `search`, each as a prefix.

    Two conditions that find the same tasks (ADR 0024): the owner's terms, which the index
    finds among the user's entries alone, and the stored words, which a plan that reads the
    user's tasks by key filters each row by at no cost but the match, before the terms are
    computed for the rows that passed. Each query is a scalar subquery, made once per statement
    and not once per row.
    """
    return [
        f"search_words @@ (SELECT task_search_query({search}::text))",
        f"{OWNER_TERMS} @@ (SELECT task_owner_words_query({owner}::text, {search}::text))",
    ]


def tag_conditions(owner: str, tags: str) -> list[str]:
    """Tasks of the user bound at `owner` carrying every tag bound at `tags`: as
    `text_conditions`, the owner's terms for the index and the stored tags for a filter."""
    return [
        f"tags @> {tags}::text[]",
        f"{OWNER_TERMS} @@ (SELECT task_owner_tags_query({owner}::text, {tags}::text[]))",
    ]


def list_statement(
    user_id: str, task_filter: TaskFilter, sort: Sort, start: PageStart | None, limit: int
) -> tuple[str, list[Any]]:
    """One page of the user's tasks: `limit` rows from after `start`, in `sort` order."""
    statement = Statement()
    owner = statement.parameter(user_id)
    statement.where(f"user_id = {owner}")
    _filter(statement, owner, task_filter)
    key = SORT_KEYS[(sort.field, sort.descending)]
    direction = "DESC" if sort.descending else "ASC"
    if start is not None:
        start_key = _page_start_key(sort, statement.parameter(start.key))
        start_id = statement.parameter(start.task_id)
        comparison = "<" if sort.descending else ">"
        statement.where(f"({key}, id) {comparison} ({start_key}, {start_id}::bigint)")
    limit_placeholder = statement.parameter(limit)
    columns = ("list_id", "position") if sort.field == "manual" else (key,)
    order = ", ".join(f"{column} {direction}" for column in (*columns, "id"))
    sql = (
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE {' AND '.join(statement.conditions)}"  # noqa: S608 (fixed fragments, values bound)
        f" ORDER BY {order} LIMIT {limit_placeholder}"
    )
    return named("list_tasks", sql), statement.arguments


def _page_start_key(sort: Sort, value: str) -> str:
    """The cursor's key bound at `value`, in the type and order of the sort's key expression."""
    match sort.field:
        case "created_at" | "updated_at":
            return f"{value}::timestamptz"
        case "priority":
            return f"{value}::task_priority"
        case "title":
            return f'{value}::text COLLATE "C"'
        case "due_at":
            infinity = "-infinity" if sort.descending else "infinity"
            return f"coalesce({value}::timestamptz, '{infinity}'::timestamptz)"
        case "manual":
            # The list and the position, as one JSON pair: a placeholder per value keeps the
            # cursor's key one parameter, whatever the sort.
            pair = f"{value}::text::jsonb"
            return f'({pair}->>0)::bigint, ({pair}->>1)::text COLLATE "C"'


def _filter(statement: Statement, owner: str, task_filter: TaskFilter) -> None:
    bind = statement.parameter
    if task_filter.list_id is not None:
        statement.where(f"list_id = {bind(task_filter.list_id)}::bigint")
    if task_filter.parent_id is not None:
        statement.where(f"parent_id = {bind(task_filter.parent_id)}::bigint")
    if task_filter.top_level is True:
        statement.where("parent_id IS NULL")
    elif task_filter.top_level is False:
        statement.where("parent_id IS NOT NULL")
    if task_filter.status == "pending":
        statement.where("NOT completed")
    elif task_filter.status == "completed":
        statement.where("completed")
    if task_filter.priorities:
        statement.where(f"priority = ANY({bind(sorted(task_filter.priorities))}::task_priority[])")
    if task_filter.tags:
        for condition in tag_conditions(owner, bind(sorted(task_filter.tags))):
            statement.where(condition)
    if task_filter.text is not None:
        for condition in text_conditions(owner, bind(task_filter.text)):
            statement.where(condition)
    if task_filter.due_before is not None:
        statement.where(f"due_at < {bind(task_filter.due_before)}")
    if task_filter.due_after is not None:
        statement.where(f"due_at >= {bind(task_filter.due_after)}")
    if task_filter.overdue is True:
        statement.where(OVERDUE)
    elif task_filter.overdue is False:
        statement.where(f"NOT coalesce({OVERDUE}, false)")


# What each source of delta sync contributes: its kind (lists sort before tasks of the same
# transaction, so that a client meets a list before the tasks put in it), the columns of its
# transaction and id, and its columns of the union below (NULL where it has none).
LIST_KIND = 0
TASK_KIND = 1
INT64_MAX = 2**63 - 1
_TASK_COLUMNS = (
    "user_id, title, description, completed, created_at, updated_at, priority, tags, due_at,"
    " due, recurrence, reminders, completed_at, version, list_id, parent_id, NULL::text,"
    " NULL::text, position,"
    " NULL::boolean, NULL::boolean"
)
_LIST_COLUMNS = (
    "user_id, NULL::text, NULL::text, NULL::boolean, created_at, updated_at, NULL::task_priority,"
    " NULL::text[], NULL::timestamptz, NULL::jsonb, NULL::jsonb, NULL::jsonb, NULL::timestamptz,"
    " version, NULL::bigint, NULL::bigint, name, color, position, is_inbox, archived"
)
_DELETED = (
    "NULL::text, NULL::text, NULL::text, NULL::boolean, NULL::timestamptz, NULL::timestamptz,"
    " NULL::task_priority, NULL::text[], NULL::timestamptz, NULL::jsonb, NULL::jsonb, NULL::jsonb,"
    " NULL::timestamptz,"
    " NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text,"
    " NULL::boolean, NULL::boolean"
)
_SOURCES = {
    "tasks": (TASK_KIND, "changed_xid", "id", "false", _TASK_COLUMNS),
    "task_deletions": (TASK_KIND, "deleted_xid", "task_id", "true", _DELETED),
    "task_lists": (LIST_KIND, "changed_xid", "id", "false", _LIST_COLUMNS),
    "task_list_deletions": (LIST_KIND, "deleted_xid", "list_id", "true", _DELETED),
}
# The union's columns after xid, kind and id, in the order of each source's columns above.
CHANGE_COLUMNS = (
    "deleted, user_id, title, description, completed, created_at, updated_at, priority, tags,"
    " due_at, due, recurrence, reminders, completed_at, version, list_id, parent_id, name, color,"
    " position, is_inbox, archived"
)


def _changes_branch(source: str, since: bool) -> str:
    kind, xid, item_id, deleted, columns = _SOURCES[source]
    unseen = (
        f" AND {xid} >= pg_snapshot_xmin($7::text::pg_snapshot)"
        f" AND NOT pg_visible_in_snapshot({xid}, $7::text::pg_snapshot)"
        if since
        else ""
    )
    return (
        f"SELECT {xid} AS xid, {kind}::smallint AS kind, {item_id} AS id, {deleted}, {columns}"  # noqa: S608 (names fixed above)
        f" FROM {source}"
        f" WHERE user_id = $1{unseen} AND pg_visible_in_snapshot({xid}, $2::text::pg_snapshot)"
        f" AND ({xid}, {item_id}) > ($3::text::xid8, {_start_id(kind)})"
        f" ORDER BY {xid}, {item_id} LIMIT $5"
    )


def _start_id(kind: int) -> str:
    """Where a source's rows of the start's transaction ($3) begin, for a page that starts after
    ($3, $6, $4) in the order (xid, kind, id): after id $4 for the start's own kind, at its first
    id for a later kind, after its last for an earlier one. The bound stays a pair (xid, id), the
    key of the source's index, so the scan starts there."""
    return (
        f"CASE WHEN {kind} > $6::smallint THEN 0 WHEN {kind} = $6::smallint THEN $4::bigint"
        f" ELSE {INT64_MAX} END"
    )


def changes_statement(since: bool) -> str:
    """What changed for user $1 up to snapshot $2, and after snapshot $7 when `since`.

    A row is stamped with the id of the transaction that last wrote it (deleted ids, of the one
    that deleted it); a snapshot says which transactions had committed when it was taken. Rows
    of transactions the earlier snapshot could not see, and the later one can, are the changes
    between them, in whatever order those transactions committed. Paged by (xid, kind, id) from
    ($3, $6, $4), $5 rows at a time: each source gives its first $5 from its index, in order, and
    only those are sorted together.
    """
    sources = ["task_lists", "tasks"]
    if since:
        sources += ["task_list_deletions", "task_deletions"]
    union = " UNION ALL ".join(f"({_changes_branch(source, since)})" for source in sources)
    return named(
        "list_changes",
        f"SELECT xid::text AS xid, kind, id, {CHANGE_COLUMNS}"  # noqa: S608 (fixed branches)
        f" FROM ({union}) AS changes (xid, kind, id, {CHANGE_COLUMNS})"
        " ORDER BY changes.xid, changes.kind, changes.id LIMIT $5",
    )
