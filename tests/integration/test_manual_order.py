"""The user's own order: tasks in each list and the lists themselves, moved by naming a neighbour,
kept by position keys the server computes."""

from typing import Any

import httpx

from tests.conftest import Api, User
from tests.support.lists import all_lists, create_list, delete_list, inbox_of
from tests.support.sync import sync
from tests.support.writes import Call, create_task, etag, patch_task, send_concurrently


def in_order(api: Api, user: User, list_id: int) -> list[dict[str, Any]]:
    """Every task of the list, in manual order, walked page by page."""
    tasks: list[dict[str, Any]] = []
    cursor = ""
    while True:
        path = f"{user.tasks_path}?list_id={list_id}&sort=manual&limit=3{cursor}"
        page = api.request("GET", path, token=user.token).json()
        tasks += page["items"]
        if page["next_cursor"] is None:
            return tasks
        cursor = f"&cursor={page['next_cursor']}"


def titles(tasks: list[dict[str, Any]]) -> list[str]:
    return [task["title"] for task in tasks]


def move(
    api: Api, user: User, task_id: int, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    return api.request(
        "POST", f"{user.task_path(task_id)}/move", token=user.token, json=body, headers=headers
    )


def make(api: Api, user: User, *names: str, **fields: Any) -> dict[str, dict[str, Any]]:
    return {name: create_task(api, user, title=name, **fields) for name in names}


def test_new_tasks_come_last_in_their_list(api: Api, alice: User) -> None:
    make(api, alice, "a", "b", "c")

    inbox = inbox_of(api, alice)["id"]

    assert titles(in_order(api, alice, inbox)) == ["a", "b", "c"]


def test_a_move_after_a_task_puts_it_right_there_and_keeps_its_id(api: Api, alice: User) -> None:
    tasks = make(api, alice, "a", "b", "c", "d")

    response = move(api, alice, tasks["d"]["id"], after_id=tasks["a"]["id"])

    assert response.status_code == 200, response.text
    moved = response.json()
    assert (moved["id"], moved["version"]) == (tasks["d"]["id"], 2)
    assert response.headers["ETag"] == etag(2)
    assert titles(in_order(api, alice, moved["list_id"])) == ["a", "d", "b", "c"]


def test_a_move_before_the_first_or_to_no_neighbour_puts_it_first_or_last(
    api: Api, alice: User
) -> None:
    tasks = make(api, alice, "a", "b", "c")
    inbox = tasks["a"]["list_id"]

    first = move(api, alice, tasks["c"]["id"], before_id=tasks["a"]["id"])
    order_after_first = titles(in_order(api, alice, inbox))
    last = move(api, alice, tasks["c"]["id"])

    assert (first.status_code, last.status_code) == (200, 200)
    assert order_after_first == ["c", "a", "b"]
    assert titles(in_order(api, alice, inbox)) == ["a", "b", "c"]


def test_a_move_to_another_list_puts_it_at_the_named_place_there(api: Api, alice: User) -> None:
    work = create_list(api, alice, name="Work")
    there = make(api, alice, "w1", "w2", list_id=work["id"])
    task = create_task(api, alice, title="mine")

    moved = move(api, alice, task["id"], list_id=work["id"], after_id=there["w1"]["id"]).json()

    assert (moved["id"], moved["list_id"]) == (task["id"], work["id"])
    assert titles(in_order(api, alice, work["id"])) == ["w1", "mine", "w2"]
    assert in_order(api, alice, task["list_id"]) == []


def test_a_move_to_another_list_whose_new_key_is_the_one_it_had_keeps_its_named_place(
    api: Api, alice: User
) -> None:
    # given: a gap in Work (a0, _, a2) where the moved task's own key (a1 in the Inbox) fits
    work = create_list(api, alice, name="Work")
    there = make(api, alice, "w1", "gone", "w3", list_id=work["id"])
    api.request("DELETE", alice.task_path(there["gone"]["id"]), token=alice.token)
    create_task(api, alice, title="first in the inbox")
    task = create_task(api, alice, title="mine")

    # when
    moved = move(api, alice, task["id"], list_id=work["id"], after_id=there["w1"]["id"]).json()

    # then
    assert moved["list_id"] == work["id"]
    assert titles(in_order(api, alice, work["id"])) == ["w1", "mine", "w3"]


def test_a_move_to_where_the_task_is_changes_nothing(api: Api, alice: User) -> None:
    tasks = make(api, alice, "a", "b")

    again = move(api, alice, tasks["b"]["id"], after_id=tasks["a"]["id"])
    last = move(api, alice, tasks["b"]["id"])

    assert again.json() == last.json() == tasks["b"]


def test_a_patch_of_the_list_puts_the_task_last_there(api: Api, alice: User) -> None:
    work = create_list(api, alice, name="Work")
    make(api, alice, "w1", list_id=work["id"])
    task = create_task(api, alice, title="mine")

    patch_task(api, alice, task["id"], {"list_id": work["id"]})

    assert titles(in_order(api, alice, work["id"])) == ["w1", "mine"]


def test_a_neighbour_not_in_that_list_is_422_naming_it(api: Api, alice: User, bob: User) -> None:
    work = create_list(api, alice, name="Work")
    elsewhere = create_task(api, alice, title="in work", list_id=work["id"])
    task = create_task(api, alice, title="mine")
    bobs = create_task(api, bob, title="bob's")

    answers = {
        "after_id": move(api, alice, task["id"], after_id=elsewhere["id"]),
        "before_id": move(api, alice, task["id"], before_id=bobs["id"]),
    }
    both = move(api, alice, task["id"], after_id=elsewhere["id"], before_id=elsewhere["id"])
    itself = move(api, alice, task["id"], after_id=task["id"])
    bobs_list = move(api, alice, task["id"], list_id=inbox_of(api, bob)["id"])

    for field, response in answers.items():
        assert response.status_code == 422, response.text
        assert response.json()["details"][0]["location"] == ["body", field]
    for response in (both, itself, bobs_list):
        assert response.status_code == 422, response.text
    assert api.request("GET", alice.task_path(task["id"]), token=alice.token).json() == task


def test_another_users_task_is_404_and_a_stale_if_match_412(
    api: Api, alice: User, bob: User
) -> None:
    tasks = make(api, alice, "a", "b")
    bobs = create_task(api, bob, title="bob's")

    missing = move(api, alice, bobs["id"])
    stale = move(api, alice, tasks["a"]["id"], headers={"If-Match": etag(7)})

    assert missing.status_code == 404
    assert stale.status_code == 412
    assert stale.json()["details"]["current"] == tasks["a"]


def test_concurrent_moves_into_one_gap_never_share_a_place(api: Api, alice: User) -> None:
    # given ten tasks
    tasks = [create_task(api, alice, title=f"t{n}") for n in range(10)]
    anchor = tasks[0]["id"]

    # when eight of them are moved right after the first at once
    calls = [
        Call("POST", f"{alice.task_path(task['id'])}/move", json={"after_id": anchor})
        for task in tasks[2:]
    ]
    answers = send_concurrently(api, alice, calls)

    # then every move succeeds, and each has a place of its own that the next read agrees on
    assert [answer.status_code for answer in answers] == [200] * 8
    order = in_order(api, alice, tasks[0]["list_id"])
    positions = [task["position"] for task in order]
    assert len(set(positions)) == len(positions) == 10
    assert positions == sorted(positions)
    assert order[0]["id"] == anchor
    assert order[-1]["id"] == tasks[1]["id"]
    assert in_order(api, alice, tasks[0]["list_id"]) == order


def test_a_gap_grown_too_narrow_respaces_neighbours_and_sync_reports_them(
    api: Api, alice: User
) -> None:
    # given forty tasks, and a sync token
    first, *others = [create_task(api, alice, title=f"t{n}") for n in range(40)]
    token = sync(api, alice).token

    # when each of the others goes right after the first, six times over: one gap, ever narrower
    rounds = 6
    for _ in range(rounds):
        for task in others:
            assert move(api, alice, task["id"], after_id=first["id"]).status_code == 200

    # then keys stay short and the order holds; some tasks were respaced (a version more than
    # their moves gave them), and the sync reports every task as it now is
    order = in_order(api, alice, first["list_id"])
    assert max(len(task["position"]) for task in order) <= 32
    assert [task["position"] for task in order] == sorted(task["position"] for task in order)
    moves = {task["id"]: rounds for task in others} | {first["id"]: 0}
    respaced = [task for task in order if task["version"] > 1 + moves[task["id"]]]
    assert respaced
    changed = {task["id"]: task for task in sync(api, alice, since=token).items}
    assert all(changed[task["id"]] == task for task in order if task["version"] > 1)


# Lists


def test_lists_move_before_and_after_each_other_and_the_inbox_too(api: Api, alice: User) -> None:
    inbox = inbox_of(api, alice)
    create_list(api, alice, name="Work")
    home = create_list(api, alice, name="Home")

    first = api.request(
        "POST",
        f"{alice.list_path(home['id'])}/move",
        token=alice.token,
        json={"before_id": inbox["id"]},
    )
    inbox_last = api.request(
        "POST", f"{alice.list_path(inbox['id'])}/move", token=alice.token, json={}
    )

    assert (first.status_code, inbox_last.status_code) == (200, 200)
    assert [item["name"] for item in all_lists(api, alice)] == ["Home", "Work", "Inbox"]
    assert first.json()["version"] == home["version"] + 1


def test_a_list_neighbour_of_another_user_is_422(api: Api, alice: User, bob: User) -> None:
    work = create_list(api, alice, name="Work")

    response = api.request(
        "POST",
        f"{alice.list_path(work['id'])}/move",
        token=alice.token,
        json={"after_id": inbox_of(api, bob)["id"]},
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["location"] == ["body", "after_id"]


def test_deleting_a_list_moves_its_tasks_to_the_end_of_the_inbox_in_their_order(
    api: Api, alice: User
) -> None:
    make(api, alice, "i1")
    work = create_list(api, alice, name="Work")
    there = make(api, alice, "w1", "w2", "w3", list_id=work["id"])
    move(api, alice, there["w3"]["id"], before_id=there["w1"]["id"])

    assert delete_list(api, alice, work["id"], "move_to_inbox").status_code == 204

    assert titles(in_order(api, alice, inbox_of(api, alice)["id"])) == ["i1", "w3", "w1", "w2"]


def test_a_deleted_lists_tasks_keep_their_order_in_an_empty_inbox_whatever_their_keys(
    api: Api, alice: User
) -> None:
    # given: an empty Inbox, so the tasks' new keys there are the keys they had (a0, a1, ...)
    work = create_list(api, alice, name="Work")
    there = make(api, alice, "w1", "w2", "w3", "w4", list_id=work["id"])
    move(api, alice, there["w4"]["id"], before_id=there["w2"]["id"])

    # when
    assert delete_list(api, alice, work["id"], "move_to_inbox").status_code == 204

    # then
    assert titles(in_order(api, alice, inbox_of(api, alice)["id"])) == ["w1", "w4", "w2", "w3"]
