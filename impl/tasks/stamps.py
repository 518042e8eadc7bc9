"""What every write of a task or a task list sets besides its fields: a new version, the time and
the transaction of the write (for delta sync), and, when it completes or reopens a task, when."""

# Shared by every update: a new version, the time and the transaction of the write. The time is
# read in the SET list, so that it is taken when the row is written: after any wait for a
# concurrent writer's lock (a FROM subquery would be read when the statement starts).
STAMP = """version = version + 1,
    updated_at = greatest(clock_timestamp(), updated_at),
    changed_xid = pg_current_xact_id()"""


def completion_stamp(completed: str) -> str:
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
