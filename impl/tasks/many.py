"""The SQL of one write applied to many of a user's tasks in one statement: creations, field
changes, completions, deletions and moves to the end of a list, as a batch's consecutive
operations of one kind ask them (impl/tasks/batch.py).

One statement gives what the same writes one after another would, when no task it names is
under another it names (`nested` tells): then no task is written twice, and no write's spread
(a completed subtree, reopened ancestors, a deleted subtree) reaches a task another names. Each
task has its own If-Match: $2 the task ids, a flag each for "any version", and the (task,
version) pairs the others allow.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import asyncpg
import orjson

from generated.documents import Task
from impl.observability.naming import named
from impl.ordering import NeighbourMissing, Sibling, already_there
from impl.positions import place_between
from impl.tasks.queries import QUALIFIED_TASK_COLUMNS, TASK_COLUMNS
from impl.tasks.stamps import STAMP, completion_stamp
from impl.tasks.subtasks import spreading_completion
from impl.trash.columns import TRASHED_TASK_COLUMNS, qualified
from impl.versioned import Outcome

# Whether one of the tasks $2 is under another of them.
NESTED = named(
    "read_nesting_among_tasks",
    """
    WITH RECURSIVE above (id) AS (
        SELECT parent_id FROM tasks
        WHERE user_id = $1 AND id = ANY($2::bigint[]) AND parent_id IS NOT NULL
        UNION
        SELECT task.parent_id FROM tasks AS task JOIN above ON task.id = above.id
        WHERE task.user_id = $1 AND task.parent_id IS NOT NULL
    )
    SELECT EXISTS (SELECT FROM above WHERE id = ANY($2::bigint[]))
""",
)


def _allowed(named: str) -> str:
    """Whether a task's If-Match allows the version it is at: `named` is its row of the ids
    ($2) joined with whether each allows any version ($3); the (task, version) pairs allowed
    ($4, $5) are read once for all rows."""
    pairs = "SELECT * FROM unnest($4::bigint[], $5::bigint[])"
    return f"({named}.any_version OR (tasks.id, tasks.version) IN ({pairs}))"


# $6: the state each task of $2 is to be in. Only a task that is not in it yet is written: it
# changes to the other state.
COMPLETE_MANY = named(
    "complete_tasks",
    spreading_completion(
        f"""
        UPDATE tasks SET completed = NOT tasks.completed,
            {completion_stamp("NOT tasks.completed")}
        FROM unnest($2::bigint[], $3::boolean[], $6::boolean[])
             AS wanted (id, any_version, completed)
        WHERE tasks.user_id = $1 AND tasks.id = wanted.id AND {_allowed("wanted")}
          AND wanted.completed <> tasks.completed
          -- A recurring task is completed by its occurrence, one at a time (TaskService).
          AND (tasks.recurrence IS NULL OR NOT wanted.completed)
        RETURNING {QUALIFIED_TASK_COLUMNS}""",  # noqa: S608 (fixed fragments)
        TASK_COLUMNS,
    ),
)
# What follows the tasks a deletion names (`doomed`, user $1, each its own `root`): their
# subtrees, all deleted (`gone`) into the trash, each named task an item of it that its subtree
# comes back with (migration 0033); each id remembered for delta sync until the retention job
# (impl/retention) purges it, and the user's count lowered.
DOOMED_SUBTREES = f"""
        UNION ALL
        SELECT child.id, doomed.root FROM tasks AS child JOIN doomed ON child.parent_id = doomed.id
        WHERE child.user_id = $1
    ), gone AS (
        DELETE FROM tasks WHERE user_id = $1 AND id IN (SELECT id FROM doomed)
        RETURNING user_id, id, {TRASHED_TASK_COLUMNS}
    ), trashed AS (
        INSERT INTO trashed_tasks (user_id, id, trash_kind, trash_item_id, {TRASHED_TASK_COLUMNS})
        SELECT DISTINCT ON (gone.id) gone.user_id, gone.id, 'task', doomed.root,
               {qualified(TRASHED_TASK_COLUMNS, "gone")}
        FROM gone JOIN doomed ON doomed.id = gone.id
    ), items AS (
        INSERT INTO trash (user_id, kind, item_id, version, task_count)
        SELECT gone.user_id, 'task', gone.id, gone.version,
               (SELECT count(DISTINCT doomed.id) - 1 FROM doomed WHERE doomed.root = gone.id)
        FROM gone WHERE gone.id IN (SELECT root FROM doomed)
    ), remembered AS (
        INSERT INTO task_deletions (user_id, task_id) SELECT user_id, id FROM gone
    ), counted AS (
        UPDATE task_counts SET task_count = task_count - (SELECT count(*) FROM gone)
        WHERE user_id = $1 AND EXISTS (SELECT FROM gone)
    )"""  # noqa: S608 (fixed fragments)
# As impl/tasks/repository.py's DELETE, for each task of $2 its If-Match allows, subtasks and
# all. Answers the ids of those tasks that went.
DELETE_MANY = named(
    "delete_tasks",
    f"""
    WITH RECURSIVE doomed (id, root) AS (
        SELECT tasks.id, tasks.id
        FROM tasks JOIN unnest($2::bigint[], $3::boolean[]) AS named (id, any_version)
            ON tasks.id = named.id
        WHERE tasks.user_id = $1 AND {_allowed("named")}
        {DOOMED_SUBTREES}
    SELECT id FROM gone WHERE id = ANY($2::bigint[])
""",  # noqa: S608 (fixed fragments)
)
# Moves of tasks to the end of another list ($2), each at its own key (the same order of
# statements as a move of one: the tasks' lists, then those lists locked in id order, then the
# tasks).
LISTS_OF_TASKS = named(
    "read_lists_of_tasks",
    "SELECT id, list_id FROM tasks WHERE user_id = $1 AND id = ANY($2::bigint[])",
)
LOCK_LISTS = named(
    "lock_lists_of_moves_together",
    """
    SELECT id FROM task_lists WHERE user_id = $1 AND id = ANY($2::bigint[])
    ORDER BY id FOR NO KEY UPDATE
""",
)
LOCK_TASKS = named(
    "lock_tasks_to_move",
    f"""
    SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND id = ANY($2::bigint[])
    ORDER BY id FOR UPDATE
""",  # noqa: S608 (fixed columns)
)
# A task put in another list leaves its parent; its subtree follows it (SUBTREES_TO_LIST).
PLACE_MANY = named(
    "place_tasks",
    f"""
    UPDATE tasks SET list_id = $2, position = placed.key, parent_id = NULL, {STAMP}
    FROM unnest($3::bigint[], $4::text[]) AS placed (task, key)
    WHERE tasks.user_id = $1 AND tasks.id = placed.task
    RETURNING {TASK_COLUMNS}
""",  # noqa: S608 (fixed fragments)
)
SUBTREES_TO_LIST = named(
    "move_subtrees_to_list",
    f"""
    WITH RECURSIVE subtree (id) AS (
        SELECT id FROM tasks WHERE user_id = $1 AND parent_id = ANY($2::bigint[])
        UNION ALL
        SELECT child.id FROM tasks AS child JOIN subtree ON child.parent_id = subtree.id
        WHERE child.user_id = $1
    )
    UPDATE tasks SET list_id = $3, {STAMP}
    WHERE user_id = $1 AND id IN (SELECT id FROM subtree) AND list_id <> $3
""",  # noqa: S608 (fixed fragments)
)
# Creations at the top level of their lists. The user's count first, its row locked (made at 0
# for a first task): how many more fit under the cap. Then the tasks, each at its key ($8) in
# its list, a microsecond apart in the order given, so that the newest-first order is theirs.
LOCK_COUNT = named(
    "lock_task_count",
    """
    INSERT INTO task_counts AS counts (user_id, task_count) VALUES ($1, 0)
    ON CONFLICT (user_id) DO UPDATE SET task_count = counts.task_count
    RETURNING task_count
""",
)
INBOX = named("inbox_of_user", "SELECT user_inbox($1)")
INSERT_MANY = named(
    "insert_tasks",
    f"""
    WITH written AS (SELECT clock_timestamp() AS at
    ), added AS (
        INSERT INTO tasks (user_id, title, description, priority, tags, due_at, list_id,
                           position, created_at, updated_at, due, overdue_at, recurrence,
                           reminders)
        SELECT $1, new.title, new.description, new.priority::task_priority,
               ARRAY(SELECT jsonb_array_elements_text(new.tags::jsonb)), new.due_at, new.list_id,
               new.key, written.at + (new.rank - 1) * interval '1 microsecond',
               written.at + (new.rank - 1) * interval '1 microsecond', new.due, new.overdue_at,
               new.recurrence, new.reminders::jsonb
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                    $7::bigint[], $8::text[], $9::jsonb[], $10::timestamptz[], $11::jsonb[],
                    $12::text[])
             WITH ORDINALITY AS new (title, description, priority, tags, due_at, list_id, key,
                                     due, overdue_at, recurrence, reminders, rank),
             written
        ORDER BY new.rank
        RETURNING {TASK_COLUMNS}
    ), reused AS (
        DELETE FROM task_deletions AS deletion USING added
        WHERE deletion.user_id = added.user_id AND deletion.task_id = added.id
    ), counted AS (
        UPDATE task_counts SET task_count = task_count + (SELECT count(*) FROM added)
        WHERE user_id = $1
    )
    SELECT {TASK_COLUMNS} FROM added
""",  # noqa: S608 (fixed fragments)
)
# Field changes, each task's own ($6...: for each field of EDITABLE, whether the task's patch
# sets it, and to what). Only a task that one of them changes is written.
# A due date is three columns, set together (impl/tasks/repository.py's `due_columns`).
EDITABLE = ("title", "description", "priority", "tags", "due_at", "due", "overdue_at")
# Each field's value as bound and as written. Tags are bound as JSON text: asyncpg would take a
# list of lists for an array of two dimensions.
_BOUND = {
    "title": "text",
    "description": "text",
    "priority": "text",
    "tags": "text",
    "due_at": "timestamptz",
    "due": "jsonb",
    "overdue_at": "timestamptz",
}
_NEW = {
    "title": "new.title",
    "description": "new.description",
    "priority": "new.priority::task_priority",
    "tags": "ARRAY(SELECT jsonb_array_elements_text(new.tags::jsonb))",
    "due_at": "new.due_at",
    "due": "new.due",
    "overdue_at": "new.overdue_at",
}
_UNNESTED = ", ".join(
    f"${6 + 2 * index}::boolean[], ${7 + 2 * index}::{_BOUND[field]}[]"
    for index, field in enumerate(EDITABLE)
)
_UNNESTED_NAMES = ", ".join(f"sets_{field}, {field}" for field in EDITABLE)
UPDATE_MANY = named(
    "update_tasks",
    f"""
    UPDATE tasks SET {
        ", ".join(
            f"{field} = CASE WHEN new.sets_{field} THEN {_NEW[field]} ELSE tasks.{field} END"
            for field in EDITABLE
        )
    }, {STAMP}
    FROM unnest($2::bigint[], $3::boolean[], {_UNNESTED})
         AS new (task, any_version, {_UNNESTED_NAMES})
    WHERE tasks.user_id = $1 AND tasks.id = new.task AND {_allowed("new")}
      AND ({
        " OR ".join(
            f"(new.sets_{field} AND tasks.{field} IS DISTINCT FROM {_NEW[field]})"
            for field in EDITABLE
        )
    })
    RETURNING {QUALIFIED_TASK_COLUMNS}
""",  # noqa: S608 (fixed fragments)
)
# Moves of tasks beside a neighbour in their own order. Where each named neighbour ($2) is, and
# up to $3 of its siblings on each side: enough to know, after the run's moves before it, what
# lies next to it (each earlier move takes one sibling away from a side at most).
SIBLINGS_AROUND = named(
    "read_siblings_around_tasks",
    """
    SELECT around.anchor, around.list_id, around.parent_id, sibling.side, sibling.id,
           sibling.position
    FROM (
        SELECT named.anchor, task.list_id, task.parent_id, task.position, task.id
        FROM unnest($2::bigint[]) AS named (anchor)
        JOIN tasks AS task ON task.user_id = $1 AND task.id = named.anchor
    ) AS around
    CROSS JOIN LATERAL (
        SELECT 0 AS side, around.id, around.position
        UNION ALL (
            SELECT 1, id, position FROM tasks
            WHERE user_id = $1 AND list_id = around.list_id AND parent_id IS NULL
              AND around.parent_id IS NULL AND (position, id) > (around.position, around.id)
            ORDER BY position, id LIMIT $3
        ) UNION ALL (
            SELECT -1, id, position FROM tasks
            WHERE user_id = $1 AND list_id = around.list_id AND parent_id IS NULL
              AND around.parent_id IS NULL AND (position, id) < (around.position, around.id)
            ORDER BY position DESC, id DESC LIMIT $3
        ) UNION ALL (
            SELECT 1, id, position FROM tasks
            WHERE user_id = $1 AND parent_id = around.parent_id
              AND (position, id) > (around.position, around.id)
            ORDER BY position, id LIMIT $3
        ) UNION ALL (
            SELECT -1, id, position FROM tasks
            WHERE user_id = $1 AND parent_id = around.parent_id
              AND (position, id) < (around.position, around.id)
            ORDER BY position DESC, id DESC LIMIT $3
        )
    ) AS sibling
""",
)
REPLACE_MANY = named(
    "reposition_tasks",
    f"""
    UPDATE tasks SET position = placed.key, {STAMP}
    FROM unnest($2::bigint[], $3::text[]) AS placed (task, key)
    WHERE tasks.user_id = $1 AND tasks.id = placed.task
    RETURNING {QUALIFIED_TASK_COLUMNS}
""",  # noqa: S608 (fixed fragments)
)
GET_MANY = named(
    "get_tasks",
    f"SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND id = ANY($2::bigint[])",  # noqa: S608 (fixed columns)
)


@dataclass(frozen=True, slots=True)
class Named:
    """A task a write names, and the versions its If-Match allows (None: any)."""

    task_id: int
    versions: list[int] | None


async def nested(connection: asyncpg.Connection, user_id: str, task_ids: Sequence[int]) -> bool:
    """Whether one of the tasks is under another of them."""
    return bool(await connection.fetchval(NESTED, user_id, list(task_ids)))


async def complete_many(
    connection: asyncpg.Connection, user_id: str, tasks: Sequence[Named], completed: Sequence[bool]
) -> list[Outcome[Task]]:
    """Each task completed or reopened as `completed` says; an outcome each, as the write of
    one would give it."""
    records = await connection.fetch(COMPLETE_MANY, user_id, *_named(tasks), list(completed))
    written: dict[int, Task | None] = {record["id"]: cast(Task, dict(record)) for record in records}
    return await _outcomes(connection, user_id, tasks, written)


async def update_many(
    connection: asyncpg.Connection,
    user_id: str,
    tasks: Sequence[Named],
    changes: Sequence[dict[str, Any]],
) -> list[Outcome[Task]]:
    """Each task's own changes (names of EDITABLE); an outcome each, as the write of one would
    give it."""
    columns: list[list[Any]] = []
    for field in EDITABLE:
        columns.append([field in change for change in changes])
        values = [change.get(field) for change in changes]
        if field == "tags":
            values = [None if tags is None else orjson.dumps(tags).decode() for tags in values]
        columns.append(values)
    records = await connection.fetch(UPDATE_MANY, user_id, *_named(tasks), *columns)
    written: dict[int, Task | None] = {record["id"]: cast(Task, dict(record)) for record in records}
    return await _outcomes(connection, user_id, tasks, written)


async def delete_many(
    connection: asyncpg.Connection, user_id: str, tasks: Sequence[Named]
) -> list[Outcome[Task]]:
    """Each task deleted with its subtasks if its If-Match allows; an outcome each, as the
    deletion of one would give it."""
    gone = {record["id"] for record in await connection.fetch(DELETE_MANY, user_id, *_named(tasks))}
    return await _outcomes(connection, user_id, tasks, dict.fromkeys(gone))


async def _outcomes(
    connection: asyncpg.Connection,
    user_id: str,
    tasks: Sequence[Named],
    written: dict[int, Task | None],
) -> list[Outcome[Task]]:
    """The written tasks' outcomes, and the others' as they are (read in the same transaction,
    or statement for a write that runs alone)."""
    unwritten = [task.task_id for task in tasks if task.task_id not in written]
    current: dict[int, Task] = {}
    if unwritten:
        records = await connection.fetch(GET_MANY, user_id, unwritten)
        current = {record["id"]: cast(Task, dict(record)) for record in records}
    return [
        Outcome(written=True, current=written[task.task_id])
        if task.task_id in written
        else Outcome(written=False, current=current.get(task.task_id))
        for task in tasks
    ]


def _named(tasks: Sequence[Named]) -> tuple[list[int], list[bool], list[int], list[int]]:
    """The task ids, whether each allows any version, and the (task, version) pairs allowed."""
    allowed = [(task.task_id, version) for task in tasks for version in task.versions or ()]
    return (
        [task.task_id for task in tasks],
        [task.versions is None for task in tasks],
        [task_id for task_id, _ in allowed],
        [version for _, version in allowed],
    )


@dataclass(frozen=True, slots=True)
class Beside:
    """A move of a task right after (`after`) or before its neighbour, in its own order."""

    task: Named
    neighbour: int
    after: bool

    @property
    def field(self) -> str:
        return "after_id" if self.after else "before_id"


Group = tuple[int, int | None]


def group_of_task(task: Mapping[str, Any]) -> Group:
    """Whose siblings a task is among: its list's top level, or its parent's subtasks."""
    return task["list_id"], task["parent_id"]


class KnownOrder:
    """What a run of moves knows of its tasks' orders: around each neighbour, up to `reach`
    siblings a side (SIBLINGS_AROUND); where a side came back short, the order's end there."""

    def __init__(self, records: Sequence[asyncpg.Record], reach: int) -> None:
        self._keys: dict[Group, dict[int, str]] = {}
        self._groups: dict[int, Group] = {}
        self._ends: set[tuple[Group, int]] = set()
        counts: dict[tuple[int, int], int] = {}
        for record in records:
            group = (record["list_id"], record["parent_id"])
            self._groups[record["anchor"]] = group
            self.add(group, record["id"], record["position"])
            read = (record["anchor"], record["side"])
            counts[read] = counts.get(read, 0) + 1
        for anchor, group in self._groups.items():
            for side in (1, -1):
                if counts.get((anchor, side), 0) < reach:
                    self._ends.add((group, side))

    def add(self, group: Group, task_id: int, key: str) -> None:
        self._keys.setdefault(group, {})[task_id] = key

    def group_of(self, task_id: int) -> Group | None:
        return self._groups.get(task_id)

    def beside(
        self, group: Group, neighbour: int, moved: int, after: bool
    ) -> tuple[Sibling | None, Sibling | None] | None:
        """The siblings `moved` goes between, right after (or before) `neighbour`; None when
        what is known does not tell."""
        keys = self._keys[group]
        siblings = sorted((key, task_id) for task_id, key in keys.items() if task_id != moved)
        at = siblings.index((keys[neighbour], neighbour))
        if after:
            upper = siblings[at + 1] if at + 1 < len(siblings) else None
            if upper is None and (group, 1) not in self._ends:
                return None
            return siblings[at], upper
        lower = siblings[at - 1] if at > 0 else None
        if lower is None and (group, -1) not in self._ends:
            return None
        return lower, siblings[at]


R = TypeVar("R", bound=Mapping[str, Any])


def play_moves(
    moves: Sequence[Beside], current: Mapping[int, R], order: KnownOrder
) -> list[Outcome[R] | NeighbourMissing | str] | None:
    """A run of moves beside a neighbour played in order on what is known of the orders, the
    moved tasks (`current`, locked) at their places: for each, its new key, or why it stays
    (the outcome of a move that writes nothing: 404, 412, or already there) or is refused (its
    neighbour missing or elsewhere). None when what is known does not tell, or a gap would need
    respacing."""
    for held in current.values():
        order.add(group_of_task(held), held["id"], held["position"])
    played: list[Outcome[R] | NeighbourMissing | str] = []
    for move in moves:
        found = current.get(move.task.task_id)
        versions = move.task.versions
        if found is None or (versions is not None and found["version"] not in versions):
            played.append(Outcome(written=False, current=found))
            continue
        task = found
        group = group_of_task(task)
        if order.group_of(move.neighbour) != group:
            played.append(NeighbourMissing(move.field))
            continue
        sides = order.beside(group, move.neighbour, task["id"], move.after)
        if sides is None:
            return None
        lower, upper = sides
        if already_there((task["position"], task["id"]), lower, upper):
            played.append(Outcome(written=False, current=task))
            continue
        neighbours = [sibling for sibling in (lower, upper) if sibling is not None]
        key, respaced = place_between(neighbours, 1 if lower is not None else 0)
        if respaced:
            return None
        order.add(group, task["id"], key)
        played.append(key)
    return played
