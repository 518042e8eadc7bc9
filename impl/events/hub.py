"""Every event stream of one worker process, by user: opened under the caps, fed by the
change listener and the users' reminder clocks, closed with a last event at shutdown."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from impl.errors import ApiError, ErrorCode
from impl.events.listener import ChangeListener, Heard
from impl.events.reminders import ReminderClocks
from impl.events.stream import Stream, Sync, SyncNotice
from impl.lifecycle import ShuttingDown
from impl.signing import TokenSigner
from impl.tasks.repository import Snapshot
from impl.tasks.service import sync_token

logger = logging.getLogger(__name__)

# A client refused for the caps is told to come back later: a stream closes when its tab does.
RETRY_STREAMS_SECONDS = "5"


class TooManyStreams(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(
            ErrorCode.SERVICE_BUSY, message, headers={"Retry-After": RETRY_STREAMS_SECONDS}
        )


class StreamObserver(Protocol):
    """What the hub reports, for metrics."""

    def streams_opened(self, count: int) -> None: ...

    def event_sent(self, event: str) -> None: ...

    def fanned_out(self, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class StreamLimits:
    per_user: int
    per_worker: int
    retry_milliseconds: int
    heartbeat_seconds: float


class StreamHub:
    def __init__(
        self,
        limits: StreamLimits,
        sync_tokens: TokenSigner,
        listener: Callable[[Callable[[Heard], None], Callable[[Snapshot], None]], ChangeListener],
        reminders: ReminderClocks,
        observer: StreamObserver | None,
    ) -> None:
        self._limits = limits
        self._sync_tokens = sync_tokens
        self._listener = listener(self._deliver, self._resync_all)
        self._reminders = reminders
        self._observer = observer
        self._streams: dict[str, set[Stream]] = {}
        self._count = 0
        self._closing = False

    @property
    def listener(self) -> ChangeListener:
        return self._listener

    def open(self, user_id: str) -> Stream:
        """A new stream of `user_id`'s, which hears every change from now on; refused past the
        caps, or once the worker is stopping."""
        if self._closing:
            raise ShuttingDown
        held = self._streams.get(user_id)
        if held is not None and len(held) >= self._limits.per_user:
            raise TooManyStreams(
                f"This user has {len(held)} event streams open here, the most allowed."
            )
        if self._count >= self._limits.per_worker:
            raise TooManyStreams("This instance holds as many event streams as it may.")
        stream = Stream(
            user_id,
            self._limits.retry_milliseconds,
            self._limits.heartbeat_seconds,
            self._sent,
            self._remove,
        )
        if held is None:
            held = self._streams[user_id] = set()
            self._reminders.watch(user_id, self._remind)
        held.add(stream)
        self._count += 1
        if self._observer is not None:
            self._observer.streams_opened(1)
        return stream

    def token(self, user_id: str, snapshot: Snapshot) -> str:
        """A sync token of `user_id`'s at `snapshot`, as `list_task_changes` issues them."""
        return sync_token(self._sync_tokens, user_id, snapshot)

    def close_all(self) -> None:
        """Every stream sends what is due, then `closing`, and ends; no new one opens."""
        self._closing = True
        for streams in self._streams.values():
            for stream in streams:
                stream.end()

    async def stop(self) -> None:
        """Stop listening and keeping reminder clocks (at the app's end)."""
        await self._listener.stop()
        await self._reminders.stop()

    def _remove(self, stream: Stream) -> None:
        held = self._streams.get(stream.user_id)
        if held is None or stream not in held:
            return
        held.discard(stream)
        self._count -= 1
        if self._observer is not None:
            self._observer.streams_opened(-1)
        if not held:
            del self._streams[stream.user_id]
            self._reminders.forget(stream.user_id)

    def _deliver(self, heard: Heard) -> None:
        now = time.time()
        for user_id, stamp in heard.stamps.items():
            streams = self._streams.get(user_id)
            if not streams:
                continue
            notice = SyncNotice(Sync.CHANGED, self.token(user_id, heard.snapshot))
            for stream in streams:
                stream.announce(notice)
            if self._observer is not None:
                self._observer.fanned_out(max(0.0, now - stamp))
        for user_id in heard.reminders:
            self._reminders.changed(user_id)

    def _resync_all(self, snapshot: Snapshot) -> None:
        logger.warning(
            "event listener reconnected: %d streams told to sync (notifications may be lost)",
            self._count,
        )
        for user_id, streams in self._streams.items():
            notice = SyncNotice(Sync.RESYNC, self.token(user_id, snapshot), "gap")
            for stream in streams:
                stream.announce(notice)
            # Whose reminders moved meanwhile is lost too.
            self._reminders.changed(user_id)

    def _remind(self, user_id: str, after: datetime, until: datetime) -> None:
        for stream in self._streams.get(user_id, ()):
            stream.remind(after, until)

    def _sent(self, event: str) -> None:
        if self._observer is not None:
            self._observer.event_sent(event)
