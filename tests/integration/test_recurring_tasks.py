"""Recurring tasks: completing one moves its due date to the next occurrence of its rule, in its
own zone, and records the occurrence. Every expected date is written out by hand."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Api, User
from tests.support.locks import RowLock, wait_until
from tests.support.sync import sync
from tests.support.writes import (
    Call,
    create_task,
    etag,
    names_location,
    patch_task,
    post_task,
    read_task,
    send_concurrently,
)

BERLIN_MONDAY = {"date": "2027-03-22", "time": "09:00", "time_zone": "Europe/Berlin"}


def complete(
    api: Api, user: User, task_id: int, headers: dict[str, str] | None = None, **body: Any
) -> dict[str, Any]:
    response = api.request(
        "PATCH",
        f"{user.task_path(task_id)}/complete",
        token=user.token,
        json={"completed": True, **body},
        headers=headers or {},
    )
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


def recurring(api: Api, user: User, due: dict[str, Any], rule: str, **more: Any) -> dict[str, Any]:
    return create_task(
        api, user, title="Water the plants", due=due, recurrence={"rule": rule, **more}
    )


def occurrences(api: Api, user: User, task_id: int, query: str = "") -> dict[str, Any]:
    response = api.request("GET", f"{user.task_path(task_id)}/occurrences{query}", token=user.token)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_weekly_at_nine_in_berlin_stays_at_nine_across_both_changes_of_offset(
    api: Api, alice: User
) -> None:
    # given Monday and Wednesday at 09:00 Berlin, from the week before summer time begins
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")

    # when it is completed three times
    dues = [complete(api, alice, task["id"]) for _ in range(3)]

    # then 09:00 stays 09:00: UTC+1 before 28 March 2027, UTC+2 after
    assert [(t["due"]["date"], t["due_at"]) for t in dues] == [
        ("2027-03-24", "2027-03-24T08:00:00Z"),
        ("2027-03-29", "2027-03-29T07:00:00Z"),
        ("2027-03-31", "2027-03-31T07:00:00Z"),
    ]
    assert all(t["completed"] is False and t["due"]["time"] == "09:00:00" for t in dues)
    # and back across the end of summer time (31 October 2027)
    autumn = recurring(
        api, alice, {**BERLIN_MONDAY, "date": "2027-10-27"}, "FREQ=WEEKLY;BYDAY=MO,WE"
    )
    assert complete(api, alice, autumn["id"])["due_at"] == "2027-11-01T08:00:00Z"


def test_daily_at_half_past_two_on_a_night_that_skips_it_is_read_with_the_offset_before(
    api: Api, alice: User
) -> None:
    # New York skips 02:00-03:00 on 14 March 2027
    due = {"date": "2027-03-13", "time": "02:30", "time_zone": "America/New_York"}
    task = recurring(api, alice, due, "FREQ=DAILY")

    skipped_night = complete(api, alice, task["id"])
    after = complete(api, alice, task["id"])

    assert skipped_night["due"]["date"] == "2027-03-14"
    assert skipped_night["due_at"] == "2027-03-14T07:30:00Z"  # 02:30 at -05:00 (03:30 EDT)
    assert after["due_at"] == "2027-03-15T06:30:00Z"  # 02:30 EDT


def test_monthly_on_the_31st_skips_the_months_without_one(api: Api, alice: User) -> None:
    task = recurring(api, alice, {"date": "2027-01-31"}, "FREQ=MONTHLY")

    dates = [complete(api, alice, task["id"])["due"]["date"] for _ in range(3)]

    assert dates == ["2027-03-31", "2027-05-31", "2027-07-31"]


def test_yearly_on_29_february_comes_back_in_leap_years_only(api: Api, alice: User) -> None:
    task = recurring(api, alice, {"date": "2028-02-29"}, "FREQ=YEARLY")

    assert complete(api, alice, task["id"])["due"] == {
        "date": "2032-02-29",
        "time": None,
        "time_zone": None,
    }


def test_count_ends_the_series_and_completes_the_task(api: Api, alice: User) -> None:
    task = recurring(api, alice, {"date": "2027-01-08"}, "FREQ=DAILY;COUNT=2")

    first = complete(api, alice, task["id"])
    last = complete(api, alice, task["id"])

    assert (first["completed"], first["due"]["date"], first["recurrence"]["rule"]) == (
        False,
        "2027-01-09",
        "FREQ=DAILY;COUNT=1",
    )
    assert (last["completed"], last["due"]["date"]) == (True, "2027-01-09")
    assert [o["due"]["date"] for o in occurrences(api, alice, task["id"])["items"]] == [
        "2027-01-09",
        "2027-01-08",
    ]


def test_until_is_the_last_day_included(api: Api, alice: User) -> None:
    task = recurring(api, alice, {"date": "2027-01-08"}, "FREQ=DAILY;UNTIL=20270109")

    assert complete(api, alice, task["id"])["due"]["date"] == "2027-01-09"
    assert complete(api, alice, task["id"])["completed"] is True


def _today_utc() -> date:
    """Today in UTC, not in the last minute of it (the test reads "today" twice)."""
    while True:
        now = datetime.now(UTC)
        if now.hour < 23 or now.minute < 59:
            return now.date()
        time.sleep(1)


@pytest.mark.parametrize("due_date", ["2020-01-01", "2030-01-01"], ids=["late", "early"])
def test_from_completion_counts_from_the_day_it_was_done(
    api: Api, alice: User, due_date: str
) -> None:
    # given every three days from completion, at 09:00 UTC
    today = _today_utc()
    due = {"date": due_date, "time": "09:00", "time_zone": "UTC"}
    task = recurring(api, alice, due, "FREQ=DAILY;INTERVAL=3", **{"from": "completion"})

    # when it is completed today, years late or years early
    done = complete(api, alice, task["id"])

    # then it is next due three days after today
    assert done["due"]["date"] == (today + timedelta(days=3)).isoformat()
    assert done["recurrence"] == {"rule": "FREQ=DAILY;INTERVAL=3", "from": "completion"}


def test_two_completions_of_one_occurrence_at_once_move_it_once(
    api: Api, alice: User, database_url: str
) -> None:
    # given two completions of a recurring task, both sent before either is written
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")
    path = f"{alice.task_path(task['id'])}/complete"
    calls = [Call("PATCH", path, {"completed": True})] * 2
    with ThreadPoolExecutor(1) as thread, RowLock(database_url, task["id"]) as lock:
        sent = thread.submit(send_concurrently, api, alice, calls)
        wait_until(lambda: lock.waiting_statements() == 2)

    # when both are written
    answers = sent.result(timeout=30)

    # then the task moved one occurrence, and both are answered with it
    assert [answer.status_code for answer in answers] == [200, 200]
    assert {answer.json()["due"]["date"] for answer in answers} == {"2027-03-24"}
    assert read_task(api, alice, task["id"])["due"]["date"] == "2027-03-24"
    assert len(occurrences(api, alice, task["id"])["items"]) == 1


def test_two_completions_naming_one_version_move_it_once_whenever_they_arrive(
    api: Api, alice: User
) -> None:
    # given two completions of the version a client saw (a double tap, a second tab)
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")
    seen = {"If-Match": etag(task["version"])}
    path = f"{alice.task_path(task['id'])}/complete"

    # when they are sent at once
    answers = send_concurrently(api, alice, [Call("PATCH", path, {"completed": True}, seen)] * 2)

    # then whichever came second changed nothing more
    assert [answer.status_code for answer in answers] == [200, 200]
    assert read_task(api, alice, task["id"])["due"]["date"] == "2027-03-24"
    assert len(occurrences(api, alice, task["id"])["items"]) == 1


def test_completing_again_the_version_already_completed_answers_the_task_as_it_is(
    api: Api, alice: User
) -> None:
    # given a recurring task completed from the version a client saw
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")
    seen = {"If-Match": etag(task["version"])}
    done = complete(api, alice, task["id"], headers=seen)

    # when that version is completed again, long after, by either operation
    again = api.request(
        "PATCH",
        f"{alice.task_path(task['id'])}/complete",
        token=alice.token,
        json={"completed": True},
        headers=seen,
    )
    patched = patch_task(api, alice, task["id"], {"completed": True}, headers=seen)

    # then each is answered with the task as the first completion left it
    for answer in (again, patched):
        assert answer.status_code == 200, answer.text
        assert answer.json() == done
        assert answer.headers["ETag"] == etag(done["version"])
    assert len(occurrences(api, alice, task["id"])["items"]) == 1


def test_skipping_again_the_version_already_skipped_answers_the_task_as_it_is(
    api: Api, alice: User
) -> None:
    # given a recurring task skipped from the version a client saw
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")
    seen = {"If-Match": etag(task["version"])}
    skip = f"{alice.task_path(task['id'])}/skip"
    skipped = api.request("POST", skip, token=alice.token, headers=seen)

    # when it is skipped again from that version
    again = api.request("POST", skip, token=alice.token, headers=seen)

    # then nothing more moved
    assert again.status_code == 200
    assert again.json() == skipped.json()
    assert len(occurrences(api, alice, task["id"])["items"]) == 1


def test_completing_a_version_whose_occurrence_was_skipped_is_412(api: Api, alice: User) -> None:
    # given a recurring task skipped from the version a client saw
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")
    seen = {"If-Match": etag(task["version"])}
    api.request("POST", f"{alice.task_path(task['id'])}/skip", token=alice.token, headers=seen)

    # when that version is completed: the client did not know it was skipped
    response = api.request(
        "PATCH",
        f"{alice.task_path(task['id'])}/complete",
        token=alice.token,
        json={"completed": True},
        headers=seen,
    )

    # then it is refused, as for any other change since
    assert response.status_code == 412
    assert response.json()["error"] == "precondition_failed"


def test_a_completion_with_other_changes_from_a_version_completed_since_is_412(
    api: Api, alice: User
) -> None:
    # given a recurring task completed from the version a client saw
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")
    seen = {"If-Match": etag(task["version"])}
    complete(api, alice, task["id"], headers=seen)

    # when that version is patched with a completion and a new title
    response = patch_task(
        api, alice, task["id"], {"completed": True, "title": "Water the garden"}, headers=seen
    )

    # then the title is not set on a version the client never saw
    assert response.status_code == 412
    assert read_task(api, alice, task["id"])["title"] == "Water the plants"


def test_skipping_moves_on_without_completing_and_is_recorded(api: Api, alice: User) -> None:
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")

    response = api.request(
        "POST",
        f"{alice.task_path(task['id'])}/skip",
        token=alice.token,
        headers={"If-Match": etag(task["version"])},
    )

    assert response.status_code == 200
    assert response.json()["due"]["date"] == "2027-03-24"
    assert response.json()["completed"] is False
    [skipped] = occurrences(api, alice, task["id"])["items"]
    assert (skipped["outcome"], skipped["due"]["date"]) == ("skipped", "2027-03-22")


def test_skipping_a_task_that_does_not_recur_is_409(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Once", due={"date": "2027-01-01"})

    response = api.request("POST", f"{alice.task_path(task['id'])}/skip", token=alice.token)

    assert response.status_code == 409
    assert response.json()["error"] == "not_recurring"


def test_completing_the_whole_series_completes_the_task(api: Api, alice: User) -> None:
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")

    done = complete(api, alice, task["id"], series=True)

    assert done["completed"] is True
    assert done["due"]["date"] == "2027-03-22"
    assert [o["outcome"] for o in occurrences(api, alice, task["id"])["items"]] == ["completed"]


def test_a_toggle_and_a_patch_complete_an_occurrence_and_reopening_an_ended_series_works(
    api: Api, alice: User
) -> None:
    task = recurring(api, alice, {"date": "2027-01-08"}, "FREQ=DAILY;COUNT=3")

    toggled = api.request("PATCH", f"{alice.task_path(task['id'])}/complete", token=alice.token)
    patched = patch_task(api, alice, task["id"], {"completed": True, "title": "Water"})
    ended = complete(api, alice, task["id"])
    reopened = api.request("PATCH", f"{alice.task_path(task['id'])}/complete", token=alice.token)

    assert toggled.json()["due"]["date"] == "2027-01-09"
    assert (patched.json()["due"]["date"], patched.json()["title"]) == ("2027-01-10", "Water")
    assert ended["completed"] is True
    assert reopened.json()["completed"] is False


def test_a_batch_completes_each_recurring_task_by_its_occurrence(api: Api, alice: User) -> None:
    weekly = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")
    once = create_task(api, alice, title="Once")
    operations = [
        {"op": "complete", "task_id": weekly["id"], "completed": True},
        {"op": "complete", "task_id": once["id"], "completed": True},
    ]

    response = api.request(
        "POST", f"{alice.tasks_path}/batch", token=alice.token, json={"operations": operations}
    )

    first, second = response.json()["results"]
    assert (first["task"]["completed"], first["task"]["due"]["date"]) == (False, "2027-03-24")
    assert second["task"]["completed"] is True


def test_delta_sync_hands_over_the_next_occurrence(api: Api, alice: User) -> None:
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY;BYDAY=MO,WE")
    token = sync(api, alice).token

    complete(api, alice, task["id"])

    [changed] = sync(api, alice, since=token).items
    assert changed["due"]["date"] == "2027-03-24"
    assert changed["recurrence"] == {"rule": "FREQ=WEEKLY;BYDAY=MO,WE", "from": "due"}


def test_occurrences_come_newest_first_a_page_at_a_time(api: Api, alice: User) -> None:
    task = recurring(api, alice, {"date": "2027-01-08"}, "FREQ=DAILY")
    for _ in range(3):
        complete(api, alice, task["id"])

    first = occurrences(api, alice, task["id"], "?limit=2")
    rest = occurrences(api, alice, task["id"], f"?limit=2&cursor={first['next_cursor']}")

    assert [o["due"]["date"] for o in first["items"] + rest["items"]] == [
        "2027-01-10",
        "2027-01-09",
        "2027-01-08",
    ]
    assert rest["next_cursor"] is None


def test_another_users_occurrences_are_404(api: Api, alice: User, bob: User) -> None:
    task = recurring(api, alice, BERLIN_MONDAY, "FREQ=WEEKLY")

    response = api.request("GET", f"{bob.task_path(task['id'])}/occurrences", token=bob.token)
    skipped = api.request("POST", f"{bob.task_path(task['id'])}/skip", token=bob.token)

    assert (response.status_code, skipped.status_code) == (404, 404)


REFUSED_RULES = {
    "finer_than_a_day": "FREQ=HOURLY",
    "set_position": "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1",
    "no_frequency": "BYDAY=MO",
    "not_a_rule": "every monday",
    "february_30": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "never_occurs": "FREQ=MONTHLY;BYMONTHDAY=1;BYDAY=5MO",
    "until_before_due": "FREQ=DAILY;UNTIL=20200101",
    "count_and_until": "FREQ=DAILY;COUNT=2;UNTIL=20300101",
}


@pytest.mark.parametrize("rule", REFUSED_RULES.values(), ids=REFUSED_RULES)
def test_a_rule_outside_the_subset_or_that_never_occurs_is_422_naming_it(
    api: Api, alice: User, rule: str
) -> None:
    response = post_task(
        api,
        alice,
        {"title": "t", "due": {"date": "2027-01-08"}, "recurrence": {"rule": rule}},
    )

    assert response.status_code == 422, response.text
    assert names_location(response, "body", "recurrence", "rule")


def test_a_recurring_task_keeps_a_due_date(api: Api, alice: User) -> None:
    without = post_task(api, alice, {"title": "t", "recurrence": {"rule": "FREQ=DAILY"}})
    task = recurring(api, alice, {"date": "2027-01-08"}, "FREQ=DAILY")
    cleared = patch_task(api, alice, task["id"], {"due": None})
    both = patch_task(api, alice, task["id"], {"due": None, "recurrence": None})

    assert without.status_code == 422
    assert names_location(without, "body", "recurrence")
    assert cleared.status_code == 422
    assert names_location(cleared, "body", "recurrence")
    assert both.status_code == 200
    assert (both.json()["due"], both.json()["recurrence"]) == (None, None)


def test_a_patch_that_completes_a_task_that_does_not_recur_is_one_write(
    api: Api, alice: User
) -> None:
    task = create_task(api, alice, title="Once")

    patched = patch_task(api, alice, task["id"], {"completed": True, "title": "Done once"})

    assert (patched.json()["completed"], patched.json()["title"]) == (True, "Done once")
    assert patched.json()["version"] == task["version"] + 1
