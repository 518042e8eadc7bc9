"""Live events (`GET /api/{user_id}/events`): every open stream of a user hears of each change
within moments of its commit, never another user's; a stream resumes from `Last-Event-ID`;
what cannot be told (a lost notification, a position too old) becomes a `resync`, never a
silent gap; the streams are bounded, dropped when their reader stalls, and closed with a last
event when the service stops.

The service runs with two workers on its own database, LISTENing on a direct URL (as it must
behind a transaction pooler: the PgBouncer pass runs these tests too), with short heartbeats,
send timeout and token lifetime so that each test waits moments, on conditions.
"""

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from impl.db.migrations import connect
from impl.db.url import parse_database_url
from tests.conftest import LOG_DIR, User, new_user, service_settings
from tests.support.contract import Contract
from tests.support.events import Event, EventReader
from tests.support.postgres import PostgresServer, target
from tests.support.server import service_process

PER_USER = 3
PER_WORKER = 8
HEARTBEAT_SECONDS = 0.3
SEND_TIMEOUT_SECONDS = 1
# The default lifetime of a stream token; the expiry tests run a service where both last:
SHORT_LIFETIME_SECONDS = 2
STREAM_TOKEN_SECONDS = 60
LOG = LOG_DIR / "service-events.log"


@dataclass(frozen=True)
class Service:
    base_url: str
    # As the service reaches it (through the pooler in the PgBouncer pass), and directly.
    url: str
    database_url: str
    log: Path


def settings_for(postgres: PostgresServer, url: str, **overrides: str) -> dict[str, str]:
    """The service's settings, LISTENing on the database itself, whatever DATABASE_URL is."""
    return service_settings(
        url,
        DATABASE_DIRECT_URL=direct_url(postgres, url),
        EVENTS_MAX_STREAMS_PER_USER=str(PER_USER),
        EVENTS_MAX_STREAMS_PER_WORKER=str(PER_WORKER),
        EVENTS_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
        EVENTS_RETRY_MILLISECONDS="1500",
        SEND_TIMEOUT_SECONDS=str(SEND_TIMEOUT_SECONDS),
        **overrides,
    )


def direct_url(postgres: PostgresServer, url: str) -> str:
    """The URL of the database `url` names, without a pooler."""
    name = parse_database_url(url).database
    assert name is not None
    return postgres.direct().url_for(name)


@pytest.fixture(scope="module")
def service(postgres: PostgresServer) -> Iterator[Service]:
    LOG.unlink(missing_ok=True)
    with (
        postgres.fresh_database("taskapi_events") as url,
        service_process(settings_for(postgres, url, API_WORKERS="1"), LOG) as (base_url, _),
    ):
        yield Service(base_url, url, direct_url(postgres, url), LOG)


@pytest.fixture(scope="module")
def short_lived(postgres: PostgresServer) -> Iterator[Service]:
    """A service whose stream tokens and sync tokens expire in moments."""
    log = LOG_DIR / "service-events-short-lived.log"
    log.unlink(missing_ok=True)
    lifetime = f"PT{SHORT_LIFETIME_SECONDS}S"
    with postgres.fresh_database("taskapi_events_short") as url:
        settings = settings_for(postgres, url, STREAM_TOKEN_TTL=lifetime, SYNC_RETENTION=lifetime)
        with service_process(settings, log) as (base_url, _):
            yield Service(base_url, url, direct_url(postgres, url), log)


@pytest.fixture
def short_lived_http(short_lived: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=short_lived.base_url, timeout=15) as client:
        yield client


@pytest.fixture
def http(service: Service, contract: Contract) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.base_url, timeout=15) as client:
        yield client


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


def events_path(user: User) -> str:
    return f"/api/{user.id}/events"


def open_stream(service: Service, user: User, **headers: str) -> EventReader:
    return EventReader(service.base_url, events_path(user), {**bearer(user), **headers})


def create_task(http: httpx.Client, user: User, **body: Any) -> dict[str, Any]:
    response = http.post(f"/api/{user.id}/tasks", json={"title": "t", **body}, headers=bearer(user))
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def changed_since(http: httpx.Client, user: User, token: str) -> list[dict[str, Any]]:
    """Every task `list_task_changes` reports since `token`, all pages."""
    items: list[dict[str, Any]] = []
    query: dict[str, str] = {"since": token}
    while True:
        response = http.get(f"/api/{user.id}/tasks/changes", params=query, headers=bearer(user))
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        query["cursor"] = page["next_cursor"]


def first_event(reader: EventReader) -> Event:
    assert reader.head.status == 200, reader.head.body
    return reader.next()


def next_sync(reader: EventReader) -> Event:
    """The next event that says something changed (heartbeats and reminders aside)."""
    while True:
        event = reader.next()
        if event.name in ("ready", "changed", "resync"):
            return event


DROPPED = ("taskapi_http_slow_readers_dropped_total", frozenset[tuple[str, str]]())


def samples(service: Service) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(f"{service.base_url}/metrics", timeout=15)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def open_streams(service: Service) -> float:
    return samples(service).get(("taskapi_event_streams_open", frozenset()), 0.0)


def wait_until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.05)


def sees(http: httpx.Client, user: User, event: Event, task_id: int) -> bool:
    """Whether the event's sync token sees the task: a sync from it does not report it."""
    return task_id not in {
        item["id"] for item in changed_since(http, user, event.data["sync_token"])
    }


def test_a_new_stream_says_retry_then_ready_with_a_sync_token(
    service: Service, http: httpx.Client
) -> None:
    # Given a user with a task
    alice = new_user("alice")
    task = create_task(http, alice)
    # When she opens a stream
    with open_stream(service, alice) as stream:
        ready = first_event(stream)
        # Then it is an event stream, never stored, that starts with `retry:` and `ready`
        assert stream.head.headers["content-type"].startswith("text/event-stream")
        assert stream.head.headers["cache-control"] == "no-store"
        assert stream.retry == 1500
        assert ready.name == "ready"
        assert ready.id == ready.data["sync_token"]
        # and its token is a sync token that already sees the task
        assert changed_since(http, alice, ready.data["sync_token"]) == []
        assert task["id"] > 0


def test_a_change_reaches_every_stream_of_its_user_and_none_of_anothers(
    service: Service, http: httpx.Client
) -> None:
    # Given two streams of Alice's and one of Bob's
    alice, bob = new_user("alice"), new_user("bob")
    with (
        open_stream(service, alice) as first,
        open_stream(service, alice) as second,
        open_stream(service, bob) as bobs,
    ):
        tokens = [first_event(first).id, first_event(second).id]
        assert first_event(bobs).name == "ready"
        # When Alice creates a task
        task = create_task(http, alice)
        # Then both her streams hear `changed`, with a token that sees the task
        for stream, token in zip((first, second), tokens, strict=True):
            changed = next_sync(stream)
            assert changed.name == "changed"
            assert changed.id == changed.data["sync_token"]
            assert token is not None
            assert [item["id"] for item in changed_since(http, alice, token)] == [task["id"]]
            assert changed_since(http, alice, changed.data["sync_token"]) == []
        # and Bob's hears nothing of it: his next event is his own change
        bobs_task = create_task(http, bob)
        heard = next_sync(bobs)
        assert heard.name == "changed"
        assert [item["id"] for item in changed_since(http, bob, heard.data["sync_token"])] == []
        assert bobs_task["id"] != task["id"]


def test_a_change_written_through_one_replica_reaches_the_streams_of_another(
    service: Service, postgres: PostgresServer, http: httpx.Client
) -> None:
    # Given a second replica of the service, on the same database, with two workers
    alice = new_user("alice")
    log = LOG_DIR / "service-events-replica.log"
    log.unlink(missing_ok=True)
    settings = settings_for(postgres, service.url, API_WORKERS="2", MIGRATE_ON_STARTUP="false")
    with service_process(settings, log) as (replica, _):
        streams = [EventReader(replica, events_path(alice), bearer(alice)) for _ in range(3)]
        try:
            for stream in streams:
                first_event(stream)
            # When Alice writes through the first replica
            task = create_task(http, alice)
            # Then every stream on the other one hears of it
            for stream in streams:
                while not sees(http, alice, next_sync(stream), task["id"]):
                    pass
        finally:
            for stream in streams:
                stream.close()


def test_last_event_id_resumes_with_changed_if_something_was_missed_else_ready(
    service: Service, http: httpx.Client
) -> None:
    alice = new_user("alice")
    with open_stream(service, alice) as stream:
        position = first_event(stream).id
    assert position is not None
    # Given a change while no stream was open
    create_task(http, alice)
    # When the client reconnects from where it was
    with open_stream(service, alice, **{"Last-Event-ID": position}) as stream:
        missed = first_event(stream)
    # Then it hears at once that it missed a change
    assert missed.name == "changed"
    assert missed.id is not None
    # and from the newest position, with nothing missed, that it is ready
    with open_stream(service, alice, **{"Last-Event-ID": missed.id}) as stream:
        assert first_event(stream).name == "ready"


def test_a_position_that_is_not_the_users_is_a_resync_never_an_error(
    service: Service, http: httpx.Client
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    with open_stream(service, bob) as stream:
        bobs_position = first_event(stream).id
    assert bobs_position is not None
    for position in ("not-a-token", bobs_position):
        with open_stream(service, alice, **{"Last-Event-ID": position}) as stream:
            event = first_event(stream)
        assert (event.name, event.data["reason"]) == ("resync", "unknown")
        assert changed_since(http, alice, event.data["sync_token"]) == []


def test_a_position_older_than_the_sync_retention_is_a_resync_as_changes_answers_410(
    short_lived: Service, short_lived_http: httpx.Client
) -> None:
    service, http = short_lived, short_lived_http
    alice = new_user("alice")
    with open_stream(service, alice) as stream:
        position = first_event(stream).id
    assert position is not None
    # Given a position as old as the retention: /changes refuses it
    wait_until(
        lambda: (
            http.get(
                f"/api/{alice.id}/tasks/changes", params={"since": position}, headers=bearer(alice)
            ).status_code
            == 410
        ),
        seconds=SHORT_LIFETIME_SECONDS + 15,
    )
    # When a stream resumes from it, it is told to sync again
    with open_stream(service, alice, **{"Last-Event-ID": position}) as stream:
        event = first_event(stream)
    assert (event.name, event.data["reason"]) == ("resync", "expired")


def test_a_stream_token_opens_that_users_stream_for_an_eventsource(
    service: Service, http: httpx.Client, contract: Contract
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    # Given a stream token, got with Alice's bearer token
    response = http.post(f"/api/{alice.id}/events/tokens", headers=bearer(alice))
    contract.assert_conforms(response)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    token = response.json()["stream_token"]
    expires_at = datetime.fromisoformat(response.json()["expires_at"])
    assert expires_at - datetime.now(UTC) <= timedelta(seconds=STREAM_TOKEN_SECONDS + 1)
    # Then it opens her stream without Authorization
    with EventReader(service.base_url, f"{events_path(alice)}?stream_token={token}", {}) as stream:
        assert first_event(stream).name == "ready"
    # but not Bob's (the owner check, as everywhere)
    with EventReader(service.base_url, f"{events_path(bob)}?stream_token={token}", {}) as stream:
        assert stream.head.status == 403
    # nor with a bearer token beside it
    with EventReader(
        service.base_url, f"{events_path(alice)}?stream_token={token}", bearer(alice)
    ) as stream:
        assert stream.head.status == 400
    # and it is no bearer token
    as_bearer = http.get(f"/api/{alice.id}/tasks", headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 401
    # It never reaches the log
    assert token not in service.log.read_text()


def test_a_stream_token_that_is_forged_or_expired_is_refused(
    short_lived: Service, short_lived_http: httpx.Client
) -> None:
    service, http = short_lived, short_lived_http
    alice = new_user("alice")
    token = http.post(f"/api/{alice.id}/events/tokens", headers=bearer(alice)).json()[
        "stream_token"
    ]
    with EventReader(service.base_url, f"{events_path(alice)}?stream_token=x{token}", {}) as forged:
        assert forged.head.status == 401
        assert b'"reason":"stream_token"' in forged.head.body

    def refused() -> bool:
        with EventReader(service.base_url, f"{events_path(alice)}?stream_token={token}", {}) as s:
            return s.head.status == 401

    wait_until(refused, seconds=SHORT_LIFETIME_SECONDS + 15)


def test_an_idle_stream_gets_heartbeats(service: Service) -> None:
    alice = new_user("alice")
    with open_stream(service, alice) as stream:
        first_event(stream)
        wait_until(lambda: stream.comments >= 2)


def test_a_user_past_the_cap_is_told_the_service_is_busy(service: Service) -> None:
    alice = new_user("alice")
    streams = [open_stream(service, alice) for _ in range(PER_USER)]
    try:
        for stream in streams:
            first_event(stream)
        # When one stream too many is asked for
        with open_stream(service, alice) as refused:
            # Then it is 503 service_busy, to retry later
            assert refused.head.status == 503
            assert b'"error":"service_busy"' in refused.head.body
            assert refused.head.headers["retry-after"] == "5"
        # and once one closes, another opens
        streams.pop().close()

        def opens() -> bool:
            with open_stream(service, alice) as again:
                return again.head.status == 200

        wait_until(opens)
    finally:
        for stream in streams:
            stream.close()


def test_the_worker_past_its_cap_is_busy_for_everyone(service: Service) -> None:
    # Given no stream open (the server releases a closed one as it hears of the close)
    wait_until(lambda: open_streams(service) == 0)
    users = [new_user(f"user{n}") for n in range(PER_WORKER // 2)]
    streams = [open_stream(service, user) for user in users for _ in range(2)]
    try:
        for stream in streams:
            first_event(stream)
        with open_stream(service, new_user("carol")) as refused:
            assert refused.head.status == 503
    finally:
        for stream in streams:
            stream.close()
    wait_until(lambda: open_streams(service) == 0)


def test_a_reader_that_stops_reading_is_dropped_not_buffered_for(
    service: Service, http: httpx.Client
) -> None:
    # Given a stream whose reader takes nothing, with a small receive buffer
    alice = new_user("alice")
    task = create_task(http, alice)
    stalled = EventReader(
        service.base_url, events_path(alice), bearer(alice), receive_buffer=4096, reading=False
    )
    assert stalled.head.status == 200
    dropped_before = samples(service).get(DROPPED, 0)

    def dropped() -> bool:
        return samples(service).get(DROPPED, 0) > dropped_before

    try:
        # When changes keep coming until its buffers are full and stay full
        for n in range(5000):
            response = http.patch(
                f"/api/{alice.id}/tasks/{task['id']}",
                json={"title": f"t{n}"},
                headers=bearer(alice),
            )
            assert response.status_code == 200
            if n % 50 == 49 and dropped():
                break
        # Then the service drops it, and with it the stream
        wait_until(dropped)
        wait_until(lambda: open_streams(service) == 0)
    finally:
        stalled.close()


def test_a_listener_that_loses_its_connection_mid_burst_makes_a_resync_not_a_gap(
    service: Service, http: httpx.Client
) -> None:
    alice = new_user("alice")
    with open_stream(service, alice) as stream:
        position = first_event(stream).data["sync_token"]
        created: list[int] = []

        def burst() -> None:
            with httpx.Client(base_url=service.base_url, timeout=15) as writer:
                for _ in range(40):
                    created.append(create_task(writer, alice)["id"])

        writer = threading.Thread(target=burst)
        writer.start()
        # When the listener's session is killed while the writes go on
        wait_until(lambda: len(created) >= 5)
        killed = asyncio.run(kill_listeners(service.database_url))
        assert killed >= 1
        writer.join()
        # Then the stream is told that notifications may have been lost
        reasons = set()
        while "gap" not in reasons:
            event = next_sync(stream)
            reasons.add(event.data.get("reason"))
        # and a sync from the client's own position misses none of the burst
        synced = {item["id"] for item in changed_since(http, alice, position)}
        assert set(created) <= synced
        # and the stream goes on: the next change is heard
        task = create_task(http, alice)
        while not sees(http, alice, next_sync(stream), task["id"]):
            pass


async def kill_listeners(database_url: str) -> int:
    connection = await connect(target(database_url))
    try:
        killed: int = await connection.fetchval(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'taskapi-events') AS killed"
        )
    finally:
        await connection.close()
    return killed


def test_a_reminder_that_fires_is_an_event(service: Service, http: httpx.Client) -> None:
    alice = new_user("alice")
    with open_stream(service, alice) as stream:
        first_event(stream)
        fires = datetime.now(UTC) + timedelta(seconds=2)
        create_task(http, alice, reminders=[{"at": fires.isoformat()}])
        while True:
            event = stream.next()
            if event.name == "reminder":
                break
    after = datetime.fromisoformat(event.data["after"])
    until = datetime.fromisoformat(event.data["until"])
    assert after < until
    assert abs((until - fires).total_seconds()) < 0.001
    assert event.id is None


def test_a_reminder_moved_by_an_edit_fires_at_its_new_time(
    service: Service, http: httpx.Client
) -> None:
    # Given a task whose reminder fires in an hour, and a stream open
    alice = new_user("alice")
    later = datetime.now(UTC) + timedelta(hours=1)
    task = create_task(http, alice, reminders=[{"at": later.isoformat()}])
    with open_stream(service, alice) as stream:
        first_event(stream)
        # When an edit moves it to a moment from now
        fires = datetime.now(UTC) + timedelta(seconds=2)
        response = http.patch(
            f"/api/{alice.id}/tasks/{task['id']}",
            json={"reminders": [{"at": fires.isoformat()}]},
            headers=bearer(alice),
        )
        assert response.status_code == 200
        # Then the stream says so at the new time
        event = stream.next()
        while event.name != "reminder":
            event = stream.next()
    assert abs((datetime.fromisoformat(event.data["until"]) - fires).total_seconds()) < 0.001


def test_a_stream_shows_in_the_metrics(service: Service, http: httpx.Client) -> None:
    alice = new_user("alice")
    with open_stream(service, alice) as stream:
        first_event(stream)
        wait_until(lambda: open_streams(service) >= 1)
        create_task(http, alice)
        next_sync(stream)
        measured = samples(service)
    assert measured[("taskapi_events_sent_total", frozenset({("event", "changed")}))] >= 1
    assert measured[("taskapi_event_fanout_seconds_count", frozenset())] >= 1


def test_head_answers_the_head_and_holds_no_stream(service: Service) -> None:
    alice = new_user("alice")
    response = httpx.head(f"{service.base_url}{events_path(alice)}", headers=bearer(alice))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    wait_until(lambda: open_streams(service) == 0)


def test_stopping_the_service_closes_each_stream_with_a_closing_event(
    postgres: PostgresServer,
) -> None:
    alice = new_user("alice")
    log = LOG_DIR / "service-events-shutdown.log"
    log.unlink(missing_ok=True)
    with (
        postgres.fresh_database("taskapi_events_stop") as url,
        service_process(settings_for(postgres, url, API_WORKERS="2"), log) as (base_url, process),
    ):
        streams = [
            EventReader(base_url, events_path(alice), bearer(alice)) for _ in range(PER_USER)
        ]
        for stream in streams:
            first_event(stream)
        # When the service is asked to stop
        process.send_signal(signal.SIGTERM)
        # Then every stream hears `closing`, then ends, well before the graceful bound
        for stream in streams:
            assert next_closing(stream).data == {"reason": "shutting_down"}
            assert stream.ended.wait(15)
            stream.close()
        assert process.wait(30) == 0


def next_closing(stream: EventReader) -> Event:
    while True:
        event = stream.next()
        if event.name == "closing":
            return event
