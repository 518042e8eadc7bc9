"""Subtasks: a task under another of its list, four levels at most, never under itself; what
completing, reopening, deleting and moving a parent does to its subtasks."""

from typing import Any

import httpx

from tests.conftest import Api, User
from tests.support.lists import create_list, inbox_of
from tests.support.sync import sync
from tests.support.writes import (
    Call,
    create_task,
    names_location,
    patch_task,
    post_task,
    read_task,
    send_concurrently,
)


def subtasks_of(api: Api, user: User, parent_id: int) -> list[dict[str, Any]]:
    path = f"{user.tasks_path}?parent_id={parent_id}&sort=manual&limit=100"
    page = api.request("GET", path, token=user.token).json()
    items: list[dict[str, Any]] = page["items"]
    return items


def move(api: Api, user: User, task_id: int, **body: Any) -> httpx.Response:
    return api.request("POST", f"{user.task_path(task_id)}/move", token=user.token, json=body)


def chain(api: Api, user: User, depth: int) -> list[dict[str, Any]]:
    """Tasks nested `depth` deep, the top one first."""
    tasks = [create_task(api, user, title="level 1")]
    for level in range(2, depth + 1):
        tasks.append(create_task(api, user, title=f"level {level}", parent_id=tasks[-1]["id"]))
    return tasks


def test_a_subtask_is_in_its_parents_list_last_among_its_siblings(api: Api, alice: User) -> None:
    work = create_list(api, alice, name="Work")
    parent = create_task(api, alice, title="Plan the trip", list_id=work["id"])

    first = create_task(api, alice, title="Book flights", parent_id=parent["id"])
    second = create_task(api, alice, title="Book hotel", parent_id=parent["id"])

    assert (first["parent_id"], first["list_id"]) == (parent["id"], work["id"])
    assert [task["id"] for task in subtasks_of(api, alice, parent["id"])] == [
        first["id"],
        second["id"],
    ]
    top = api.request(
        "GET", f"{alice.tasks_path}?list_id={work['id']}&top_level=true", token=alice.token
    ).json()["items"]
    assert [task["id"] for task in top] == [parent["id"]]
    assert read_task(api, alice, parent["id"])["parent_id"] is None


def test_a_parent_the_user_does_not_hold_or_in_another_list_is_422(
    api: Api, alice: User, bob: User
) -> None:
    bobs = create_task(api, bob, title="bob's")
    mine = create_task(api, alice, title="mine")
    work = create_list(api, alice, name="Work")

    answers = [
        post_task(api, alice, {"title": "x", "parent_id": bobs["id"]}),
        post_task(api, alice, {"title": "x", "parent_id": 987654321}),
        post_task(api, alice, {"title": "x", "parent_id": mine["id"], "list_id": work["id"]}),
    ]

    for response in answers:
        assert response.status_code == 422, response.text
        assert names_location(response, "body", "parent_id")
    assert subtasks_of(api, alice, mine["id"]) == []


def test_tasks_nest_four_deep_and_no_deeper(api: Api, alice: User) -> None:
    tasks = chain(api, alice, 4)

    fifth = post_task(api, alice, {"title": "level 5", "parent_id": tasks[-1]["id"]})

    assert fifth.status_code == 422
    assert names_location(fifth, "body", "parent_id")
    assert tasks[-1]["parent_id"] == tasks[-2]["id"]


def test_completing_a_task_completes_its_subtasks_and_sync_reports_them(
    api: Api, alice: User
) -> None:
    tasks = chain(api, alice, 3)
    token = sync(api, alice).token

    api.request(
        "PATCH",
        f"{alice.task_path(tasks[0]['id'])}/complete",
        token=alice.token,
        json={"completed": True},
    )

    after = [read_task(api, alice, task["id"]) for task in tasks]
    assert [task["completed"] for task in after] == [True, True, True]
    assert all(task["completed_at"] is not None for task in after)
    changed = {task["id"]: task for task in sync(api, alice, since=token).items}
    assert all(changed[task["id"]] == task for task in after)


def test_reopening_a_subtask_reopens_the_tasks_it_is_under(api: Api, alice: User) -> None:
    tasks = chain(api, alice, 3)
    sibling = create_task(api, alice, title="sibling", parent_id=tasks[0]["id"])
    patch_task(api, alice, tasks[0]["id"], {"completed": True})

    patch_task(api, alice, tasks[2]["id"], {"completed": False})

    states = [read_task(api, alice, task["id"])["completed"] for task in (*tasks, sibling)]
    assert states == [False, False, False, True]


def test_deleting_a_task_deletes_its_subtasks_and_sync_reports_each(api: Api, alice: User) -> None:
    tasks = chain(api, alice, 3)
    other = create_task(api, alice, title="other")
    token = sync(api, alice).token

    response = api.request("DELETE", alice.task_path(tasks[0]["id"]), token=alice.token)

    assert response.status_code == 204
    for task in tasks:
        assert api.request("GET", alice.task_path(task["id"]), token=alice.token).status_code == 404
    assert sorted(sync(api, alice, since=token).deleted) == sorted(task["id"] for task in tasks)
    assert read_task(api, alice, other["id"]) == other


def test_a_task_moves_under_another_and_back_to_the_top_level(api: Api, alice: User) -> None:
    parent = create_task(api, alice, title="parent")
    child = create_task(api, alice, title="child", parent_id=parent["id"])
    task = create_task(api, alice, title="task")

    under = move(api, alice, task["id"], parent_id=parent["id"], before_id=child["id"])
    order = [item["id"] for item in subtasks_of(api, alice, parent["id"])]
    top = move(api, alice, task["id"], parent_id=None)

    assert under.status_code == 200, under.text
    assert under.json()["parent_id"] == parent["id"]
    assert order == [task["id"], child["id"]]
    assert top.json()["parent_id"] is None
    assert [item["id"] for item in subtasks_of(api, alice, parent["id"])] == [child["id"]]


def test_a_task_cannot_go_under_itself_or_its_subtasks_or_too_deep(api: Api, alice: User) -> None:
    tasks = chain(api, alice, 3)
    deep = chain(api, alice, 3)

    answers = [
        move(api, alice, tasks[0]["id"], parent_id=tasks[0]["id"]),
        move(api, alice, tasks[0]["id"], parent_id=tasks[2]["id"]),
        # three levels under the third of another chain would be six deep
        move(api, alice, tasks[0]["id"], parent_id=deep[2]["id"]),
    ]

    for response in answers:
        assert response.status_code == 422, response.text
        assert names_location(response, "body", "parent_id")
    assert read_task(api, alice, tasks[0]["id"]) == tasks[0]


def test_a_task_moved_to_another_list_takes_its_subtasks(api: Api, alice: User) -> None:
    work = create_list(api, alice, name="Work")
    tasks = chain(api, alice, 3)

    moved = move(api, alice, tasks[0]["id"], list_id=work["id"])

    assert moved.status_code == 200, moved.text
    after = [read_task(api, alice, task["id"]) for task in tasks]
    assert [task["list_id"] for task in after] == [work["id"]] * 3
    assert [task["parent_id"] for task in after] == [None, tasks[0]["id"], tasks[1]["id"]]
    assert all(
        task["version"] == before["version"] + 1 for task, before in zip(after, tasks, strict=True)
    )


def test_a_subtask_patched_into_another_list_leaves_its_parent_with_its_own_subtasks(
    api: Api, alice: User
) -> None:
    work = create_list(api, alice, name="Work")
    tasks = chain(api, alice, 3)

    patched = patch_task(api, alice, tasks[1]["id"], {"list_id": work["id"]})

    assert patched.status_code == 200
    assert (patched.json()["parent_id"], patched.json()["list_id"]) == (None, work["id"])
    grandchild = read_task(api, alice, tasks[2]["id"])
    assert (grandchild["parent_id"], grandchild["list_id"]) == (tasks[1]["id"], work["id"])
    assert read_task(api, alice, tasks[0]["id"])["list_id"] == inbox_of(api, alice)["id"]


def test_two_tasks_moved_under_each_other_at_once_never_make_a_cycle(api: Api, alice: User) -> None:
    first = create_task(api, alice, title="first")
    second = create_task(api, alice, title="second")

    answers = send_concurrently(
        api,
        alice,
        [
            Call("POST", f"{alice.task_path(first['id'])}/move", json={"parent_id": second["id"]}),
            Call("POST", f"{alice.task_path(second['id'])}/move", json={"parent_id": first["id"]}),
        ],
    )

    assert sorted(answer.status_code for answer in answers) == [200, 422]
    parents = [read_task(api, alice, task["id"])["parent_id"] for task in (first, second)]
    assert parents.count(None) == 1


def test_a_boolean_where_an_id_goes_is_422_and_writes_nothing(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="mine")

    answers = [
        post_task(api, alice, {"title": "x", "parent_id": True}),
        post_task(api, alice, {"title": "x", "list_id": True}),
        api.request(
            "PUT",
            alice.task_path(task["id"]),
            token=alice.token,
            json={"title": "y", "parent_id": True},
        ),
        move(api, alice, task["id"], after_id=True),
    ]

    for response in answers:
        assert response.status_code == 422, response.text
    assert read_task(api, alice, task["id"]) == task
