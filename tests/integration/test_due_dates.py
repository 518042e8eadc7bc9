"""Due dates in the form a person means them: a date alone, a floating time, a time in a zone,
read in the user's time zone where they have none. Expected instants are written out by hand."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import tzdata

from tests.conftest import Api, User
from tests.support.sync import sync
from tests.support.writes import (
    Call,
    create_task,
    etag,
    list_all_tasks,
    names_location,
    patch_task,
    post_task,
    read_task,
    send_concurrently,
)


def settings_path(user: User) -> str:
    return f"/api/{user.id}/settings"


def move_user_to(api: Api, user: User, time_zone: str) -> dict[str, Any]:
    response = api.request(
        "PATCH", settings_path(user), token=user.token, json={"time_zone": time_zone}
    )
    assert response.status_code == 200, response.text
    settings: dict[str, Any] = response.json()
    return settings


def listed(api: Api, user: User, **query: str) -> list[dict[str, Any]]:
    response = api.request("GET", f"{user.tasks_path}?{urlencode(query)}", token=user.token)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_date_alone_is_due_from_the_start_of_that_day_in_the_users_zone(
    api: Api, alice: User
) -> None:
    # given a user in Berlin (UTC+1 in December)
    move_user_to(api, alice, "Europe/Berlin")

    # when a task is due on a date alone
    task = create_task(api, alice, title="Pay rent", due={"date": "2026-12-08"})

    # then its due date is that day, all day, from its Berlin midnight
    assert task["due"] == {"date": "2026-12-08", "time": None, "time_zone": None}
    assert task["due_at"] == "2026-12-07T23:00:00Z"


def test_a_time_in_a_zone_is_that_time_there_wherever_the_user_is(api: Api, alice: User) -> None:
    move_user_to(api, alice, "Asia/Tokyo")
    due = {"date": "2026-07-01", "time": "09:30", "time_zone": "America/New_York"}

    task = create_task(api, alice, title="Call New York", due=due)

    assert task["due"] == {**due, "time": "09:30:00"}
    assert task["due_at"] == "2026-07-01T13:30:00Z"  # EDT, UTC-4
    move_user_to(api, alice, "Europe/Lisbon")
    assert read_task(api, alice, task["id"]) == task


def test_a_floating_nine_oclock_is_nine_oclock_for_each_user_in_their_own_zone(
    api: Api, alice: User, bob: User
) -> None:
    # given two users, in Tokyo (UTC+9) and in New York (UTC-5 in December)
    move_user_to(api, alice, "Asia/Tokyo")
    move_user_to(api, bob, "America/New_York")
    floating = {"date": "2026-12-08", "time": "09:00"}

    # when each has a task due at a floating 09:00
    tokyo = create_task(api, alice, title="Stand-up", due=floating)
    new_york = create_task(api, bob, title="Stand-up", due=floating)

    # then each is due at 09:00 where its user is
    assert (
        tokyo["due"]
        == new_york["due"]
        == {"date": "2026-12-08", "time": "09:00:00", "time_zone": None}
    )
    assert tokyo["due_at"] == "2026-12-08T00:00:00Z"
    assert new_york["due_at"] == "2026-12-08T14:00:00Z"


def test_moving_zone_moves_floating_and_all_day_due_dates_and_delta_sync_hands_them_over(
    api: Api, alice: User
) -> None:
    # given tasks of every form, and a synced client
    move_user_to(api, alice, "Asia/Tokyo")
    all_day = create_task(api, alice, title="a", due={"date": "2026-12-08"})
    floating = create_task(api, alice, title="f", due={"date": "2026-12-08", "time": "09:00"})
    zoned = create_task(
        api, alice, title="z", due={"date": "2026-12-08", "time": "09:00", "time_zone": "UTC"}
    )
    undated = create_task(api, alice, title="u")
    token = sync(api, alice).token

    # when the user moves to New York
    settings = move_user_to(api, alice, "America/New_York")

    # then the dates read in the user's zone move, each a new version; the others stay
    assert settings["time_zone"] == "America/New_York"
    assert read_task(api, alice, all_day["id"])["due_at"] == "2026-12-08T05:00:00Z"
    assert read_task(api, alice, floating["id"])["due_at"] == "2026-12-08T14:00:00Z"
    assert read_task(api, alice, zoned["id"]) == zoned
    assert read_task(api, alice, undated["id"]) == undated
    changed = {task["id"]: task for task in sync(api, alice, since=token).items}
    assert set(changed) == {all_day["id"], floating["id"]}
    assert changed[floating["id"]]["version"] == floating["version"] + 1
    assert changed[floating["id"]]["due"] == floating["due"]


def test_an_all_day_task_is_overdue_once_its_day_has_ended_where_its_user_is(
    api: Api, alice: User, bob: User
) -> None:
    # Pago Pago is at UTC-11 and Kiritimati at UTC+14, all year: Kiritimati is always a day or
    # two ahead. The day that is today in Pago Pago has always ended in Kiritimati.
    pago_pago_now = _not_just_before_midnight(-11)
    today_in_pago_pago = pago_pago_now.date().isoformat()
    move_user_to(api, alice, "Pacific/Pago_Pago")
    move_user_to(api, bob, "Pacific/Kiritimati")

    # when both have a task due on that date alone, at the same instant
    in_pago_pago = create_task(api, alice, title="t", due={"date": today_in_pago_pago})
    in_kiritimati = create_task(api, bob, title="t", due={"date": today_in_pago_pago})

    # then it is today for one, overdue for the other
    assert [task["id"] for task in listed(api, alice, overdue="true")] == []
    assert [task["id"] for task in listed(api, alice, overdue="false")] == [in_pago_pago["id"]]
    assert [task["id"] for task in listed(api, bob, overdue="true")] == [in_kiritimati["id"]]
    assert [task["id"] for task in listed(api, bob, overdue="false")] == []


def _not_just_before_midnight(offset_hours: int) -> datetime:
    """Now at a fixed UTC offset, once it is not in the last minute of a day there (a test
    that reads "today" must not see it change under it)."""
    while True:
        local = datetime.now(UTC) + timedelta(hours=offset_hours)
        if local.hour < 23 or local.minute < 59:
            return local
        time.sleep(1)


def test_the_due_filters_read_an_all_day_task_from_its_days_start_in_the_users_zone(
    api: Api, alice: User
) -> None:
    move_user_to(api, alice, "Europe/Berlin")
    task = create_task(api, alice, title="t", due={"date": "2026-12-08"})

    # Berlin's 8 December runs from 23:00 UTC on the 7th to 23:00 UTC on the 8th.
    assert listed(api, alice, due_after="2026-12-07T23:00:00Z")[0]["id"] == task["id"]
    assert listed(api, alice, due_before="2026-12-07T23:00:00Z") == []
    assert listed(api, alice, due_after="2026-12-07T23:00:01Z") == []


def test_a_time_a_zone_skips_is_read_with_the_offset_before_the_skip(api: Api, alice: User) -> None:
    # Berlin skips 02:00-03:00 on 28 March 2027: 02:30 is read at +01:00 (RFC 5545).
    skipped = {"date": "2027-03-28", "time": "02:30", "time_zone": "Europe/Berlin"}
    # and repeats 02:00-03:00 on 31 October 2027: 02:30 is the first, at +02:00.
    repeated = {"date": "2027-10-31", "time": "02:30", "time_zone": "Europe/Berlin"}

    assert create_task(api, alice, title="s", due=skipped)["due_at"] == "2027-03-28T01:30:00Z"
    assert create_task(api, alice, title="r", due=repeated)["due_at"] == "2027-10-31T00:30:00Z"


def test_setting_due_at_sets_due_to_the_same_instant_in_utc(api: Api, alice: User) -> None:
    move_user_to(api, alice, "Asia/Tokyo")

    task = create_task(api, alice, title="t", due_at="2026-12-08T09:00:00.25+01:00")

    assert task["due_at"] == "2026-12-08T08:00:00.250000Z"
    assert task["due"] == {"date": "2026-12-08", "time": "08:00:00.250000", "time_zone": "UTC"}
    cleared = patch_task(api, alice, task["id"], {"due_at": None}).json()
    assert cleared["due"] is None
    assert cleared["due_at"] is None


def test_patching_due_replaces_the_form_and_null_clears_it(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="t", due={"date": "2026-12-08"})

    moved = patch_task(api, alice, task["id"], {"due": {"date": "2026-12-09", "time": "18:00"}})
    cleared = patch_task(api, alice, task["id"], {"due": None})

    assert moved.json()["due"] == {"date": "2026-12-09", "time": "18:00:00", "time_zone": None}
    assert moved.json()["due_at"] == "2026-12-09T18:00:00Z"
    assert cleared.json()["due"] is None
    assert cleared.json()["due_at"] is None
    assert cleared.json()["version"] == task["version"] + 2


REFUSED_DUES = {
    "no_such_day": ({"date": "2027-02-29"}, "date"),
    "year_one": ({"date": "0001-06-01"}, "date"),
    "year_9999": ({"date": "9999-06-01"}, "date"),
    "unknown_zone": (
        {"date": "2027-02-28", "time": "10:00", "time_zone": "Mars/Olympus"},
        "time_zone",
    ),
    "zone_in_lower_case": (
        {"date": "2027-02-28", "time": "10:00", "time_zone": "europe/berlin"},
        "time_zone",
    ),
    "not_a_place": ({"date": "2027-02-28", "time": "10:00", "time_zone": "Factory"}, "time_zone"),
    "zone_without_time": ({"date": "2027-02-28", "time_zone": "UTC"}, "time_zone"),
    "leap_second": ({"date": "2027-02-28", "time": "23:59:60"}, "time"),
    "hour_24": ({"date": "2027-02-28", "time": "24:00"}, "time"),
    "date_time_as_date": ({"date": "2027-02-28T10:00:00"}, "date"),
    "other_member": ({"date": "2027-02-28", "timezone": "UTC"}, "timezone"),
}


@pytest.mark.parametrize(("due", "member"), REFUSED_DUES.values(), ids=REFUSED_DUES)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_a_due_that_is_not_a_day_a_time_and_a_zone_is_422_naming_its_member(
    api: Api, alice: User, method: str, due: dict[str, Any], member: str
) -> None:
    task = create_task(api, alice, title="t")
    body = {"title": "t", "due": due}
    if method == "POST":
        response = post_task(api, alice, body)
    elif method == "PUT":
        response = api.request("PUT", alice.task_path(task["id"]), token=alice.token, json=body)
    else:
        response = patch_task(api, alice, task["id"], {"due": due})

    assert response.status_code == 422, response.text
    assert names_location(response, "body", "due", member)
    assert [task["due"] for task in list_all_tasks(api, alice)] == [None]


def test_due_and_due_at_in_one_body_is_422(api: Api, alice: User) -> None:
    response = post_task(
        api, alice, {"title": "t", "due": {"date": "2026-12-08"}, "due_at": "2026-12-08T00:00:00Z"}
    )

    assert response.status_code == 422
    assert names_location(response, "body", "due_at")


def test_settings_start_in_utc_and_name_the_pinned_time_zone_database(
    api: Api, alice: User
) -> None:
    response = api.request("GET", settings_path(alice), token=alice.token)

    assert response.status_code == 200
    assert response.json() == {
        "time_zone": "UTC",
        "time_zone_database": tzdata.IANA_VERSION,
        "version": 1,
    }
    assert response.headers["ETag"] == etag(1)


def test_settings_change_under_if_match_and_answer_412_with_the_current_ones(
    api: Api, alice: User
) -> None:
    def patch(time_zone: str, headers: dict[str, str] | None = None) -> httpx.Response:
        body = {"time_zone": time_zone}
        return api.request("PATCH", path, token=alice.token, json=body, headers=headers)

    path = settings_path(alice)
    first = patch("Europe/Berlin", {"If-Match": etag(1)})
    stale = patch("Asia/Tokyo", {"If-Match": etag(1)})
    same = patch("Europe/Berlin")

    assert first.status_code == 200
    assert first.json()["version"] == 2
    assert stale.status_code == 412
    assert stale.json()["details"]["current"]["time_zone"] == "Europe/Berlin"
    assert stale.headers["ETag"] == etag(2)
    assert same.json()["version"] == 2
    cached = api.request("GET", path, token=alice.token, headers={"If-None-Match": etag(2)})
    assert cached.status_code == 304


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"time_zone": "Mars/Olympus"}, ("body", "time_zone")),
        ({"time_zone": None}, ("body", "time_zone")),
        ({"time_zone": "Europe/Berlin", "locale": "de"}, ("body", "locale")),
    ],
    ids=["unknown_zone", "null", "unknown_member"],
)
def test_settings_that_are_not_valid_are_422_and_change_nothing(
    api: Api, alice: User, body: dict[str, Any], location: tuple[str, ...]
) -> None:
    response = api.request("PATCH", settings_path(alice), token=alice.token, json=body)

    assert response.status_code == 422
    assert names_location(response, *location)
    assert api.request("GET", settings_path(alice), token=alice.token).json()["version"] == 1


def test_another_users_settings_are_403(api: Api, alice: User, bob: User) -> None:
    read = api.request("GET", settings_path(bob), token=alice.token)
    write = api.request(
        "PATCH", settings_path(bob), token=alice.token, json={"time_zone": "Asia/Tokyo"}
    )

    assert (read.status_code, write.status_code) == (403, 403)
    assert api.request("GET", settings_path(bob), token=bob.token).json()["time_zone"] == "UTC"


def test_floating_writes_racing_zone_changes_all_end_read_in_the_last_zone(
    api: Api, alice: User
) -> None:
    # given writes of floating due dates sent at the same time as changes of the user's zone
    zones = ["Asia/Tokyo", "America/New_York", "Europe/Berlin", "Australia/Sydney"]
    calls = [
        Call(
            "POST",
            alice.tasks_path,
            {"title": f"t{n}", "due": {"date": "2026-12-08", "time": "09:00"}},
        )
        for n in range(12)
    ]
    calls += [Call("PATCH", settings_path(alice), {"time_zone": zone}) for zone in zones]

    responses = send_concurrently(api, alice, calls)

    # then every task is read in whichever zone was set last
    assert all(response.status_code in (200, 201) for response in responses)
    final = api.request("GET", settings_path(alice), token=alice.token).json()["time_zone"]
    expected = {
        "Asia/Tokyo": "2026-12-08T00:00:00Z",
        "America/New_York": "2026-12-08T14:00:00Z",
        "Europe/Berlin": "2026-12-08T08:00:00Z",
        "Australia/Sydney": "2026-12-07T22:00:00Z",
    }[final]
    assert {task["due_at"] for task in list_all_tasks(api, alice)} == {expected}


def test_a_batch_writes_due_dates_in_every_form(api: Api, alice: User) -> None:
    move_user_to(api, alice, "Europe/Berlin")
    task = create_task(api, alice, title="t")
    operations = [
        {"op": "create", "body": {"title": "a", "due": {"date": "2026-12-08"}}},
        {"op": "create", "body": {"title": "b", "due_at": "2026-12-08T10:00:00Z"}},
        {
            "op": "update",
            "task_id": task["id"],
            "body": {"due": {"date": "2026-12-08", "time": "10:00"}},
        },
    ]

    response = api.request(
        "POST", f"{alice.tasks_path}/batch", token=alice.token, json={"operations": operations}
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["task"]["due_at"] for result in results] == [
        "2026-12-07T23:00:00Z",
        "2026-12-08T10:00:00Z",
        "2026-12-08T09:00:00Z",
    ]
    assert results[1]["task"]["due"]["time_zone"] == "UTC"
