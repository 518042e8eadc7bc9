"""All SQL for tasks. Every statement is filtered by the owner's user id.

Each method is one statement on a pooled connection, run by asyncpg as a prepared statement (its
per-connection cache keeps them). The connection goes back to the pool as soon as the rows are
read; only then do rows become documents. A row is the contract's `Task` column for column, so
it becomes one as a plain dict: no per-row model, no second validation.
"""

from typing import cast

import asyncpg

from generated.documents import Task
from impl.db.pool import Database

# Every statement names the columns of the contract's `Task`, in its order.
# Newest first by creation time, ties by id: the order agrees with the timestamps returned.
LIST = """
    SELECT id, user_id, title, description, completed, created_at, updated_at
    FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC
"""
GET = """
    SELECT id, user_id, title, description, completed, created_at, updated_at
    FROM tasks WHERE user_id = $1 AND id = $2
"""
# One clock reading for both timestamps: a new task was last changed when it was created.
# clock_timestamp(), not now(): the time of the write, not of the transaction's start.
INSERT = """
    INSERT INTO tasks (user_id, title, description, created_at, updated_at)
    SELECT $1, $2, $3, written.at, written.at FROM (SELECT clock_timestamp() AS at) AS written
    RETURNING id, user_id, title, description, completed, created_at, updated_at
"""
REPLACE = """
    UPDATE tasks SET title = $3, description = $4, updated_at = clock_timestamp()
    WHERE user_id = $1 AND id = $2
    RETURNING id, user_id, title, description, completed, created_at, updated_at
"""
# One statement, so concurrent toggles never lose an update.
TOGGLE = """
    UPDATE tasks SET completed = NOT completed, updated_at = clock_timestamp()
    WHERE user_id = $1 AND id = $2
    RETURNING id, user_id, title, description, completed, created_at, updated_at
"""
DELETE = "DELETE FROM tasks WHERE user_id = $1 AND id = $2"


def _task(record: asyncpg.Record | None) -> Task | None:
    return None if record is None else cast(Task, dict(record))


class TaskRepository:
    """Reads and writes the rows of `tasks`, always for one user at a time."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def list(self, user_id: str) -> list[Task]:
        """Newest first; served by the index (user_id, created_at DESC, id DESC)."""
        async with self._database.connection() as connection:
            records = await connection.fetch(LIST, user_id)
        return [cast(Task, dict(record)) for record in records]

    async def get(self, user_id: str, task_id: int) -> Task | None:
        async with self._database.connection() as connection:
            record = await connection.fetchrow(GET, user_id, task_id)
        return _task(record)

    async def add(self, user_id: str, title: str, description: str | None) -> Task:
        async with self._database.connection() as connection:
            record = await connection.fetchrow(INSERT, user_id, title, description)
        task = _task(record)
        assert task is not None, "INSERT ... RETURNING returns the row"
        return task

    async def replace(
        self, user_id: str, task_id: int, title: str, description: str | None
    ) -> Task | None:
        async with self._database.connection() as connection:
            record = await connection.fetchrow(REPLACE, user_id, task_id, title, description)
        return _task(record)

    async def toggle_completion(self, user_id: str, task_id: int) -> Task | None:
        async with self._database.connection() as connection:
            record = await connection.fetchrow(TOGGLE, user_id, task_id)
        return _task(record)

    async def delete(self, user_id: str, task_id: int) -> bool:
        async with self._database.connection() as connection:
            status: str = await connection.execute(DELETE, user_id, task_id)
        return status == "DELETE 1"
