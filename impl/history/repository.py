"""All SQL of the history (migration 0034): a task's versions by its key, newest first; the
user's activity by `task_history_activity`, newest first; one version of a task."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import asyncpg

from generated.documents import Task
from impl.db.pool import Database
from impl.observability.naming import named
from impl.tasks.repository import TASK_EXISTS, TASK_FIELDS

# The task of a history row, as the contract's Task.
_TASK = ", ".join("task_id AS id" if field == "id" else field for field in TASK_FIELDS)
# After the position ($3, $4), newest first: one range of the key.
VERSIONS = named(
    "list_task_versions",
    f"""
    SELECT deleted, change, changed, recorded_at, {_TASK} FROM task_history
    WHERE user_id = $1 AND task_id = $2 AND (version, deleted) < ($3, $4)
    ORDER BY version DESC, deleted DESC
    LIMIT $5
""",  # noqa: S608 (fixed columns)
)
# After the position ($2 .. $5), newest first: one range of task_history_activity.
ACTIVITY = named(
    "list_activity",
    f"""
    SELECT deleted, change, changed, recorded_at, {_TASK} FROM task_history
    WHERE user_id = $1 AND (recorded_at, task_id, version, deleted) < ($2, $3, $4, $5)
    ORDER BY recorded_at DESC, task_id DESC, version DESC, deleted DESC
    LIMIT $6
""",  # noqa: S608 (fixed columns)
)
# The task as it was at a version that made it (not its deletion, which holds the same one).
VERSION = named(
    "read_task_version",
    f"""
    SELECT {_TASK} FROM task_history
    WHERE user_id = $1 AND task_id = $2 AND version = $3 AND deleted = 0
""",  # noqa: S608 (fixed columns)
)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: before this entry, newest first (`recorded_at` for the activity)."""

    recorded_at: datetime
    task_id: int
    version: int
    deleted: int


@dataclass(frozen=True, slots=True)
class Entry:
    position: Position
    change: str
    changed: list[str]
    task: Task


class HistoryRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def versions(
        self, user_id: str, task_id: int, start: Position, limit: int
    ) -> list[Entry] | None:
        """Up to `limit` of the task's entries from `start` on; None when the user has no such
        task."""

        async def read(connection: asyncpg.Connection) -> list[Entry] | None:
            # A task in the trash has no versions to show until it is restored.
            if not await connection.fetchval(TASK_EXISTS, user_id, task_id):
                return None
            records = await connection.fetch(
                VERSIONS, user_id, task_id, start.version, start.deleted, limit
            )
            return [_entry(record) for record in records]

        return await self._database.read(read)

    async def activity(self, user_id: str, start: Position, limit: int) -> list[Entry]:
        records = await self._database.read(
            lambda connection: connection.fetch(
                ACTIVITY,
                user_id,
                start.recorded_at,
                start.task_id,
                start.version,
                start.deleted,
                limit,
            )
        )
        return [_entry(record) for record in records]

    async def version(self, user_id: str, task_id: int, version: int) -> Task | None:
        record = await self._database.read(
            lambda connection: connection.fetchrow(VERSION, user_id, task_id, version)
        )
        return None if record is None else cast(Task, dict(record))


def _entry(record: asyncpg.Record) -> Entry:
    task: dict[str, Any] = {field: record[field] for field in TASK_FIELDS}
    position = Position(record["recorded_at"], task["id"], task["version"], record["deleted"])
    return Entry(position, record["change"], list(record["changed"]), cast(Task, task))
