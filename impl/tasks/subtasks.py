"""The SQL of subtasks: a task's ancestors and subtree, walked by recursive statements over the
key of a task to its parent (migration 0024) and the index of a parent's subtasks (0025).

A subtask is in its parent's list, and tasks nest at most MAX_DEPTH deep. Completing a task
completes its subtree; reopening one reopens its ancestors; a task that changes list takes its
subtree along. Each of these writes stamps every row it changes as any write does, so delta sync
reports them.
"""

from impl.observability.naming import named
from impl.tasks.stamps import STAMP, completion_stamp

MAX_DEPTH = 4


def spreading_completion(write: str, columns: str) -> str:
    """`write` (an UPDATE of one task, user $1, RETURNING `columns`) as one statement whose
    completion spreads: a task it completes completes its subtree, one it reopens reopens the
    tasks it is under. One statement, so that it needs no transaction; the other CTEs read the
    tasks as they were before it, and none of them is the written task. Returns the written
    task's row."""
    return f"""
    WITH RECURSIVE written AS ({write}
    ), below (id) AS (
        SELECT task.id FROM tasks AS task JOIN written ON task.parent_id = written.id
        WHERE task.user_id = $1 AND written.completed
        UNION ALL
        SELECT child.id FROM tasks AS child JOIN below ON child.parent_id = below.id
        WHERE child.user_id = $1
    ), above (id) AS (
        SELECT parent_id FROM written WHERE NOT completed AND parent_id IS NOT NULL
        UNION ALL
        SELECT task.parent_id FROM tasks AS task JOIN above ON task.id = above.id
        WHERE task.user_id = $1 AND task.parent_id IS NOT NULL
    ), completed_below AS (
        UPDATE tasks SET completed = true, {completion_stamp("true")}
        WHERE user_id = $1 AND id IN (SELECT id FROM below) AND NOT completed
    ), reopened_above AS (
        UPDATE tasks SET completed = false, {completion_stamp("false")}
        WHERE user_id = $1 AND id IN (SELECT id FROM above) AND completed
    )
    SELECT {columns} FROM written"""  # noqa: S608 (fixed fragments)


# The ids of task $2's subtasks, theirs, and so on (not $2 itself).
_SUBTREE = """
    WITH RECURSIVE subtree (id) AS (
        SELECT id FROM tasks WHERE user_id = $1 AND parent_id = $2
        UNION ALL
        SELECT child.id FROM tasks AS child JOIN subtree ON child.parent_id = subtree.id
        WHERE child.user_id = $1
    )"""
# The ids of the tasks task $2 is under, its parent first.
_ANCESTORS = """
    WITH RECURSIVE ancestors (id) AS (
        SELECT parent_id FROM tasks WHERE user_id = $1 AND id = $2 AND parent_id IS NOT NULL
        UNION ALL
        SELECT task.parent_id FROM tasks AS task JOIN ancestors ON task.id = ancestors.id
        WHERE task.user_id = $1 AND task.parent_id IS NOT NULL
    )"""
# $3: the list the subtree goes to with its root. Each keeps its place among its siblings.
SUBTREE_TO_LIST = named(
    "move_subtree_to_list",
    f"""{_SUBTREE}
    UPDATE tasks SET list_id = $3, {STAMP}
    WHERE user_id = $1 AND id IN (SELECT id FROM subtree) AND list_id <> $3
""",  # noqa: S608 (fixed fragments)
)
# How deep task $2 is (1 at the top level).
DEPTH = named(
    "read_depth",
    f"""{_ANCESTORS}
    SELECT 1 + count(*) FROM ancestors
""",  # noqa: S608 (fixed fragments)
)
# How many levels task $2's subtree has below it (0 for none), and whether task $3 is in it.
SUBTREE_SHAPE = named(
    "read_subtree_shape",
    """
    WITH RECURSIVE subtree (id, level) AS (
        SELECT id, 1 FROM tasks WHERE user_id = $1 AND parent_id = $2
        UNION ALL
        SELECT child.id, subtree.level + 1 FROM tasks AS child
        JOIN subtree ON child.parent_id = subtree.id
        WHERE child.user_id = $1
    )
    SELECT coalesce(max(level), 0) AS levels, coalesce(bool_or(id = $3), false) AS holds
    FROM subtree
""",
)
# The parent of a new subtask, kept from moving or going until the subtask is written.
LOCK_PARENT = named(
    "lock_parent",
    "SELECT list_id FROM tasks WHERE user_id = $1 AND id = $2 FOR SHARE",
)
