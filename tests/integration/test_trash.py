"""The trash: a deleted task or list leaves every list and read, stays restorable with its id
(and what was deleted with it) until it is removed for good, and comes back as a new version."""

from datetime import datetime, timedelta
from typing import Any

import pytest

from impl.trash.columns import TRASHED_LIST_COLUMNS, TRASHED_TASK_COLUMNS
from tests.conftest import Api, User
from tests.support.postgres import fetch, unique_violation
from tests.support.sync import Replica
from tests.support.writes import Call, create_task, etag, read_task, send_concurrently

DAY = timedelta(days=1)


def delete(api: Api, user: User, path: str, **params: str) -> None:
    query = "&".join(f"{name}={value}" for name, value in params.items())
    response = api.request("DELETE", f"{path}?{query}" if query else path, token=user.token)
    assert response.status_code == 204, response.text


def trash(api: Api, user: User, query: str = "") -> dict[str, Any]:
    response = api.request("GET", f"/api/{user.id}/trash{query}", token=user.token)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def restore(
    api: Api, user: User, kind: str, item_id: int, headers: dict[str, str] | None = None
) -> Any:
    return api.request(
        "POST", f"/api/{user.id}/trash/{kind}/{item_id}/restore", token=user.token, headers=headers
    )


def create_list(api: Api, user: User, name: str) -> dict[str, Any]:
    response = api.request("POST", user.lists_path, token=user.token, json={"name": name})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def test_a_deleted_task_is_in_the_trash_as_it_was_and_nowhere_else(api: Api, alice: User) -> None:
    # given a task
    task = create_task(api, alice, title="Buy milk", tags=["home"])

    # when it is deleted
    delete(api, alice, alice.task_path(task["id"]))

    # then it is gone from reads and lists, and in the trash as it was, for 30 days
    assert api.request("GET", alice.task_path(task["id"]), token=alice.token).status_code == 404
    listed = api.request("GET", alice.tasks_path, token=alice.token).json()["items"]
    assert listed == []
    [item] = trash(api, alice)["items"]
    assert (item["kind"], item["id"], item["version"], item["task_count"]) == (
        "task",
        task["id"],
        task["version"],
        0,
    )
    assert item["task"] == task
    assert "list" not in item
    assert at(item["purge_at"]) - at(item["trashed_at"]) == 30 * DAY


def test_a_restored_task_keeps_its_id_and_content_as_a_new_version(api: Api, alice: User) -> None:
    # given a client in sync with a task that was then deleted
    task = create_task(api, alice, title="Buy milk", description="Two litres", priority="high")
    replica = Replica(alice)
    replica.sync(api)
    delete(api, alice, alice.task_path(task["id"]))
    replica.sync(api)
    assert task["id"] not in replica.tasks

    # when it is restored
    response = restore(api, alice, "tasks", task["id"], {"If-Match": etag(task["version"])})

    # then it is back with its id and content, as a new version, and delta sync brings it back
    assert response.status_code == 200, response.text
    restored = response.json()
    assert response.headers["ETag"] == etag(restored["version"])
    assert restored["version"] == task["version"] + 1
    unchanged = {k: v for k, v in restored.items() if k not in ("version", "updated_at")}
    assert unchanged == {k: v for k, v in task.items() if k not in ("version", "updated_at")}
    assert read_task(api, alice, task["id"]) == restored
    assert trash(api, alice)["items"] == []
    replica.sync(api)
    assert replica.tasks[task["id"]] == restored


def test_a_task_comes_back_with_the_subtasks_deleted_with_it(api: Api, alice: User) -> None:
    # given a task with a subtask that has one of its own
    parent = create_task(api, alice, title="Move house")
    child = create_task(api, alice, title="Pack", parent_id=parent["id"])
    grandchild = create_task(api, alice, title="Books", parent_id=child["id"])

    # when the task is deleted, one item of the trash holds all three
    delete(api, alice, alice.task_path(parent["id"]))
    [item] = trash(api, alice)["items"]
    assert (item["id"], item["task_count"]) == (parent["id"], 2)
    assert api.request("GET", alice.task_path(child["id"]), token=alice.token).status_code == 404

    # then restoring it brings back the whole subtree as it was
    assert restore(api, alice, "tasks", parent["id"]).status_code == 200
    assert read_task(api, alice, child["id"])["parent_id"] == parent["id"]
    assert read_task(api, alice, grandchild["id"])["parent_id"] == child["id"]
    assert read_task(api, alice, grandchild["id"])["position"] == grandchild["position"]


def test_a_subtask_whose_parent_is_gone_comes_back_at_the_top_level(api: Api, alice: User) -> None:
    # given a subtask deleted, then its parent deleted too
    parent = create_task(api, alice, title="Move house")
    child = create_task(api, alice, title="Pack", parent_id=parent["id"])
    delete(api, alice, alice.task_path(child["id"]))
    delete(api, alice, alice.task_path(parent["id"]))

    # when the subtask is restored
    response = restore(api, alice, "tasks", child["id"])

    # then it is a top-level task of its list
    assert response.status_code == 200, response.text
    assert response.json()["parent_id"] is None
    assert response.json()["list_id"] == child["list_id"]


def test_a_subtask_whose_parent_is_there_comes_back_under_it(api: Api, alice: User) -> None:
    parent = create_task(api, alice, title="Move house")
    child = create_task(api, alice, title="Pack", parent_id=parent["id"])
    delete(api, alice, alice.task_path(child["id"]))

    restored = restore(api, alice, "tasks", child["id"]).json()

    assert (restored["parent_id"], restored["position"]) == (parent["id"], child["position"])


def test_a_task_whose_list_is_gone_is_restored_into_the_inbox(api: Api, alice: User) -> None:
    # given a task deleted from a list that was deleted afterwards, its tasks moved out
    groceries = create_list(api, alice, "Groceries")
    task = create_task(api, alice, title="Buy milk", list_id=groceries["id"])
    delete(api, alice, alice.task_path(task["id"]))
    delete(api, alice, alice.list_path(groceries["id"]), tasks="move_to_inbox")

    # when the task is restored
    restored = restore(api, alice, "tasks", task["id"]).json()

    # then it is last in the Inbox
    inbox = [
        todo_list
        for todo_list in api.request("GET", alice.lists_path, token=alice.token).json()["items"]
        if todo_list["is_inbox"]
    ]
    assert restored["list_id"] == inbox[0]["id"]


def test_a_list_deleted_with_its_tasks_is_one_item_and_comes_back_with_them(
    api: Api, alice: User
) -> None:
    # given a list with two tasks, one a subtask of the other
    groceries = create_list(api, alice, "Groceries")
    milk = create_task(api, alice, title="Buy milk", list_id=groceries["id"])
    oat = create_task(api, alice, title="Oat milk", parent_id=milk["id"])

    # when the list is deleted with its tasks
    delete(api, alice, alice.list_path(groceries["id"]), tasks="delete")

    # then the trash holds the list alone, with its two tasks to come back with it
    [item] = trash(api, alice)["items"]
    assert (item["kind"], item["id"], item["task_count"]) == ("list", groceries["id"], 2)
    assert item["list"] == groceries
    assert "task" not in item

    # and restoring it brings back the list and its tasks with their ids, as new versions
    response = restore(api, alice, "lists", groceries["id"], {"If-Match": etag(1)})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == groceries["version"] + 1
    back = read_task(api, alice, oat["id"])
    assert (back["list_id"], back["parent_id"]) == (groceries["id"], milk["id"])
    assert read_task(api, alice, milk["id"])["version"] == milk["version"] + 1
    assert trash(api, alice)["items"] == []


def test_a_list_whose_tasks_were_moved_out_comes_back_empty(api: Api, alice: User) -> None:
    groceries = create_list(api, alice, "Groceries")
    milk = create_task(api, alice, title="Buy milk", list_id=groceries["id"])
    delete(api, alice, alice.list_path(groceries["id"]), tasks="move_to_inbox")

    assert trash(api, alice)["items"][0]["task_count"] == 0
    assert restore(api, alice, "lists", groceries["id"]).status_code == 200

    assert read_task(api, alice, milk["id"])["list_id"] != groceries["id"]


def test_restoring_with_a_version_other_than_the_deleted_one_is_412(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk")
    delete(api, alice, alice.task_path(task["id"]))

    response = restore(api, alice, "tasks", task["id"], {"If-Match": etag(task["version"] + 1)})

    assert response.status_code == 412
    assert response.json()["details"]["current"] == task
    assert response.headers["ETag"] == etag(task["version"])
    assert len(trash(api, alice)["items"]) == 1


def test_restoring_again_answers_the_task_as_it_is(api: Api, alice: User) -> None:
    # given a task restored, then edited
    task = create_task(api, alice, title="Buy milk")
    delete(api, alice, alice.task_path(task["id"]))
    restore(api, alice, "tasks", task["id"])
    edited = api.request(
        "PATCH",
        alice.task_path(task["id"]),
        token=alice.token,
        json={"title": "Buy oat milk"},
        headers={"Content-Type": "application/merge-patch+json"},
    ).json()

    # when the restore is sent again (a retry whose answer was lost)
    again = restore(api, alice, "tasks", task["id"])

    # then it changes nothing and answers the task as it is
    assert again.status_code == 200
    assert again.json() == edited


def test_what_is_not_in_the_trash_is_404(api: Api, alice: User) -> None:
    for kind in ("tasks", "lists"):
        assert restore(api, alice, kind, 12345).status_code == 404
        path = f"/api/{alice.id}/trash/{kind}/12345"
        assert api.request("DELETE", path, token=alice.token).status_code == 404


def test_another_users_trash_is_missing_not_forbidden(api: Api, alice: User, bob: User) -> None:
    # given alice's deleted task and list
    task = create_task(api, alice, title="Alice's secret")
    groceries = create_list(api, alice, "Alice's list")
    delete(api, alice, alice.task_path(task["id"]))
    delete(api, alice, alice.list_path(groceries["id"]), tasks="delete")

    # when bob names them under his own trash
    answers = [
        restore(api, bob, "tasks", task["id"]),
        restore(api, bob, "lists", groceries["id"]),
        api.request("DELETE", f"/api/{bob.id}/trash/tasks/{task['id']}", token=bob.token),
        api.request("DELETE", f"/api/{bob.id}/trash/lists/{groceries['id']}", token=bob.token),
    ]

    # then they do not exist for him, his trash is empty, and alice's is whole
    assert [answer.status_code for answer in answers] == [404] * 4
    assert trash(api, bob)["items"] == []
    assert api.request("DELETE", f"/api/{bob.id}/trash", token=bob.token).status_code == 204
    assert len(trash(api, alice)["items"]) == 2


def test_removing_an_item_for_good_takes_what_it_holds_and_its_history(
    api: Api, alice: User, database_url: str
) -> None:
    # given a recurring task completed once, with a subtask, deleted
    task = create_task(
        api,
        alice,
        title="Water the plants",
        due={"date": "2027-03-22"},
        recurrence={"rule": "FREQ=WEEKLY"},
    )
    create_task(api, alice, title="The fern", parent_id=task["id"])
    path = f"{alice.task_path(task['id'])}/complete"
    assert api.request("PATCH", path, token=alice.token, json={"completed": True}).is_success
    delete(api, alice, alice.task_path(task["id"]))

    # when it is removed from the trash for good
    removed = api.request("DELETE", f"/api/{alice.id}/trash/tasks/{task['id']}", token=alice.token)

    # then nothing of it is left, and it cannot be restored
    assert removed.status_code == 204
    assert restore(api, alice, "tasks", task["id"]).status_code == 404
    left = fetch(
        database_url,
        "SELECT (SELECT count(*) FROM trashed_tasks WHERE user_id = $1) AS tasks,"
        " (SELECT count(*) FROM task_occurrences WHERE user_id = $1) AS occurrences,"
        " (SELECT count(*) FROM task_history WHERE user_id = $1) AS versions",
        alice.id,
    )
    assert left == [{"tasks": 0, "occurrences": 0, "versions": 0}]


def test_a_restored_recurring_task_keeps_its_occurrences(api: Api, alice: User) -> None:
    task = create_task(
        api,
        alice,
        title="Water the plants",
        due={"date": "2027-03-22"},
        recurrence={"rule": "FREQ=WEEKLY"},
    )
    path = f"{alice.task_path(task['id'])}/complete"
    assert api.request("PATCH", path, token=alice.token, json={"completed": True}).is_success
    delete(api, alice, alice.task_path(task["id"]))

    assert restore(api, alice, "tasks", task["id"]).status_code == 200

    occurrences = api.request(
        "GET", f"{alice.task_path(task['id'])}/occurrences", token=alice.token
    )
    assert [item["due"]["date"] for item in occurrences.json()["items"]] == ["2027-03-22"]


def test_emptying_the_trash_removes_every_item(api: Api, alice: User) -> None:
    groceries = create_list(api, alice, "Groceries")
    create_task(api, alice, title="Buy milk", list_id=groceries["id"])
    task = create_task(api, alice, title="Call mum")
    delete(api, alice, alice.task_path(task["id"]))
    delete(api, alice, alice.list_path(groceries["id"]), tasks="delete")

    response = api.request("DELETE", f"/api/{alice.id}/trash", token=alice.token)

    assert response.status_code == 204
    assert trash(api, alice)["items"] == []
    assert restore(api, alice, "lists", groceries["id"]).status_code == 404


def test_the_trash_is_paged_newest_first(api: Api, alice: User) -> None:
    # given five tasks deleted one after another
    tasks = [create_task(api, alice, title=f"Task {n}") for n in range(5)]
    for task in tasks:
        delete(api, alice, alice.task_path(task["id"]))

    # when the trash is walked two at a time
    seen: list[int] = []
    page = trash(api, alice, "?limit=2")
    while True:
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        page = trash(api, alice, f"?limit=2&cursor={page['next_cursor']}")

    # then each comes once, the last deleted first
    assert seen == [task["id"] for task in reversed(tasks)]


def test_a_tampered_trash_cursor_is_400(api: Api, alice: User) -> None:
    response = api.request("GET", f"/api/{alice.id}/trash?cursor=abc.def", token=alice.token)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_cursor"


def test_two_restores_at_once_bring_the_task_back_once(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk")
    delete(api, alice, alice.task_path(task["id"]))
    path = f"/api/{alice.id}/trash/tasks/{task['id']}/restore"

    answers = send_concurrently(api, alice, [Call("POST", path)] * 2)

    assert [answer.status_code for answer in answers] == [200, 200]
    assert {answer.json()["version"] for answer in answers} == {task["version"] + 1}
    assert read_task(api, alice, task["id"])["version"] == task["version"] + 1


@pytest.mark.parametrize("kind", ["tasks", "lists"])
def test_a_restore_racing_a_removal_for_good_is_one_or_the_other(
    api: Api, alice: User, database_url: str, kind: str
) -> None:
    # given a list with a task, deleted (or that task deleted alone)
    groceries = create_list(api, alice, "Groceries")
    task = create_task(api, alice, title="Buy milk", list_id=groceries["id"])
    item_id = task["id"] if kind == "tasks" else groceries["id"]
    if kind == "tasks":
        delete(api, alice, alice.task_path(task["id"]))
    else:
        delete(api, alice, alice.list_path(groceries["id"]), tasks="delete")
    item = f"/api/{alice.id}/trash/{kind}/{item_id}"

    # when it is restored and removed for good at once
    restored, removed = send_concurrently(
        api, alice, [Call("POST", f"{item}/restore"), Call("DELETE", item)]
    )

    # then either it is back whole and the removal found nothing, or it is gone whole
    outcome = (restored.status_code, removed.status_code)
    assert outcome in {(200, 404), (404, 204)}
    live = api.request("GET", alice.task_path(task["id"]), token=alice.token).status_code
    trashed = fetch(database_url, "SELECT count(*) FROM trashed_tasks WHERE user_id = $1", alice.id)
    assert (live, trashed[0]["count"]) == ((200, 0) if outcome == (200, 404) else (404, 0))


def test_a_new_task_never_takes_the_id_of_one_in_the_trash(
    api: Api, alice: User, database_url: str
) -> None:
    # given a task in the trash
    task = create_task(api, alice, title="Buy milk")
    delete(api, alice, alice.task_path(task["id"]))

    # when a new task is written with its id, as a draw that hit it would be
    clash = unique_violation(
        database_url,
        "INSERT INTO tasks (user_id, id, title, list_id, position)"
        " SELECT user_id, id, 'x', list_id, 'a' FROM trashed_tasks WHERE user_id = $1 AND id = $2",
        alice.id,
        task["id"],
    )

    # then it fails on the task's key, on which the service draws again
    assert clash == "tasks_pkey"


@pytest.mark.parametrize(
    ("live", "trashed", "columns", "derived", "trash_only"),
    [
        (
            "tasks",
            "trashed_tasks",
            TRASHED_TASK_COLUMNS,
            {"search_words", "changed_xid"},
            {"trash_kind", "trash_item_id"},
        ),
        ("task_lists", "trashed_lists", TRASHED_LIST_COLUMNS, {"is_inbox", "changed_xid"}, set()),
        (
            "tasks",
            "task_history",
            TRASHED_TASK_COLUMNS,
            {"search_words", "changed_xid"},
            {"deleted", "change", "changed", "recorded_at"},
        ),
    ],
)
def test_the_trash_and_the_history_keep_every_column_a_restore_writes_back(
    api: Api,
    database_url: str,
    live: str,
    trashed: str,
    columns: str,
    derived: set[str],
    trash_only: set[str],
) -> None:
    # A column added to the live table but not to the trash would be lost by a restore, and one
    # not in the history by making a version current (`api`: the service has migrated).
    def columns_of(table: str) -> set[str]:
        rows = fetch(
            database_url,
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1",
            table,
        )
        # The history names the task it keeps by `task_id`.
        return {"id" if row["column_name"] == "task_id" else row["column_name"] for row in rows}

    kept = columns_of(live) - derived
    assert columns_of(trashed) - trash_only == kept
    assert {column.strip() for column in columns.split(",")} | {"id", "user_id"} == kept


def batch(api: Api, user: User, operations: list[dict[str, Any]], atomic: bool = False) -> Any:
    response = api.request(
        "POST",
        f"{user.tasks_path}/batch",
        token=user.token,
        json={"operations": operations, "atomic": atomic},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_batch_of_deletions_is_undone_by_one_batch_of_restores(api: Api, alice: User) -> None:
    # given three tasks deleted by one batch
    tasks = [create_task(api, alice, title=f"Task {n}") for n in range(3)]
    deletions = [{"op": "delete", "task_id": task["id"]} for task in tasks]
    assert [result["status"] for result in batch(api, alice, deletions)["results"]] == [204] * 3

    # when one batch restores them, each naming the version it deleted
    restores = [
        {"op": "restore", "task_id": task["id"], "if_match": etag(task["version"])}
        for task in tasks
    ]
    results = batch(api, alice, restores)["results"]

    # then each is back, as a new version
    assert [result["status"] for result in results] == [200] * 3
    assert [result["task"]["version"] for result in results] == [2] * 3
    assert [read_task(api, alice, task["id"])["title"] for task in tasks] == [
        "Task 0",
        "Task 1",
        "Task 2",
    ]
    assert trash(api, alice)["items"] == []


def test_a_restore_in_an_atomic_batch_that_fails_stays_in_the_trash(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk")
    delete(api, alice, alice.task_path(task["id"]))

    answer = batch(
        api,
        alice,
        [{"op": "restore", "task_id": task["id"]}, {"op": "delete", "task_id": 12345}],
        atomic=True,
    )

    assert answer["applied"] is False
    assert [item["id"] for item in trash(api, alice)["items"]] == [task["id"]]
