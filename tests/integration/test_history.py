"""A task's history: every write is a version, recorded with the kind of change and the fields it
changed; a previous version is made current again by an ordinary write; the user's activity
lists every change, newest first."""

from typing import Any

import pytest

from tests.conftest import Api, User
from tests.support.writes import Call, create_task, etag, patch_task, read_task, send_concurrently


def versions(api: Api, user: User, task_id: int, query: str = "") -> dict[str, Any]:
    response = api.request("GET", f"{user.task_path(task_id)}/versions{query}", token=user.token)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def activity(api: Api, user: User, query: str = "") -> dict[str, Any]:
    response = api.request("GET", f"/api/{user.id}/activity{query}", token=user.token)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def make_current(
    api: Api, user: User, task_id: int, version: int, if_match: int | None = None
) -> Any:
    headers = {} if if_match is None else {"If-Match": etag(if_match)}
    path = f"{user.task_path(task_id)}/versions/{version}/restore"
    return api.request("POST", path, token=user.token, headers=headers)


def edit(api: Api, user: User, task_id: int, **body: Any) -> dict[str, Any]:
    response = patch_task(api, user, task_id, body)
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


def complete(api: Api, user: User, task_id: int, completed: bool = True) -> dict[str, Any]:
    response = api.request(
        "PATCH",
        f"{user.task_path(task_id)}/complete",
        token=user.token,
        json={"completed": completed},
    )
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


def test_every_write_is_a_version_with_its_kind_of_change_and_fields(api: Api, alice: User) -> None:
    # given a task created, edited, completed, reopened, moved, deleted and restored
    task = create_task(api, alice, title="Buy milk")
    other = api.request("POST", alice.lists_path, token=alice.token, json={"name": "Errands"})
    edit(api, alice, task["id"], title="Buy oat milk", priority="high")
    complete(api, alice, task["id"])
    complete(api, alice, task["id"], completed=False)
    edit(api, alice, task["id"], list_id=other.json()["id"])
    assert api.request("DELETE", alice.task_path(task["id"]), token=alice.token).is_success
    restore = f"/api/{alice.id}/trash/tasks/{task['id']}/restore"
    assert api.request("POST", restore, token=alice.token).is_success

    # when its versions are listed
    items = versions(api, alice, task["id"])["items"]

    # then each write is there, newest first, with what it changed and the task as it left it
    assert [(item["version"], item["change"], item["changed"]) for item in items] == [
        (6, "restored", []),
        (5, "deleted", []),
        # first in the other list, which is empty: the same position key as in the Inbox
        (5, "moved", ["list_id"]),
        (4, "reopened", ["completed"]),
        (3, "completed", ["completed"]),
        (2, "edited", ["title", "priority"]),
        (1, "created", []),
    ]
    assert items[5]["task"]["title"] == "Buy oat milk"
    assert items[6]["task"] == task
    assert items[0]["task"] == read_task(api, alice, task["id"])


def test_a_previous_version_made_current_is_a_new_version_with_its_content(
    api: Api, alice: User
) -> None:
    # given a task edited twice
    task = create_task(api, alice, title="Buy milk", tags=["home"], due={"date": "2027-01-04"})
    edit(api, alice, task["id"], title="Buy oat milk", tags=[], due=None)
    edited = edit(api, alice, task["id"], description="Two litres")

    # when its first version is made current, naming the version it is at
    response = make_current(api, alice, task["id"], 1, if_match=edited["version"])

    # then its content is the first version's, as a new version; its place stays
    assert response.status_code == 200, response.text
    current = response.json()
    assert response.headers["ETag"] == etag(current["version"])
    assert current["version"] == edited["version"] + 1
    same = ("title", "description", "tags", "due", "due_at", "priority", "list_id", "position")
    assert {name: current[name] for name in same} == {name: task[name] for name in same}
    assert versions(api, alice, task["id"])["items"][0]["change"] == "edited"


def test_making_a_version_current_with_a_stale_version_is_412(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk")
    edited = edit(api, alice, task["id"], title="Buy oat milk")

    response = make_current(api, alice, task["id"], 1, if_match=task["version"])

    assert response.status_code == 412
    assert response.json()["details"]["current"] == edited


def test_a_completion_is_undone_by_the_version_before_it(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk")
    done = complete(api, alice, task["id"])

    undone = make_current(api, alice, task["id"], done["version"] - 1, if_match=done["version"])

    assert undone.status_code == 200
    assert (undone.json()["completed"], undone.json()["completed_at"]) == (False, None)


def test_the_version_a_task_is_at_changes_nothing(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk", reminders=[{"minutes_before": 30}])

    response = make_current(api, alice, task["id"], 1)

    assert response.status_code == 200
    assert response.json() == read_task(api, alice, task["id"]) == task


def test_a_version_not_in_the_history_is_404(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk")

    response = make_current(api, alice, task["id"], 7)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_recurring_tasks_occurrences_are_recorded_as_completed_and_skipped(
    api: Api, alice: User
) -> None:
    task = create_task(
        api, alice, title="Water", due={"date": "2027-03-22"}, recurrence={"rule": "FREQ=DAILY"}
    )
    complete(api, alice, task["id"])
    skip = f"{alice.task_path(task['id'])}/skip"
    assert api.request("POST", skip, token=alice.token).is_success

    items = versions(api, alice, task["id"])["items"]

    assert [(item["change"], item["changed"]) for item in items] == [
        ("skipped", ["due"]),
        ("completed", ["due"]),
        ("created", []),
    ]


def test_a_deleted_tasks_versions_are_not_there_until_it_is_restored(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk")
    api.request("DELETE", alice.task_path(task["id"]), token=alice.token)

    path = f"{alice.task_path(task['id'])}/versions"
    assert api.request("GET", path, token=alice.token).status_code == 404
    assert make_current(api, alice, task["id"], 1).status_code == 404


def test_the_activity_lists_every_change_newest_first_page_by_page(api: Api, alice: User) -> None:
    # given three tasks, one edited, one deleted
    first = create_task(api, alice, title="First")
    second = create_task(api, alice, title="Second")
    edit(api, alice, first["id"], title="First, renamed")
    third = create_task(api, alice, title="Third")
    api.request("DELETE", alice.task_path(second["id"]), token=alice.token)

    # when the activity is walked two at a time
    seen: list[tuple[int, str, str]] = []
    page = activity(api, alice, "?limit=2")
    while True:
        seen += [
            (item["task"]["id"], item["change"], item["task"]["title"]) for item in page["items"]
        ]
        if page["next_cursor"] is None:
            break
        page = activity(api, alice, f"?limit=2&cursor={page['next_cursor']}")

    # then every change comes once, the latest first
    assert seen == [
        (second["id"], "deleted", "Second"),
        (third["id"], "created", "Third"),
        (first["id"], "edited", "First, renamed"),
        (second["id"], "created", "Second"),
        (first["id"], "created", "First"),
    ]


def test_a_cursor_of_one_list_of_changes_is_refused_by_another(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk")
    edit(api, alice, task["id"], title="Buy oat milk")
    cursor = versions(api, alice, task["id"], "?limit=1")["next_cursor"]

    refused = api.request("GET", f"/api/{alice.id}/activity?cursor={cursor}", token=alice.token)

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_cursor"


def test_another_users_history_is_missing_not_forbidden(api: Api, alice: User, bob: User) -> None:
    task = create_task(api, alice, title="Alice's secret")
    edit(api, alice, task["id"], title="Alice's secret, renamed")

    listed = api.request("GET", f"{bob.task_path(task['id'])}/versions", token=bob.token)
    restored = make_current(api, bob, task["id"], 1)

    assert (listed.status_code, restored.status_code) == (404, 404)
    assert activity(api, bob)["items"] == []
    assert read_task(api, alice, task["id"])["title"] == "Alice's secret, renamed"


def test_making_a_version_current_while_the_task_is_edited_is_one_or_the_other(
    api: Api, alice: User
) -> None:
    # given a task at version 2
    task = create_task(api, alice, title="Buy milk")
    edited = edit(api, alice, task["id"], title="Buy oat milk")
    seen = {"If-Match": etag(edited["version"])}

    # when version 1 is made current while another client edits the task, both from version 2
    answers = send_concurrently(
        api,
        alice,
        [
            Call("POST", f"{alice.task_path(task['id'])}/versions/1/restore", headers=seen),
            Call(
                "PATCH",
                alice.task_path(task["id"]),
                {"title": "Buy soy milk"},
                {**seen, "Content-Type": "application/merge-patch+json"},
            ),
        ],
    )

    # then one of them wins and the other is 412
    assert sorted(answer.status_code for answer in answers) == [200, 412]
    title = read_task(api, alice, task["id"])["title"]
    assert title == ("Buy milk" if answers[0].status_code == 200 else "Buy soy milk")


@pytest.mark.parametrize("limit", [1, 100])
def test_versions_are_paged_without_repeats(api: Api, alice: User, limit: int) -> None:
    task = create_task(api, alice, title="Version 1")
    for n in range(2, 6):
        edit(api, alice, task["id"], title=f"Version {n}")

    seen: list[int] = []
    page = versions(api, alice, task["id"], f"?limit={limit}")
    while True:
        seen += [item["version"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        page = versions(api, alice, task["id"], f"?limit={limit}&cursor={page['next_cursor']}")

    assert seen == [5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    "fields",
    [
        {"due": {"date": "2027-01-04"}},
        {"due": {"date": "2027-01-04", "time": "09:30"}},
        {"due": {"date": "2027-01-04", "time": "09:30", "time_zone": "Pacific/Kiritimati"}},
        {
            "due": {"date": "2027-01-04", "time": "09:30", "time_zone": "Europe/Berlin"},
            "recurrence": {"rule": "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "from": "completion"},
            "reminders": [{"at": "2027-01-03T20:00:00Z"}, {"minutes_before": -540}],
        },
        {"due_at": "2027-01-04T08:00:00.123Z", "tags": ["Home", "ÉTÉ"], "description": None},
    ],
    ids=["date", "floating", "zoned", "recurring with reminders", "instant and tags"],
)
def test_every_form_of_a_task_is_made_current_again_as_it_was(
    api: Api, alice: User, fields: dict[str, Any]
) -> None:
    # given a task with every kind of field, then emptied of them
    task = create_task(api, alice, title="Every field", priority="urgent", **fields)
    cleared = edit(
        api,
        alice,
        task["id"],
        title="Cleared",
        priority="low",
        tags=[],
        reminders=[],
        recurrence=None,
        due=None,
    )

    # when its first version is made current again
    response = make_current(api, alice, task["id"], 1, if_match=cleared["version"])

    # then it has every field back as it was
    assert response.status_code == 200, response.text
    kept = ("title", "description", "priority", "tags", "due", "due_at", "recurrence")
    assert {name: response.json()[name] for name in kept} == {name: task[name] for name in kept}
    assert response.json()["reminders"] == task["reminders"]
