"""Reminders: each at an instant or some minutes before the due date, with a fire time the server
computes and moves with the due date, and the due-reminders query a notifier polls. Every
expected instant is written out by hand."""

from typing import Any
from urllib.parse import urlencode

import httpx

from tests.conftest import Api, User
from tests.integration.test_due_dates import move_user_to
from tests.support.postgres import execute
from tests.support.sync import sync
from tests.support.writes import create_task, etag, names_location, patch_task, read_task

# Monday 22 March 2027, 09:00 in Berlin (UTC+1; summer time begins on the 28th).
BERLIN_MONDAY = {"date": "2027-03-22", "time": "09:00", "time_zone": "Europe/Berlin"}


def before(minutes: int) -> dict[str, Any]:
    return {"minutes_before": minutes}


def at(instant: str) -> dict[str, Any]:
    return {"at": instant}


def fires(task: dict[str, Any]) -> list[str | None]:
    return [reminder["fires_at"] for reminder in task["reminders"]]


def reminders_page(api: Api, user: User, **query: Any) -> dict[str, Any]:
    path = f"/api/{user.id}/reminders"
    if query:
        path += "?" + urlencode(query)
    response = api.request("GET", path, token=user.token)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def firing(api: Api, user: User, **query: Any) -> list[tuple[str, str]]:
    """(fire time, task title) of every reminder in the window, walking all the pages."""
    found: list[tuple[str, str]] = []
    while True:
        page = reminders_page(api, user, **query)
        found += [(item["fires_at"], item["task"]["title"]) for item in page["items"]]
        if page["next_cursor"] is None:
            return found
        query["cursor"] = page["next_cursor"]


def test_a_reminder_fires_at_its_instant_or_that_long_before_the_due_date(
    api: Api, alice: User
) -> None:
    # when a task due at 09:00 Berlin (08:00 UTC) has a reminder 30 minutes before and one at
    # 20:00 Berlin on the evening before, written with an offset
    task = create_task(
        api,
        alice,
        title="Dentist",
        due=BERLIN_MONDAY,
        reminders=[before(30), at("2027-03-21T20:00:00+01:00")],
    )

    # then each is answered as given, the instant in UTC, with its fire time
    assert task["reminders"] == [
        {"at": None, "minutes_before": 30, "fires_at": "2027-03-22T07:30:00Z"},
        {"at": "2027-03-21T19:00:00Z", "minutes_before": None, "fires_at": "2027-03-21T19:00:00Z"},
    ]
    assert read_task(api, alice, task["id"])["reminders"] == task["reminders"]


def test_a_negative_offset_fires_on_the_day_of_a_date_alone_in_the_users_zone(
    api: Api, alice: User
) -> None:
    # given a user in Tokyo (UTC+9, no summer time)
    move_user_to(api, alice, "Asia/Tokyo")

    # when an all-day task has a reminder 540 minutes after the start of its day
    task = create_task(
        api, alice, title="Bins", due={"date": "2027-01-10"}, reminders=[before(-540)]
    )

    # then it fires at 09:00 in Tokyo on that day
    assert fires(task) == ["2027-01-10T00:00:00Z"]


def test_fire_times_are_written_as_every_other_instant(api: Api, alice: User) -> None:
    # the service writes `at`, the database `fires_at`: the same text for the same instant
    given = [
        "2027-01-01T10:00:00.5+02:00",
        "0999-05-01T10:00:00.000001Z",
        "2027-06-30T23:59:59-00:30",
    ]
    expected = [
        "2027-01-01T08:00:00.500000Z",
        "0999-05-01T10:00:00.000001Z",
        "2027-07-01T00:29:59Z",
    ]

    task = create_task(api, alice, title="Precise", reminders=[at(instant) for instant in given])

    assert [reminder["at"] for reminder in task["reminders"]] == expected
    assert fires(task) == expected


def test_reminders_move_with_an_edit_of_the_due_date(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Call", due=BERLIN_MONDAY, reminders=[before(60)])

    response = patch_task(
        api, alice, task["id"], {"due": {**BERLIN_MONDAY, "date": "2027-03-23", "time": "15:00"}}
    )

    assert fires(response.json()) == ["2027-03-23T13:00:00Z"]
    assert firing(api, alice) == [("2027-03-23T13:00:00Z", "Call")]


def test_reminders_of_dates_in_the_users_zone_move_with_a_change_of_zone(
    api: Api, alice: User
) -> None:
    # given a floating 09:00 task of a user in UTC, reminded an hour before
    task = create_task(
        api,
        alice,
        title="Stand-up",
        due={"date": "2027-01-11", "time": "09:00"},
        reminders=[before(60)],
    )
    assert fires(task) == ["2027-01-11T08:00:00Z"]

    # when the user moves to New York (UTC-5 in January)
    move_user_to(api, alice, "America/New_York")

    # then the reminder fires at 08:00 there, and the index of fire times says so
    assert fires(read_task(api, alice, task["id"])) == ["2027-01-11T13:00:00Z"]
    assert firing(api, alice) == [("2027-01-11T13:00:00Z", "Stand-up")]


def test_a_recurring_tasks_reminders_move_to_its_next_occurrence_across_a_change_of_offset(
    api: Api, alice: User
) -> None:
    # given weekly on Monday at 09:00 Berlin, reminded 15 minutes before and at 20:00 the
    # evening before
    task = create_task(
        api,
        alice,
        title="Water the plants",
        due=BERLIN_MONDAY,
        recurrence={"rule": "FREQ=WEEKLY"},
        reminders=[before(15), at("2027-03-21T19:00:00Z")],
    )

    # when the occurrence of 22 March is completed
    response = api.request(
        "PATCH", f"{alice.task_path(task['id'])}/complete", token=alice.token, json={}
    )

    # then both reminders follow the due date to 29 March, in summer time (UTC+2)
    moved = response.json()
    assert moved["due_at"] == "2027-03-29T07:00:00Z"
    assert moved["reminders"] == [
        {"at": None, "minutes_before": 15, "fires_at": "2027-03-29T06:45:00Z"},
        {"at": "2027-03-28T18:00:00Z", "minutes_before": None, "fires_at": "2027-03-28T18:00:00Z"},
    ]
    assert firing(api, alice) == [
        ("2027-03-28T18:00:00Z", "Water the plants"),
        ("2027-03-29T06:45:00Z", "Water the plants"),
    ]


def test_the_query_lists_open_tasks_reminders_in_the_window_soonest_first(
    api: Api, alice: User
) -> None:
    # given reminders from 08:00 to 12:00 UTC on one day, on three tasks, one of them completed
    create_task(api, alice, title="B", reminders=[at("2027-05-01T10:00:00Z")])
    create_task(
        api, alice, title="A", reminders=[at("2027-05-01T12:00:00Z"), at("2027-05-01T08:00:00Z")]
    )
    done = create_task(api, alice, title="Done", reminders=[at("2027-05-01T09:00:00Z")])
    api.request("PATCH", f"{alice.task_path(done['id'])}/complete", token=alice.token, json={})

    # when the window is after 08:00 and until 12:00, read two at a time
    window = {"after": "2027-05-01T08:00:00Z", "until": "2027-05-01T12:00:00Z", "limit": 1}

    # then 08:00 is left out (the previous window had it), 12:00 is in, and the completed
    # task's reminder is not listed
    assert firing(api, alice, **window) == [
        ("2027-05-01T10:00:00Z", "B"),
        ("2027-05-01T12:00:00Z", "A"),
    ]
    assert firing(api, alice) == [
        ("2027-05-01T08:00:00Z", "A"),
        ("2027-05-01T10:00:00Z", "B"),
        ("2027-05-01T12:00:00Z", "A"),
    ]
    # and each item carries its reminder and its task as it is now
    [item] = reminders_page(api, alice, until="2027-05-01T08:00:00Z")["items"]
    assert item["reminder"] == {
        "at": "2027-05-01T08:00:00Z",
        "minutes_before": None,
        "fires_at": "2027-05-01T08:00:00Z",
    }
    assert item["task"]["title"] == "A"


def test_a_cursor_holds_to_the_window_it_was_issued_for(api: Api, alice: User) -> None:
    for hour in (8, 9):
        create_task(api, alice, title=f"At {hour}", reminders=[at(f"2027-05-01T{hour:02}:00:00Z")])
    page = reminders_page(api, alice, limit=1, after="2027-05-01T00:00:00Z")
    cursor = page["next_cursor"]

    # the same window written with another offset is the same window; another one is not
    same = reminders_page(api, alice, limit=1, cursor=cursor, after="2027-05-01T02:00:00+02:00")
    other = api.request(
        "GET",
        f"/api/{alice.id}/reminders?"
        + urlencode({"cursor": cursor, "after": "2027-05-01T01:00:00Z"}),
        token=alice.token,
    )

    assert [item["task"]["title"] for item in same["items"]] == ["At 9"]
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_cursor"


def test_completing_reopening_and_deleting_a_task_stop_and_start_its_reminders(
    api: Api, alice: User
) -> None:
    task = create_task(api, alice, title="Pay rent", reminders=[at("2027-06-01T07:00:00Z")])
    complete = f"{alice.task_path(task['id'])}/complete"

    api.request("PATCH", complete, token=alice.token, json={"completed": True})
    assert firing(api, alice) == []

    reopened = api.request("PATCH", complete, token=alice.token, json={"completed": False})
    assert fires(reopened.json()) == ["2027-06-01T07:00:00Z"]
    assert firing(api, alice) == [("2027-06-01T07:00:00Z", "Pay rent")]

    api.request("DELETE", alice.task_path(task["id"]), token=alice.token)
    assert firing(api, alice) == []


def test_a_reminder_before_the_due_date_of_a_task_without_one_waits_for_one(
    api: Api, alice: User
) -> None:
    task = create_task(api, alice, title="Someday", reminders=[before(10)])
    assert fires(task) == [None]
    assert firing(api, alice) == []

    dated = patch_task(api, alice, task["id"], {"due_at": "2027-02-01T10:00:00Z"}).json()
    assert fires(dated) == ["2027-02-01T09:50:00Z"]
    assert firing(api, alice) == [("2027-02-01T09:50:00Z", "Someday")]

    undated = patch_task(api, alice, task["id"], {"due": None}).json()
    assert fires(undated) == [None]
    assert firing(api, alice) == []


def test_sending_the_same_reminders_again_changes_nothing(api: Api, alice: User) -> None:
    reminders = [before(30), at("2027-03-21T19:00:00Z")]
    task = create_task(api, alice, title="Same", due=BERLIN_MONDAY, reminders=reminders)
    body = {"title": "Same", "due": BERLIN_MONDAY, "reminders": reminders}

    patched = patch_task(api, alice, task["id"], {"reminders": reminders})
    replaced = api.request("PUT", alice.task_path(task["id"]), token=alice.token, json=body)

    assert patched.json()["version"] == replaced.json()["version"] == task["version"]
    assert patched.headers["ETag"] == etag(task["version"])


def test_a_reminder_given_twice_is_kept_once_and_an_empty_list_removes_them_all(
    api: Api, alice: User
) -> None:
    task = create_task(
        api,
        alice,
        title="Twice",
        reminders=[at("2027-01-01T10:00:00+01:00"), at("2027-01-01T09:00:00Z"), before(5)],
    )
    assert [(r["at"], r["minutes_before"]) for r in task["reminders"]] == [
        ("2027-01-01T09:00:00Z", None),
        (None, 5),
    ]

    cleared = patch_task(api, alice, task["id"], {"reminders": []}).json()

    assert cleared["reminders"] == []
    assert firing(api, alice) == []


def test_a_reminder_needs_one_of_its_two_forms_and_a_task_at_most_ten(
    api: Api, alice: User
) -> None:
    def refused(reminders: Any) -> httpx.Response:
        response = api.request(
            "POST", alice.tasks_path, token=alice.token, json={"title": "x", "reminders": reminders}
        )
        assert response.status_code == 422, response.text
        return response

    both = refused([before(5), {"at": "2027-01-01T09:00:00Z", "minutes_before": 5}])
    neither = refused([{"at": None, "minutes_before": None}])
    too_far = refused([before(40321)])
    eleven = refused([before(minutes) for minutes in range(11)])

    assert names_location(both, "body", "reminders", 1)
    assert names_location(neither, "body", "reminders", 0)
    assert names_location(too_far, "body", "reminders", 0, "minutes_before")
    assert names_location(eleven, "body", "reminders")
    assert api.request("GET", alice.tasks_path, token=alice.token).json()["items"] == []


def test_a_batch_creates_and_updates_reminders(api: Api, alice: User) -> None:
    operations = [
        {"op": "create", "body": {"title": "One", "reminders": [at("2027-04-01T10:00:00Z")]}},
        {"op": "create", "body": {"title": "Two", "due_at": "2027-04-01T12:00:00Z"}},
    ]
    created = api.request(
        "POST", f"{alice.tasks_path}/batch", token=alice.token, json={"operations": operations}
    ).json()["results"]
    two = created[1]["task"]

    updates = [{"op": "update", "task_id": two["id"], "body": {"reminders": [before(120)]}}]
    updated = api.request(
        "POST", f"{alice.tasks_path}/batch", token=alice.token, json={"operations": updates}
    ).json()["results"]

    assert fires(created[0]["task"]) == ["2027-04-01T10:00:00Z"]
    assert fires(updated[0]["task"]) == ["2027-04-01T10:00:00Z"]
    # (two at the same time come in the order of their tasks' ids, which is no order to expect)
    assert sorted(firing(api, alice)) == [
        ("2027-04-01T10:00:00Z", "One"),
        ("2027-04-01T10:00:00Z", "Two"),
    ]


def test_delta_sync_carries_reminders(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Synced", due=BERLIN_MONDAY)
    token = sync(api, alice).token

    patch_task(api, alice, task["id"], {"reminders": [before(30)]})

    [changed] = sync(api, alice, since=token).items
    assert fires(changed) == ["2027-03-22T07:30:00Z"]


def test_another_users_reminders_are_neither_listed_nor_reachable(
    api: Api, alice: User, bob: User
) -> None:
    create_task(api, alice, title="Alice's", reminders=[at("2027-05-01T08:00:00Z")])

    assert firing(api, bob) == []
    response = api.request("GET", f"/api/{alice.id}/reminders", token=bob.token)
    assert response.status_code == 403


def test_the_index_of_fire_times_is_rebuilt_from_the_tasks_as_the_operations_guide_says(
    api: Api, alice: User, database_url: str
) -> None:
    # given an index of fire times that lost its rows (a restore of `tasks` alone, say)
    task = create_task(api, alice, title="Kept", reminders=[at("2027-05-01T08:00:00Z")])
    execute(database_url, "DELETE FROM task_reminders")
    assert firing(api, alice) == []

    # when the statement of docs/operations.md runs
    execute(database_url, "UPDATE tasks SET reminders = reminders WHERE reminders <> '[]'")

    # then the reminders fire again, and the task has no new version
    assert firing(api, alice) == [("2027-05-01T08:00:00Z", "Kept")]
    assert read_task(api, alice, task["id"])["version"] == task["version"]
