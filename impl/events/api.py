"""The generated `BaseEventsApi`, implemented: a user's event stream, and the token that opens
it from a browser's EventSource."""

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from contract_runtime.answers import EventStream
from contract_runtime.security import Principal
from generated.apis import BaseEventsApi
from generated.documents import StreamToken
from impl.auth.verifier import require_owner
from impl.db.pool import DatabaseUnavailable
from impl.events.hub import StreamHub
from impl.events.stream import Sync, SyncNotice
from impl.events.tokens import StreamTokens
from impl.signing import TokenSigner
from impl.tasks.repository import TaskRepository


class EventsApi(BaseEventsApi):
    def __init__(
        self,
        hub: StreamHub,
        tasks: TaskRepository,
        stream_tokens: StreamTokens,
        sync_tokens: TokenSigner,
        sync_retention: timedelta,
        listen_timeout_seconds: float,
    ) -> None:
        self._hub = hub
        self._tasks = tasks
        self._stream_tokens = stream_tokens
        self._sync_tokens = sync_tokens
        self._sync_retention = sync_retention
        self._listen_timeout_seconds = listen_timeout_seconds

    async def authorize(self, principal: Principal, path: Mapping[str, Any]) -> None:
        require_owner(principal, path["user_id"])

    async def create_stream_token(self, *, principal: Principal, user_id: str) -> StreamToken:
        return self._stream_tokens.issue(require_owner(principal, user_id))

    async def stream_events(
        self, *, principal: Principal, user_id: str, last_event_id: str | None
    ) -> EventStream:
        """The stream, once it hears every change: registered first, then listening, then the
        snapshot its first event names, so that no change falls between the two."""
        owner = require_owner(principal, user_id)
        stream = self._hub.open(owner)
        try:
            if not await self._hub.listener.listening(self._listen_timeout_seconds):
                raise DatabaseUnavailable("the event listener cannot reach the database")
            stream.seen_from_now()
            stream.begin(await self._first_notice(owner, last_event_id))
        except BaseException:
            stream.close()
            raise
        return stream

    async def _first_notice(self, owner: str, last_event_id: str | None) -> SyncNotice:
        """`ready` for a new stream, or one that missed nothing since `last_event_id`;
        `changed` for one that did; `resync` for one whose position cannot be read."""
        if last_event_id is not None:
            claims = self._sync_tokens.verify(owner, last_event_id)
            if claims is not None and "s" in claims:
                if time.time() - float(claims["t"]) > self._sync_retention.total_seconds():
                    return await self._resync(owner, "expired")
                snapshot, missed = await self._tasks.changes(owner, None, str(claims["s"]), None, 1)
                kind = Sync.CHANGED if missed else Sync.READY
                return SyncNotice(kind, self._hub.token(owner, snapshot))
            return await self._resync(owner, "unknown")
        return SyncNotice(Sync.READY, self._hub.token(owner, await self._tasks.snapshot()))

    async def _resync(self, owner: str, reason: str) -> SyncNotice:
        snapshot = await self._tasks.snapshot()
        return SyncNotice(Sync.RESYNC, self._hub.token(owner, snapshot), reason)
