"""One client's event stream: what is due to be sent to it, coalesced, sent as it can be."""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from contract_runtime.answers import EventStream
from impl.events import wire


class Sync(IntEnum):
    """The events that tell a client to sync, by how much they say: a stronger one pending
    takes in a weaker one (a `changed` after a `resync` is still a resync)."""

    READY = 0
    CHANGED = 1
    RESYNC = 2


@dataclass(frozen=True, slots=True)
class SyncNotice:
    """A sync event due: its kind, the token that sees what it announces, and for a resync why."""

    kind: Sync
    token: str
    reason: str | None = None

    def merged(self, newer: "SyncNotice") -> "SyncNotice":
        """One notice that says what both do: the stronger kind, the newer token."""
        if newer.kind >= self.kind:
            return newer
        return SyncNotice(self.kind, newer.token, self.reason)

    def encoded(self) -> bytes:
        data: dict[str, object] = {"sync_token": self.token}
        if self.reason is not None:
            data["reason"] = self.reason
        return wire.event(self.kind.name.lower(), data, self.token)


class Stream(EventStream):
    """The events due to one client of one user. Nothing queues up: a slow client gets one
    event saying as much as all those it missed (the newest token, the widest reminder
    window), and a client that reads nothing at all is dropped by the server's send timeout."""

    def __init__(
        self,
        user_id: str,
        retry_milliseconds: int,
        heartbeat_seconds: float,
        on_sent: Callable[[str], None],
        on_close: Callable[["Stream"], None],
    ) -> None:
        self.user_id = user_id
        self._retry_milliseconds = retry_milliseconds
        self._heartbeat_seconds = heartbeat_seconds
        self._on_sent = on_sent
        self._on_close = on_close
        self._first: SyncNotice | None = None
        self._sync: SyncNotice | None = None
        self._reminders: tuple[datetime, datetime] | None = None
        self._closing = False
        self._due = asyncio.Event()
        self._closed = False

    def seen_from_now(self) -> None:
        """What was announced so far is seen by a snapshot taken from now on (the first
        event's): no need to send it besides."""
        self._sync = None

    def begin(self, first: SyncNotice) -> None:
        """The stream's first event, sent before anything announced while it opened (which
        its snapshot may not see, so that is sent too)."""
        self._first = first

    def announce(self, notice: SyncNotice) -> None:
        self._sync = notice if self._sync is None else self._sync.merged(notice)
        self._due.set()

    def remind(self, after: datetime, until: datetime) -> None:
        if self._reminders is not None:
            after = min(after, self._reminders[0])
            until = max(until, self._reminders[1])
        self._reminders = (after, until)
        self._due.set()

    def end(self) -> None:
        """Send what is due, then `closing`, then end the stream."""
        self._closing = True
        self._due.set()

    async def events(self) -> AsyncIterator[bytes]:
        opening = wire.retry(self._retry_milliseconds)
        if self._first is not None:
            opening += self._first.encoded()
            self._on_sent(self._first.kind.name.lower())
        yield opening
        while True:
            try:
                async with asyncio.timeout(self._heartbeat_seconds):
                    await self._due.wait()
            except TimeoutError:
                yield wire.HEARTBEAT
                continue
            self._due.clear()
            chunk = self._take()
            if chunk:
                yield chunk
            if self._closing:
                return

    def _take(self) -> bytes:
        chunk = b""
        if self._sync is not None:
            chunk += self._sync.encoded()
            self._on_sent(self._sync.kind.name.lower())
            self._sync = None
        if self._reminders is not None:
            after, until = self._reminders
            chunk += wire.event("reminder", {"after": after, "until": until})
            self._on_sent("reminder")
            self._reminders = None
        if self._closing:
            chunk += wire.event("closing", {"reason": "shutting_down"})
            self._on_sent("closing")
        return chunk

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._on_close(self)
