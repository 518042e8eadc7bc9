"""All SQL of the due-reminders query: fire times of open tasks, kept by migration 0031's
triggers in `task_reminders`, read in order from its index by user and time."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from contract_runtime.formats import EARLIEST, LATEST
from generated.documents import Task
from impl.db.pool import Database
from impl.observability.naming import named
from impl.tasks.queries import QUALIFIED_TASK_COLUMNS
from impl.tasks.repository import TASK_FIELDS

# After the position ($2, $3, $4), at or before $5, in order: one range of the index
# task_reminders_firing for any window, so that no reminder outside the page is read. The ends
# of an open window are bound as -infinity and infinity (asyncpg writes Python's first and last
# instants so).
FIRING = named(
    "list_reminders",
    f"""
    SELECT reminder.fires_at, reminder.ordinal, {QUALIFIED_TASK_COLUMNS}
    FROM task_reminders AS reminder
    JOIN tasks ON tasks.user_id = reminder.user_id AND tasks.id = reminder.task_id
    WHERE reminder.user_id = $1
      AND (reminder.fires_at, reminder.task_id, reminder.ordinal) > ($2, $3, $4)
      AND reminder.fires_at <= $5
    ORDER BY reminder.fires_at, reminder.task_id, reminder.ordinal
    LIMIT $6
""",  # noqa: S608 (fixed columns)
)
# When the user's next reminder fires after $2: the first entry of a range of the same index.
NEXT_FIRING = named(
    "next_reminder",
    """
    SELECT fires_at FROM task_reminders
    WHERE user_id = $1 AND fires_at > $2
    ORDER BY fires_at
    LIMIT 1
""",
)
# Ids are at least 1 and ordinals at least 0, and below these.
BEFORE_ANY_TASK = 0
BEFORE_ANY_ORDINAL = -1
AFTER_ANY_TASK = 2**63 - 1
AFTER_ANY_ORDINAL = 2**15 - 1


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page of reminders starts: after this reminder (its time, task and ordinal)."""

    fires_at: datetime
    task_id: int
    ordinal: int

    @classmethod
    def after(cls, instant: datetime | None) -> "Position":
        """Before every reminder firing after `instant` (None: before every reminder)."""
        if instant is None:
            return cls(EARLIEST, BEFORE_ANY_TASK, BEFORE_ANY_ORDINAL)
        return cls(instant, AFTER_ANY_TASK, AFTER_ANY_ORDINAL)


@dataclass(frozen=True, slots=True)
class Firing:
    """A reminder in the window: its position, and its task as it is now."""

    position: Position
    task: Task

    @property
    def reminder(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.task["reminders"][self.position.ordinal])


class ReminderRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def next_firing(self, user_id: str, after: datetime) -> datetime | None:
        """When the first reminder of the user's open tasks fires after `after`, if one does."""
        fires_at: datetime | None = await self._database.read(
            lambda connection: connection.fetchval(NEXT_FIRING, user_id, after)
        )
        return fires_at

    async def firing(
        self, user_id: str, start: Position, until: datetime | None, limit: int
    ) -> list[Firing]:
        """Up to `limit` reminders of the user's open tasks after `start`, at or before
        `until` (None: any time), in order."""
        records = await self._database.read(
            lambda connection: connection.fetch(
                FIRING,
                user_id,
                start.fires_at,
                start.task_id,
                start.ordinal,
                LATEST if until is None else until,
                limit,
            )
        )
        return [
            Firing(
                Position(record["fires_at"], record["id"], record["ordinal"]),
                cast(Task, {name: record[name] for name in TASK_FIELDS}),
            )
            for record in records
        ]
