"""What the trash keeps (migration 0033): every column of a task or a list that a restore writes
back, in the order of these lists. The deletions of impl/tasks and impl/lists write them, the
statements of impl/trash read them."""

# Not the derived columns (search_words, changed_xid): the database makes them again.
TRASHED_TASK_COLUMNS = (
    "title, description, completed, created_at, updated_at, priority, tags, due_at,"
    " completed_at, version, list_id, position, parent_id, due, overdue_at, recurrence,"
    " reminders"
)
TRASHED_LIST_COLUMNS = "name, color, position, archived, version, created_at, updated_at"


def qualified(columns: str, table: str) -> str:
    """`columns`, each of `table`."""
    return ", ".join(f"{table}.{column.strip()}" for column in columns.split(","))
