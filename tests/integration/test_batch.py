"""Batches (`POST /tasks/batch`): up to 100 operations in one request and one transaction, one
result each; atomic or not; an idempotency key for the whole batch."""

import random
from typing import Any

import httpx
import pytest

from tests.conftest import Api, User
from tests.support.lists import create_list, inbox_of, tasks_in
from tests.support.writes import (
    Call,
    create_task,
    etag,
    names_location,
    read_task,
    send_concurrently,
)

Operation = dict[str, Any]


def send_batch(
    api: Api,
    user: User,
    operations: list[Operation],
    *,
    atomic: bool | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"operations": operations}
    if atomic is not None:
        body["atomic"] = atomic
    return api.request(
        "POST", f"{user.tasks_path}/batch", token=user.token, json=body, headers=headers
    )


def batch(api: Api, user: User, operations: list[Operation], **options: Any) -> dict[str, Any]:
    response = send_batch(api, user, operations, **options)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def statuses(answer: dict[str, Any]) -> list[int]:
    return [result["status"] for result in answer["results"]]


def task_ids(api: Api, user: User) -> set[int]:
    page = api.request("GET", f"{user.tasks_path}?limit=100", token=user.token).json()
    return {task["id"] for task in page["items"]}


def test_each_operation_applies_in_order_and_answers_as_its_own_request(
    api: Api, alice: User
) -> None:
    # given
    work = create_list(api, alice, name="Work")
    parent = create_task(api, alice, title="Plan the trip")
    child = create_task(api, alice, title="Book flights", parent_id=parent["id"])
    doomed = create_task(api, alice, title="Old idea")

    # when
    answer = batch(
        api,
        alice,
        [
            {"op": "create", "body": {"title": "Call the plumber", "list_id": work["id"]}},
            {"op": "update", "task_id": parent["id"], "body": {"priority": "high"}},
            {"op": "complete", "task_id": parent["id"], "completed": True},
            {"op": "move", "task_id": parent["id"], "body": {"list_id": work["id"]}},
            {"op": "delete", "task_id": doomed["id"], "if_match": etag(doomed["version"])},
        ],
    )

    # then
    assert answer["applied"] is True
    assert statuses(answer) == [201, 200, 200, 200, 204]
    created, updated, completed, moved, deleted = answer["results"]
    assert created["task"]["list_id"] == work["id"]
    assert updated["task"]["priority"] == "high"
    assert completed["task"]["completed"] is True
    assert moved["task"] == read_task(api, alice, parent["id"])
    assert moved["task"]["version"] == parent["version"] + 3
    assert set(deleted) == {"status"}
    # The subtask went with its parent as their own requests would have taken it.
    assert read_task(api, alice, child["id"])["completed"] is True
    assert read_task(api, alice, child["id"])["list_id"] == work["id"]
    assert doomed["id"] not in task_ids(api, alice)


def test_a_refused_operation_changes_nothing_and_the_others_apply(
    api: Api, alice: User, bob: User
) -> None:
    # given
    task = create_task(api, alice, title="Water the plants")
    changed = create_task(api, alice, title="Pay rent")
    api.request("PATCH", f"{alice.task_path(changed['id'])}/complete", token=alice.token)
    bobs_list = create_list(api, bob, name="Bob's")

    # when
    answer = batch(
        api,
        alice,
        [
            {"op": "complete", "task_id": changed["id"], "completed": False, "if_match": '"1"'},
            {"op": "create", "body": {"title": "Into Bob's list", "list_id": bobs_list["id"]}},
            {"op": "update", "task_id": task["id"], "body": {"title": "Water the ferns"}},
            {"op": "delete", "task_id": 987654321},
        ],
    )

    # then
    assert answer["applied"] is True
    assert statuses(answer) == [412, 422, 200, 404]
    stale, refused, applied, missing = answer["results"]
    assert stale["error"]["error"] == "precondition_failed"
    assert stale["error"]["details"]["current"] == read_task(api, alice, changed["id"])
    assert refused["error"]["error"] == "validation_failed"
    assert refused["error"]["details"][0]["location"] == [
        "body",
        "operations",
        1,
        "create",
        "body",
        "list_id",
    ]
    assert missing["error"]["error"] == "not_found"
    assert applied["task"]["title"] == "Water the ferns"
    assert read_task(api, alice, changed["id"])["completed"] is True
    assert {t["title"] for t in tasks_in(api, alice, inbox_of(api, alice)["id"])} == {
        "Water the ferns",
        "Pay rent",
    }


def test_an_atomic_batch_with_a_refused_operation_keeps_nothing(api: Api, alice: User) -> None:
    # given
    task = create_task(api, alice, title="Book the venue")
    before = task_ids(api, alice)

    # when
    answer = batch(
        api,
        alice,
        [
            {"op": "create", "body": {"title": "Send invitations"}},
            {"op": "complete", "task_id": task["id"], "completed": True},
            {"op": "update", "task_id": task["id"], "if_match": '"1"', "body": {"title": "x"}},
            {"op": "delete", "task_id": task["id"]},
        ],
        atomic=True,
    )

    # then
    assert answer["applied"] is False
    assert statuses(answer) == [424, 424, 412, 424]
    for index in (0, 1, 3):
        error = answer["results"][index]["error"]
        assert error["error"] == "not_applied"
        assert error["details"] == {"failed_index": 2}
    assert task_ids(api, alice) == before
    assert read_task(api, alice, task["id"]) == task


def test_an_atomic_batch_that_succeeds_keeps_everything(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Book the venue")

    answer = batch(
        api,
        alice,
        [
            {"op": "create", "body": {"title": "Send invitations"}},
            {"op": "complete", "task_id": task["id"], "completed": True},
        ],
        atomic=True,
    )

    assert answer["applied"] is True
    assert statuses(answer) == [201, 200]
    assert answer["results"][0]["task"]["id"] in task_ids(api, alice)
    assert read_task(api, alice, task["id"])["completed"] is True


def test_another_users_task_or_list_is_answered_as_one_that_does_not_exist(
    api: Api, alice: User, bob: User
) -> None:
    # given
    bobs_task = create_task(api, bob, title="Bob's")
    bobs_list = create_list(api, bob, name="Bob's")
    mine = create_task(api, alice, title="Mine")

    def refusals(task_id: int, list_id: int) -> list[dict[str, Any]]:
        answer = batch(
            api,
            alice,
            [
                {"op": "update", "task_id": task_id, "body": {"title": "taken"}},
                {"op": "complete", "task_id": task_id, "completed": True},
                {"op": "move", "task_id": task_id, "body": {}},
                {"op": "delete", "task_id": task_id},
                {"op": "move", "task_id": mine["id"], "body": {"after_id": task_id}},
                {"op": "move", "task_id": mine["id"], "body": {"list_id": list_id}},
                {"op": "update", "task_id": mine["id"], "body": {"list_id": list_id}},
            ],
        )
        return [
            {**result, "error": {**result["error"], "message": ""}} for result in answer["results"]
        ]

    # when
    others = refusals(bobs_task["id"], bobs_list["id"])
    missing = refusals(987654321, 987654321)

    # then
    assert others == missing
    assert [result["status"] for result in others] == [404, 404, 404, 404, 422, 422, 422]
    assert read_task(api, bob, bobs_task["id"]) == bobs_task
    assert read_task(api, alice, mine["id"]) == mine


def test_an_idempotency_key_replays_the_batch_and_applies_nothing_again(
    api: Api, alice: User
) -> None:
    # given
    task = create_task(api, alice, title="Book the venue")
    operations = [
        {"op": "create", "body": {"title": "Send invitations"}},
        {"op": "complete", "task_id": task["id"], "completed": True, "if_match": '"1"'},
    ]
    key = {"Idempotency-Key": "batch-7f3c"}
    first = send_batch(api, alice, operations, headers=key)

    # when
    again = send_batch(api, alice, operations, headers=key)
    other_body = send_batch(api, alice, operations[:1], headers=key)
    as_a_create = api.request(
        "POST", alice.tasks_path, token=alice.token, json={"title": "x"}, headers=key
    )

    # then
    assert first.status_code == again.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert statuses(first.json()) == [201, 200]
    assert len(task_ids(api, alice)) == 2
    for refused in (other_body, as_a_create):
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "idempotency_key_reused"


def test_an_atomic_batch_that_kept_nothing_runs_again_under_its_key(api: Api, alice: User) -> None:
    # given: a move after a task that is not yet in the list
    work = create_list(api, alice, name="Work")
    neighbour = create_task(api, alice, title="Neighbour")
    task = create_task(api, alice, title="Moved", list_id=work["id"])
    operations = [
        {"op": "create", "body": {"title": "Also new", "list_id": work["id"]}},
        {"op": "move", "task_id": task["id"], "body": {"after_id": neighbour["id"]}},
    ]
    key = {"Idempotency-Key": "atomic-retry"}
    refused = send_batch(api, alice, operations, atomic=True, headers=key)
    assert refused.json()["applied"] is False
    api.request(
        "POST",
        f"{alice.task_path(neighbour['id'])}/move",
        token=alice.token,
        json={"list_id": work["id"]},
    )

    # when
    retried = send_batch(api, alice, operations, atomic=True, headers=key)

    # then
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.json()["applied"] is True
    assert statuses(retried.json()) == [201, 200]
    assert [t["title"] for t in tasks_in(api, alice, work["id"])].count("Also new") == 1


def test_a_malformed_batch_is_422_as_a_whole_and_applies_nothing(api: Api, alice: User) -> None:
    create: Operation = {"op": "create", "body": {"title": "Never"}}
    malformed: list[list[Operation]] = [
        [create] * 101,
        [],
        [create, {"op": "rename", "task_id": 1}],
        [create, {"op": "complete", "task_id": 1}],
        [create, {"op": "delete", "task_id": 0}],
        [create, {"op": "create", "body": {"title": ""}}],
        [create, {"op": "delete", "task_id": 1, "if_match": ""}],
        [create, {"op": "delete", "task_id": 1, "if_match": "3"}],
    ]

    answers = [send_batch(api, alice, operations) for operations in malformed]

    for response in answers:
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "validation_failed"
    assert names_location(answers[0], "body", "operations")
    assert names_location(answers[5], "body", "operations", 1, "create", "body", "title")
    assert task_ids(api, alice) == set()


def test_batches_that_cross_each_other_all_apply(api: Api, alice: User) -> None:
    # given two tasks, and batches that take them in opposite orders at once
    first = create_task(api, alice, title="first")
    second = create_task(api, alice, title="second")
    path = f"{alice.tasks_path}/batch"

    def crossing(order: list[int], title: str) -> Call:
        operations = [
            {"op": "update", "task_id": task_id, "body": {"title": title}} for task_id in order
        ]
        return Call("POST", path, {"operations": operations})

    calls = [
        crossing([first["id"], second["id"]] if n % 2 else [second["id"], first["id"]], f"t{n}")
        for n in range(12)
    ]

    # when
    answers = send_concurrently(api, alice, calls)

    # then every batch applied, and the tasks went through one version per operation
    for response in answers:
        assert response.status_code == 200, response.text
        assert statuses(response.json()) == [200, 200]
    assert read_task(api, alice, first["id"])["version"] == 1 + len(calls)
    assert read_task(api, alice, second["id"])["version"] == 1 + len(calls)


def test_consecutive_completions_answer_each_as_one_at_a_time_would(api: Api, alice: User) -> None:
    # given
    plain = create_task(api, alice, title="Plain")
    stale = create_task(api, alice, title="Stale")
    api.request("PATCH", alice.task_path(stale["id"]), token=alice.token, json={"title": "Edited"})
    done = create_task(api, alice, title="Done already")
    done = api.request("PATCH", f"{alice.task_path(done['id'])}/complete", token=alice.token).json()
    parent = create_task(api, alice, title="Parent")
    child = create_task(api, alice, title="Child", parent_id=parent["id"])

    # when
    answer = batch(
        api,
        alice,
        [
            {"op": "complete", "task_id": plain["id"], "completed": True},
            {"op": "complete", "task_id": stale["id"], "completed": True, "if_match": '"1"'},
            {"op": "complete", "task_id": 987654321, "completed": True},
            {"op": "complete", "task_id": done["id"], "completed": True},
            {"op": "complete", "task_id": parent["id"], "completed": True},
        ],
    )

    # then
    assert statuses(answer) == [200, 412, 404, 200, 200]
    completed, refused, missing, unchanged, spread = answer["results"]
    assert completed["task"] == read_task(api, alice, plain["id"])
    assert completed["task"]["completed"] is True
    assert completed["task"]["version"] == plain["version"] + 1
    assert refused["error"]["details"]["current"]["completed"] is False
    assert missing["error"]["error"] == "not_found"
    assert unchanged["task"] == done
    assert spread["task"]["completed"] is True
    assert read_task(api, alice, child["id"])["completed"] is True
    assert read_task(api, alice, stale["id"])["completed"] is False


def test_consecutive_deletions_answer_each_as_one_at_a_time_would(api: Api, alice: User) -> None:
    # given
    first = create_task(api, alice, title="First")
    stale = create_task(api, alice, title="Stale")
    api.request("PATCH", alice.task_path(stale["id"]), token=alice.token, json={"title": "Edited"})
    parent = create_task(api, alice, title="Parent")
    child = create_task(api, alice, title="Child", parent_id=parent["id"])
    kept = create_task(api, alice, title="Kept")

    # when
    answer = batch(
        api,
        alice,
        [
            {"op": "delete", "task_id": first["id"], "if_match": etag(first["version"])},
            {"op": "delete", "task_id": stale["id"], "if_match": '"1"'},
            {"op": "delete", "task_id": 987654321},
            {"op": "delete", "task_id": parent["id"]},
        ],
    )

    # then
    assert statuses(answer) == [204, 412, 404, 204]
    assert answer["results"][1]["error"]["details"]["current"]["title"] == "Edited"
    assert task_ids(api, alice) == {stale["id"], kept["id"]}
    assert child["id"] not in task_ids(api, alice)


def test_a_task_named_twice_or_under_another_named_is_written_as_in_order(
    api: Api, alice: User
) -> None:
    # given
    twice = create_task(api, alice, title="Twice")
    parent = create_task(api, alice, title="Parent")
    child = create_task(api, alice, title="Child", parent_id=parent["id"])

    # when: completed then reopened; a parent completed, then its subtask, already completed
    answer = batch(
        api,
        alice,
        [
            {"op": "complete", "task_id": twice["id"], "completed": True},
            {"op": "complete", "task_id": twice["id"], "completed": False},
            {"op": "complete", "task_id": parent["id"], "completed": True},
            {"op": "complete", "task_id": child["id"], "completed": True},
        ],
    )

    # then
    assert statuses(answer) == [200, 200, 200, 200]
    assert read_task(api, alice, twice["id"])["version"] == twice["version"] + 2
    assert read_task(api, alice, twice["id"])["completed"] is False
    assert read_task(api, alice, child["id"])["version"] == child["version"] + 1
    assert answer["results"][3]["task"] == read_task(api, alice, child["id"])


def test_an_atomic_run_of_completions_with_a_refusal_keeps_none(api: Api, alice: User) -> None:
    first = create_task(api, alice, title="First")
    second = create_task(api, alice, title="Second")

    answer = batch(
        api,
        alice,
        [
            {"op": "complete", "task_id": first["id"], "completed": True},
            {"op": "complete", "task_id": second["id"], "completed": True, "if_match": '"7"'},
        ],
        atomic=True,
    )

    assert statuses(answer) == [424, 412]
    assert read_task(api, alice, first["id"]) == first


def manual_order(api: Api, user: User, list_id: int) -> list[str]:
    path = f"{user.tasks_path}?list_id={list_id}&top_level=true&sort=manual&limit=100"
    return [task["title"] for task in api.request("GET", path, token=user.token).json()["items"]]


def test_consecutive_moves_to_a_list_answer_each_as_one_at_a_time_would(
    api: Api, alice: User
) -> None:
    # given
    work = create_list(api, alice, name="Work")
    create_task(api, alice, title="Already there", list_id=work["id"])
    plain = create_task(api, alice, title="Plain")
    stale = create_task(api, alice, title="Stale")
    api.request("PATCH", alice.task_path(stale["id"]), token=alice.token, json={"title": "Edited"})
    parent = create_task(api, alice, title="Parent")
    child = create_task(api, alice, title="Child", parent_id=parent["id"])
    holder = create_task(api, alice, title="Holder")
    held = create_task(api, alice, title="Held", parent_id=holder["id"])
    to_work = {"list_id": work["id"]}

    # when
    answer = batch(
        api,
        alice,
        [
            {"op": "move", "task_id": plain["id"], "body": to_work},
            {"op": "move", "task_id": stale["id"], "body": to_work, "if_match": '"1"'},
            {"op": "move", "task_id": 987654321, "body": to_work},
            {"op": "move", "task_id": parent["id"], "body": to_work},
            {"op": "move", "task_id": held["id"], "body": to_work},
        ],
    )

    # then
    assert statuses(answer) == [200, 412, 404, 200, 200]
    moved = answer["results"][0]["task"]
    assert moved == read_task(api, alice, plain["id"])
    assert (moved["list_id"], moved["version"]) == (work["id"], plain["version"] + 1)
    print([(r["task"]["title"], r["task"]["position"]) for r in answer["results"] if "task" in r])
    assert manual_order(api, alice, work["id"]) == ["Already there", "Plain", "Parent", "Held"]
    assert read_task(api, alice, child["id"])["parent_id"] == parent["id"]
    assert read_task(api, alice, child["id"])["list_id"] == work["id"]
    assert read_task(api, alice, held["id"])["parent_id"] is None
    assert read_task(api, alice, stale["id"])["list_id"] == inbox_of(api, alice)["id"]


def test_moves_to_a_list_a_task_is_in_already_are_made_one_at_a_time(api: Api, alice: User) -> None:
    work = create_list(api, alice, name="Work")
    last = create_task(api, alice, title="Last there", list_id=work["id"])
    other = create_task(api, alice, title="Other")
    to_work = {"list_id": work["id"]}

    answer = batch(
        api,
        alice,
        [
            {"op": "move", "task_id": last["id"], "body": to_work},
            {"op": "move", "task_id": other["id"], "body": to_work},
        ],
    )

    assert statuses(answer) == [200, 200]
    assert answer["results"][0]["task"] == last
    assert manual_order(api, alice, work["id"]) == ["Last there", "Other"]


def test_consecutive_creations_answer_each_as_one_at_a_time_would(
    api: Api, alice: User, bob: User
) -> None:
    # given
    work = create_list(api, alice, name="Work")
    create_task(api, alice, title="Earlier in the inbox")
    create_task(api, alice, title="Earlier at work", list_id=work["id"])
    bobs_list = create_list(api, bob, name="Bob's")

    # when
    answer = batch(
        api,
        alice,
        [
            {"op": "create", "body": {"title": "Inbox one", "tags": ["Home", "home"]}},
            {"op": "create", "body": {"title": "Work one", "list_id": work["id"]}},
            {"op": "create", "body": {"title": "Refused", "list_id": bobs_list["id"]}},
            {
                "op": "create",
                "body": {
                    "title": "Inbox two",
                    "description": "Notes",
                    "priority": "high",
                    "due_at": "2031-05-04T09:00:00+02:00",
                },
            },
            {"op": "create", "body": {"title": "Work two", "list_id": work["id"]}},
        ],
    )

    # then
    assert statuses(answer) == [201, 201, 422, 201, 201]
    created = [result["task"] for result in answer["results"] if "task" in result]
    for task in created:
        assert task == read_task(api, alice, task["id"])
        assert (task["version"], task["completed"], task["parent_id"]) == (1, False, None)
    assert created[0]["tags"] == ["home"]
    assert (created[2]["priority"], created[2]["due_at"]) == ("high", "2031-05-04T07:00:00Z")
    assert answer["results"][2]["error"]["details"][0]["location"][:5] == [
        "body",
        "operations",
        2,
        "create",
        "body",
    ]
    inbox = inbox_of(api, alice)["id"]
    assert manual_order(api, alice, inbox) == ["Earlier in the inbox", "Inbox one", "Inbox two"]
    assert manual_order(api, alice, work["id"]) == ["Earlier at work", "Work one", "Work two"]
    newest_first = api.request("GET", f"{alice.tasks_path}?limit=3", token=alice.token).json()
    assert [task["title"] for task in newest_first["items"]] == [
        "Work two",
        "Inbox two",
        "Work one",
    ]


def test_consecutive_field_changes_answer_each_as_one_at_a_time_would(
    api: Api, alice: User
) -> None:
    # given
    first = create_task(api, alice, title="First", description="Old notes")
    second = create_task(api, alice, title="Second", due_at="2031-05-04T09:00:00Z")
    stale = create_task(api, alice, title="Stale")
    api.request("PATCH", alice.task_path(stale["id"]), token=alice.token, json={"title": "Edited"})
    same = create_task(api, alice, title="Same")

    # when
    answer = batch(
        api,
        alice,
        [
            {"op": "update", "task_id": first["id"], "body": {"title": "1st", "description": None}},
            {
                "op": "update",
                "task_id": second["id"],
                "body": {"priority": "urgent", "tags": ["Work", "work"], "due_at": None},
            },
            {"op": "update", "task_id": stale["id"], "if_match": '"1"', "body": {"title": "x"}},
            {"op": "update", "task_id": 987654321, "body": {"title": "x"}},
            {"op": "update", "task_id": same["id"], "body": {"title": "Same"}},
            {"op": "update", "task_id": same["id"] + 0, "body": {}},
        ],
    )

    # then
    assert statuses(answer) == [200, 200, 412, 404, 200, 200]
    changed, tagged, _, _, unchanged, empty = answer["results"]
    assert changed["task"] == read_task(api, alice, first["id"])
    assert (changed["task"]["title"], changed["task"]["description"]) == ("1st", None)
    assert changed["task"]["version"] == 2
    assert (tagged["task"]["priority"], tagged["task"]["tags"]) == ("urgent", ["work"])
    assert tagged["task"]["due_at"] is None
    assert unchanged["task"] == empty["task"] == same
    assert read_task(api, alice, stale["id"])["title"] == "Edited"
    found = api.request("GET", f"{alice.tasks_path}?q=1st", token=alice.token).json()["items"]
    assert [task["id"] for task in found] == [first["id"]]


def twin_tasks(api: Api, user: User, titles: list[str]) -> dict[str, dict[str, Any]]:
    """Tasks of one list in this order, the last three under the first: by title."""
    tasks: dict[str, dict[str, Any]] = {}
    for title in titles[:-3]:
        tasks[title] = create_task(api, user, title=title)
    for title in titles[-3:]:
        tasks[title] = create_task(api, user, title=title, parent_id=tasks[titles[0]]["id"])
    return tasks


def shown_order(api: Api, user: User, tasks: dict[str, dict[str, Any]]) -> list[list[str]]:
    """The top level's titles in order, then the first task's subtasks'."""
    by_id = {task["id"]: title for title, task in tasks.items()}
    first = next(iter(tasks.values()))
    orders = []
    for query in (f"list_id={first['list_id']}&top_level=true", f"parent_id={first['id']}"):
        path = f"{user.tasks_path}?{query}&sort=manual&limit=100"
        items = api.request("GET", path, token=user.token).json()["items"]
        orders.append([by_id[item["id"]] for item in items])
    return orders


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_consecutive_moves_beside_neighbours_end_as_one_at_a_time_would(
    api: Api, alice: User, bob: User, seed: int
) -> None:
    # given: the same tasks for both users
    titles = [f"t{n}" for n in range(12)] + ["s1", "s2", "s3"]
    theirs = {user.id: twin_tasks(api, user, titles) for user in (alice, bob)}
    draw = random.Random(seed)  # noqa: S311 (a fixed plan, not a secret)
    plan = []
    for _ in range(30):
        moved, neighbour = draw.sample(titles, 2)
        neighbour = "gone" if draw.random() < 0.05 else neighbour
        side = draw.choice(["after_id", "before_id"])
        plan.append((moved, side, neighbour, draw.random() < 0.1))

    def operations(user: User) -> list[Operation]:
        tasks = theirs[user.id]
        return [
            {
                "op": "move",
                "task_id": tasks[moved]["id"],
                "body": {side: tasks[neighbour]["id"] if neighbour != "gone" else 987654321},
                **({"if_match": '"77"'} if stale else {}),
            }
            for moved, side, neighbour, stale in plan
        ]

    # when: alice's in one batch, bob's one at a time (a task named twice splits the runs
    # the same way on both sides, so the comparison is of the runs written together)
    answer = batch(api, alice, operations(alice))
    one_at_a_time = []
    for operation in operations(bob):
        headers = {"If-Match": operation["if_match"]} if "if_match" in operation else None
        response = api.request(
            "POST",
            f"{bob.task_path(operation['task_id'])}/move",
            token=bob.token,
            json=operation["body"],
            headers=headers,
        )
        one_at_a_time.append(response)

    # then
    assert statuses(answer) == [response.status_code for response in one_at_a_time]
    for result, response in zip(answer["results"], one_at_a_time, strict=True):
        if "task" in result:
            mine, bobs = result["task"], response.json()
            assert (mine["title"], mine["position"], mine["version"]) == (
                bobs["title"],
                bobs["position"],
                bobs["version"],
            )
    assert shown_order(api, alice, theirs[alice.id]) == shown_order(api, bob, theirs[bob.id])
