"""The due-reminders query for one user: a window of fire times, paged by a signed cursor."""

from datetime import UTC, datetime
from typing import Any, cast

from generated.documents import DueReminder, DueReminderPage, Reminder
from impl.errors import invalid_cursor
from impl.reminders.repository import Position, ReminderRepository
from impl.signing import TokenSigner


class ReminderService:
    def __init__(self, repository: ReminderRepository, cursors: TokenSigner, owner_id: str) -> None:
        self._repository = repository
        self._cursors = cursors
        self._owner_id = owner_id

    async def firing(
        self, after: datetime | None, until: datetime | None, cursor: str | None, limit: int
    ) -> DueReminderPage:
        """The reminders of open tasks firing after `after` and at or before `until`, soonest
        first: one page of `limit`, from `cursor` (issued for the same window) on."""
        window = [_instant_claim(after), _instant_claim(until)]
        start = Position.after(after) if cursor is None else self._start(cursor, window)
        found = await self._repository.firing(self._owner_id, start, until, limit + 1)
        page = found[:limit]
        next_cursor = None
        if len(found) > limit:
            last = page[-1].position
            claims = {
                "w": window,
                "f": last.fires_at.isoformat(),
                "t": last.task_id,
                "n": last.ordinal,
            }
            next_cursor = self._cursors.sign(self._owner_id, claims)
        items = [
            DueReminder(
                fires_at=item.position.fires_at,
                reminder=cast(Reminder, item.reminder),
                task=item.task,
            )
            for item in page
        ]
        return {"items": items, "next_cursor": next_cursor}

    def _start(self, cursor: str, window: list[str | None]) -> Position:
        claims = self._cursors.verify(self._owner_id, cursor)
        if claims is None or not {"w", "f", "t", "n"} <= claims.keys():
            raise invalid_cursor()
        if claims["w"] != window:
            raise invalid_cursor("The cursor was issued for another `after` or `until`.")
        return Position(datetime.fromisoformat(claims["f"]), int(claims["t"]), int(claims["n"]))


def _instant_claim(instant: datetime | None) -> Any:
    # In UTC: the same instant with another offset is the same window.
    return None if instant is None else instant.astimezone(UTC).isoformat()
