"""What one event stream sends, and when: the wire format, coalescing, heartbeats, the end; the
stream tokens; the reminder clocks. The streams over HTTP, with PostgreSQL's notifications, are
tests/integration/test_events.py."""

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from impl.events import wire
from impl.events.reminders import ReminderClocks
from impl.events.stream import Stream, Sync, SyncNotice
from impl.events.tokens import StreamTokens
from impl.signing import TokenSigner

NOON = datetime(2026, 12, 7, 12, tzinfo=UTC)


def on_a_loop(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """The test, run on an event loop of its own."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())

    return run


def test_an_event_is_its_name_its_id_and_its_data_on_one_line() -> None:
    encoded = wire.event("changed", {"sync_token": "abc", "at": NOON}, "abc")
    assert encoded == (
        b'event: changed\nid: abc\ndata: {"sync_token":"abc","at":"2026-12-07T12:00:00Z"}\n\n'
    )
    assert wire.event("closing", {"reason": "shutting_down"}).count(b"\n") == 3


@pytest.mark.parametrize(
    ("pending", "newer", "kind", "reason"),
    [
        (Sync.READY, Sync.CHANGED, Sync.CHANGED, None),
        (Sync.CHANGED, Sync.READY, Sync.CHANGED, None),
        (Sync.RESYNC, Sync.CHANGED, Sync.RESYNC, "gap"),
        (Sync.CHANGED, Sync.RESYNC, Sync.RESYNC, "gap"),
    ],
)
def test_a_notice_pending_takes_in_a_newer_one_keeping_the_stronger_kind_and_newer_token(
    pending: Sync, newer: Sync, kind: Sync, reason: str | None
) -> None:
    first = SyncNotice(pending, "old", "gap" if pending is Sync.RESYNC else None)
    second = SyncNotice(newer, "new", "gap" if newer is Sync.RESYNC else None)
    assert first.merged(second) == SyncNotice(kind, "new", reason)


def stream(heartbeat_seconds: float = 60.0) -> tuple[Stream, list[str], list[Stream]]:
    sent: list[str] = []
    closed: list[Stream] = []
    return Stream("alice", 1500, heartbeat_seconds, sent.append, closed.append), sent, closed


async def take(events: AsyncIterator[bytes]) -> bytes:
    return await asyncio.wait_for(anext(events), 5)


@on_a_loop
async def test_a_slow_client_gets_one_event_that_says_as_much_as_those_it_missed() -> None:
    # Given a stream whose client has read only `retry:`
    alice, sent, _ = stream()
    events = alice.events()
    assert await take(events) == b"retry: 1500\n\n"
    # When three changes and two reminder windows come before it reads again
    for token in ("t1", "t2", "t3"):
        alice.announce(SyncNotice(Sync.CHANGED, token))
    alice.remind(NOON, NOON + timedelta(minutes=1))
    alice.remind(NOON - timedelta(minutes=1), NOON + timedelta(minutes=2))
    # Then it reads the newest token once, and the widest window once
    chunk = await take(events)
    assert chunk == wire.event("changed", {"sync_token": "t3"}, "t3") + wire.event(
        "reminder", {"after": NOON - timedelta(minutes=1), "until": NOON + timedelta(minutes=2)}
    )
    assert sent == ["changed", "reminder"]


@on_a_loop
async def test_the_first_event_comes_first_and_what_was_announced_while_opening_after() -> None:
    # Given a change announced while the stream opened, before its first event was known
    alice, sent, _ = stream()
    alice.announce(SyncNotice(Sync.CHANGED, "during"))
    alice.begin(SyncNotice(Sync.READY, "first"))
    events = alice.events()
    # Then `ready` is sent first, with `retry:`, and the change after it
    assert await take(events) == b"retry: 1500\n\n" + wire.event(
        "ready", {"sync_token": "first"}, "first"
    )
    assert await take(events) == wire.event("changed", {"sync_token": "during"}, "during")
    assert sent == ["ready", "changed"]


@on_a_loop
async def test_what_was_announced_before_the_first_snapshot_is_not_sent_again() -> None:
    # Given a change announced before the first event's snapshot was taken, which sees it
    alice, sent, _ = stream()
    alice.announce(SyncNotice(Sync.CHANGED, "before"))
    alice.seen_from_now()
    alice.begin(SyncNotice(Sync.CHANGED, "first"))
    events = alice.events()
    # Then the first event alone says it
    assert await take(events) == b"retry: 1500\n\n" + wire.event(
        "changed", {"sync_token": "first"}, "first"
    )
    alice.end()
    assert await take(events) == wire.event("closing", {"reason": "shutting_down"})
    assert sent == ["changed", "closing"]


@on_a_loop
async def test_a_quiet_stream_sends_heartbeats() -> None:
    alice, _, _ = stream(heartbeat_seconds=0.01)
    events = alice.events()
    await take(events)
    assert await take(events) == wire.HEARTBEAT


@on_a_loop
async def test_an_ended_stream_sends_what_is_due_then_closing_then_stops() -> None:
    alice, sent, closed = stream()
    events = alice.events()
    await take(events)
    alice.announce(SyncNotice(Sync.RESYNC, "t", "gap"))
    alice.end()
    assert await take(events) == wire.event(
        "resync", {"sync_token": "t", "reason": "gap"}, "t"
    ) + wire.event("closing", {"reason": "shutting_down"})
    with pytest.raises(StopAsyncIteration):
        await take(events)
    alice.close()
    alice.close()
    assert closed == [alice]
    assert sent == ["resync", "closing"]


def test_a_stream_token_opens_its_users_stream_until_it_expires() -> None:
    now = [1_800_000_000.0]
    tokens = StreamTokens("s" * 32, timedelta(seconds=60), clock=lambda: now[0])
    issued = tokens.issue("alice")
    assert issued["expires_at"] == datetime.fromtimestamp(1_800_000_060, UTC)
    assert tokens.holder(issued["stream_token"]) == "alice"
    now[0] += 60
    assert tokens.holder(issued["stream_token"]) is None


def test_nothing_but_a_stream_token_opens_a_stream() -> None:
    tokens = StreamTokens("s" * 32, timedelta(seconds=60))
    sync_token = TokenSigner("s" * 32, "sync token").sign("", {"u": "alice", "e": 2**40})
    assert tokens.holder(sync_token) is None
    assert tokens.holder("not-a-token") is None
    other_secret = StreamTokens("t" * 32, timedelta(seconds=60)).issue("alice")["stream_token"]
    assert tokens.holder(other_secret) is None


@on_a_loop
async def test_a_reminder_clock_reminds_at_the_fire_time_and_reads_again_after_a_change() -> None:
    # Given a user whose next reminder fires in a moment, then another later
    start = datetime.now(UTC)
    firings = [start + timedelta(milliseconds=50), start + timedelta(hours=1)]
    asked: asyncio.Queue[datetime] = asyncio.Queue()

    async def next_firing(user_id: str, after: datetime) -> datetime | None:
        asked.put_nowait(after)
        return next((fires for fires in firings if fires > after), None)

    reminded: asyncio.Queue[tuple[str, datetime, datetime]] = asyncio.Queue()
    clocks = ReminderClocks(next_firing)
    clocks.watch("alice", lambda user, after, until: reminded.put_nowait((user, after, until)))
    # When the first fire time comes
    user, after, until = await asyncio.wait_for(reminded.get(), 5)
    # Then the user is reminded of the window up to it, and the clock reads the next one
    assert (user, until) == ("alice", firings[0])
    assert after <= until
    assert [await asked.get(), await asked.get()] == [after, firings[0]]
    # and a change makes it read the next fire time again, from where it was
    clocks.changed("alice")
    assert await asyncio.wait_for(asked.get(), 5) == firings[0]
    await clocks.stop()
    assert reminded.empty()
