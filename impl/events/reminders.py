"""When the reminders of each user with open streams fire: one clock per user, which reads the
next fire time, waits for it, and reads it again whenever the database says the user's fire
times moved (an edit, a completion, a change of zone)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from impl.db.pool import DatabaseTimeout, DatabaseUnavailable, PoolExhausted

logger = logging.getLogger(__name__)

# A read that failed is tried again after this, or when the user's data changes.
RETRY_SECONDS = 5.0

NextFiring = Callable[[str, datetime], Awaitable[datetime | None]]
Remind = Callable[[str, datetime, datetime], None]


def _now() -> datetime:
    return datetime.now(UTC)


class ReminderClocks:
    def __init__(self, next_firing: NextFiring, now: Callable[[], datetime] = _now) -> None:
        self._next_firing = next_firing
        self._now = now
        self._clocks: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}

    def watch(self, user_id: str, remind: Remind) -> None:
        """From now on, `remind(user_id, after, until)` as the user's reminders fire."""
        changed = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self._keep(user_id, remind, changed))
        self._clocks[user_id] = (task, changed)

    def changed(self, user_id: str) -> None:
        clock = self._clocks.get(user_id)
        if clock is not None:
            clock[1].set()

    def forget(self, user_id: str) -> None:
        clock = self._clocks.pop(user_id, None)
        if clock is not None:
            clock[0].cancel()

    async def stop(self) -> None:
        tasks = [task for task, _ in self._clocks.values()]
        self._clocks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep(self, user_id: str, remind: Remind, changed: asyncio.Event) -> None:
        after = self._now()
        while True:
            changed.clear()
            try:
                fires = await self._next_firing(user_id, after)
                wait = None if fires is None else (fires - self._now()).total_seconds()
            except (DatabaseUnavailable, DatabaseTimeout, PoolExhausted) as error:
                logger.warning("reminder clock cannot read the next fire time: %s", error)
                fires, wait = None, RETRY_SECONDS
            try:
                async with asyncio.timeout(wait):
                    await changed.wait()
            except TimeoutError:
                if fires is not None:
                    remind(user_id, after, fires)
                    after = fires
