"""Task lists: the Inbox every user has, lists made, renamed, archived and deleted, and the tasks
in them."""

import unicodedata

from tests.conftest import Api, User
from tests.support.lists import (
    all_lists,
    create_list,
    delete_list,
    inbox_of,
    post_list,
    tasks_in,
)
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

# The Inbox


def test_a_new_user_has_one_inbox_without_creating_it(api: Api, alice: User) -> None:
    response = api.request("GET", alice.lists_path, token=alice.token)

    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] is None
    [inbox] = page["items"]
    assert (inbox["name"], inbox["is_inbox"], inbox["archived"]) == ("Inbox", True, False)
    assert (inbox["user_id"], inbox["version"], inbox["color"]) == (alice.id, 1, None)


def test_the_inbox_is_the_same_list_on_every_read(api: Api, alice: User) -> None:
    first = inbox_of(api, alice)

    again = inbox_of(api, alice)

    assert again == first


def test_a_task_created_without_a_list_is_in_the_inbox(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="Buy milk")

    assert task["list_id"] == inbox_of(api, alice)["id"]


def test_the_first_task_and_the_first_list_read_at_once_make_one_inbox(
    api: Api, alice: User
) -> None:
    calls = [Call("POST", alice.tasks_path, json={"title": f"t{n}"}) for n in range(6)]
    calls += [Call("GET", alice.lists_path) for _ in range(4)]

    answers = send_concurrently(api, alice, calls)

    assert sorted(r.status_code for r in answers) == [200] * 4 + [201] * 6
    inbox = inbox_of(api, alice)
    assert {r.json()["list_id"] for r in answers if r.status_code == 201} == {inbox["id"]}
    assert {r.json()["items"][0]["id"] for r in answers if r.status_code == 200} == {inbox["id"]}


def test_the_inbox_cannot_be_deleted(api: Api, alice: User) -> None:
    inbox = inbox_of(api, alice)
    task = create_task(api, alice, title="kept")

    for tasks in ("delete", "move_to_inbox"):
        response = delete_list(api, alice, inbox["id"], tasks)
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "inbox_protected"

    assert read_task(api, alice, task["id"]) == task
    assert inbox_of(api, alice) == inbox


def test_the_inbox_cannot_be_archived_but_can_be_renamed(api: Api, alice: User) -> None:
    inbox = inbox_of(api, alice)
    path = alice.list_path(inbox["id"])

    by_patch = api.request("PATCH", path, token=alice.token, json={"archived": True})
    by_put = api.request("PUT", path, token=alice.token, json={"name": "x", "archived": True})
    renamed = api.request("PATCH", path, token=alice.token, json={"name": "Eingang"})

    assert (by_patch.status_code, by_put.status_code) == (409, 409)
    assert by_patch.json()["error"] == by_put.json()["error"] == "inbox_protected"
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["is_inbox"]) == ("Eingang", True)


# Making and changing lists


def test_create_list_is_201_with_location_etag_and_comes_last(api: Api, alice: User) -> None:
    inbox = inbox_of(api, alice)

    response = post_list(api, alice, {"name": "Groceries", "color": "#2E7D32"})
    second = create_list(api, alice, name="Work")

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["Location"] == alice.list_path(created["id"])
    assert response.headers["ETag"] == etag(1)
    assert (created["name"], created["color"], created["archived"]) == (
        "Groceries",
        "#2e7d32",
        False,
    )
    assert created["is_inbox"] is False
    assert inbox["position"] < created["position"] < second["position"]
    assert [item["id"] for item in all_lists(api, alice)] == [
        inbox["id"],
        created["id"],
        second["id"],
    ]
    fetched = api.request("GET", response.headers["Location"], token=alice.token)
    assert fetched.json() == created


def test_lists_sort_by_name_and_creation_in_both_directions(api: Api, alice: User) -> None:
    inbox = inbox_of(api, alice)
    made = [create_list(api, alice, name=name) for name in ("b", "C", "a", "é")]
    everything = [inbox, *made]

    by_name = all_lists(api, alice, "sort=name")
    by_name_descending = all_lists(api, alice, "sort=-name")
    newest_first = all_lists(api, alice, "sort=-created_at")
    manual_descending = all_lists(api, alice, "sort=-manual")

    by_code_point = sorted(everything, key=lambda item: (item["name"].encode(), item["id"]))
    assert [item["name"] for item in by_name] == [item["name"] for item in by_code_point]
    assert by_name_descending == by_name[::-1]
    assert [item["id"] for item in newest_first] == [item["id"] for item in everything[::-1]]
    assert [item["id"] for item in manual_descending] == [item["id"] for item in everything[::-1]]


def test_archived_filter_keeps_only_archived_or_only_active_lists(api: Api, alice: User) -> None:
    inbox = inbox_of(api, alice)
    kept = create_list(api, alice, name="kept")
    shelved = create_list(api, alice, name="shelved", archived=True)

    archived = all_lists(api, alice, "archived=true")
    active = all_lists(api, alice, "archived=false")

    assert [item["id"] for item in archived] == [shelved["id"]]
    assert [item["id"] for item in active] == [inbox["id"], kept["id"]]


def test_a_cursor_for_another_sort_or_filter_is_400(api: Api, alice: User) -> None:
    for name in ("a", "b", "c"):
        create_list(api, alice, name=name)
    page = api.request("GET", f"{alice.lists_path}?limit=1", token=alice.token).json()

    other_sort = api.request(
        "GET", f"{alice.lists_path}?sort=name&cursor={page['next_cursor']}", token=alice.token
    )
    other_filter = api.request(
        "GET", f"{alice.lists_path}?archived=false&cursor={page['next_cursor']}", token=alice.token
    )
    task_cursor = api.request(
        "GET", f"{alice.tasks_path}?cursor={page['next_cursor']}", token=alice.token
    )

    for response in (other_sort, other_filter, task_cursor):
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_cursor"


def test_patch_renames_recolours_and_clears_the_colour(api: Api, alice: User) -> None:
    made = create_list(api, alice, name="Work", color="#000000")
    path = alice.list_path(made["id"])
    nfd_name = unicodedata.normalize("NFD", "Café")

    renamed = api.request("PATCH", path, token=alice.token, json={"name": nfd_name})
    cleared = api.request("PATCH", path, token=alice.token, json={"color": None})
    unchanged = api.request("PATCH", path, token=alice.token, json={"color": None})

    assert renamed.json()["name"] == "Café"
    assert (renamed.json()["version"], cleared.json()["version"]) == (2, 3)
    assert cleared.json()["color"] is None
    assert unchanged.json() == cleared.json()
    assert cleared.headers["ETag"] == etag(3)


def test_put_sets_every_field_and_omitted_ones_take_their_defaults(api: Api, alice: User) -> None:
    made = create_list(api, alice, name="Work", color="#123456", archived=True)

    replaced = api.request(
        "PUT", alice.list_path(made["id"]), token=alice.token, json={"name": "Job"}
    )

    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["name"], body["color"], body["archived"], body["version"]) == (
        "Job",
        None,
        False,
        2,
    )
    assert body["position"] == made["position"]


def test_a_stale_if_match_is_412_with_the_current_list(api: Api, alice: User) -> None:
    made = create_list(api, alice, name="Work")
    path = alice.list_path(made["id"])
    api.request("PATCH", path, token=alice.token, json={"name": "Job"})

    stale = api.request(
        "PATCH", path, token=alice.token, json={"name": "Mine"}, headers={"If-Match": etag(1)}
    )
    stale_delete = api.request(
        "DELETE", f"{path}?tasks=delete", token=alice.token, headers={"If-Match": etag(1)}
    )
    not_modified = api.request("GET", path, token=alice.token, headers={"If-None-Match": etag(2)})

    for response in (stale, stale_delete):
        assert response.status_code == 412, response.text
        assert response.json()["details"]["current"]["name"] == "Job"
        assert response.headers["ETag"] == etag(2)
    assert stale.json()["message"] == "The list has changed since the version named in If-Match."
    assert not_modified.status_code == 304


def test_a_repeated_idempotency_key_replays_the_list_and_a_task_cannot_reuse_it(
    api: Api, alice: User
) -> None:
    key = {"Idempotency-Key": "groceries-1"}
    first = post_list(api, alice, {"name": "Groceries"}, headers=key)

    replay = post_list(api, alice, {"name": "Groceries"}, headers=key)
    as_task = post_task(api, alice, {"title": "Groceries"}, headers=key)

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Location"] == first.headers["Location"]
    assert as_task.status_code == 422
    assert as_task.json()["error"] == "idempotency_key_reused"
    assert len(all_lists(api, alice)) == 2


# Tasks in lists


def test_a_task_created_in_a_list_is_listed_only_there(api: Api, alice: User) -> None:
    groceries = create_list(api, alice, name="Groceries")
    in_list = create_task(api, alice, title="Milk", list_id=groceries["id"])
    in_inbox = create_task(api, alice, title="Call mum")

    assert in_list["list_id"] == groceries["id"]
    assert tasks_in(api, alice, groceries["id"]) == [in_list]
    assert tasks_in(api, alice, inbox_of(api, alice)["id"]) == [in_inbox]


def test_a_task_keeps_its_id_when_patched_into_another_list(api: Api, alice: User) -> None:
    groceries = create_list(api, alice, name="Groceries")
    task = create_task(api, alice, title="Milk")

    moved = patch_task(api, alice, task["id"], {"list_id": groceries["id"]})

    assert moved.status_code == 200
    assert (moved.json()["id"], moved.json()["list_id"]) == (task["id"], groceries["id"])
    assert moved.json()["version"] == task["version"] + 1
    assert tasks_in(api, alice, groceries["id"]) == [moved.json()]


def test_a_replace_without_list_id_leaves_the_task_in_its_list(api: Api, alice: User) -> None:
    groceries = create_list(api, alice, name="Groceries")
    task = create_task(api, alice, title="Milk", list_id=groceries["id"])

    replaced = api.request(
        "PUT", alice.task_path(task["id"]), token=alice.token, json={"title": "Oat milk"}
    )

    assert replaced.status_code == 200
    assert replaced.json()["list_id"] == groceries["id"]


def test_a_list_the_user_does_not_hold_is_422_naming_list_id(
    api: Api, alice: User, bob: User
) -> None:
    bobs = create_list(api, bob, name="Bob's")
    task = create_task(api, alice, title="mine")
    missing = 987654321

    for list_id in (bobs["id"], missing):
        created = post_task(api, alice, {"title": "x", "list_id": list_id})
        patched = patch_task(api, alice, task["id"], {"list_id": list_id})
        replaced = api.request(
            "PUT",
            alice.task_path(task["id"]),
            token=alice.token,
            json={"title": "x", "list_id": list_id},
        )
        for response in (created, patched, replaced):
            assert response.status_code == 422, response.text
            assert names_location(response, "body", "list_id")
    assert read_task(api, alice, task["id"]) == task
    assert tasks_in(api, bob, bobs["id"]) == []


def test_another_users_list_is_404_for_every_operation(api: Api, alice: User, bob: User) -> None:
    bobs = create_list(api, bob, name="Bob's")
    path = alice.list_path(bobs["id"])

    answers = [
        api.request("GET", path, token=alice.token),
        api.request("PATCH", path, token=alice.token, json={"name": "mine"}),
        api.request("PUT", path, token=alice.token, json={"name": "mine"}),
        delete_list(api, alice, bobs["id"], "delete"),
    ]

    for response in answers:
        assert response.status_code == 404, response.text
        assert response.json()["message"] == "List not found."
    assert api.request("GET", bob.list_path(bobs["id"]), token=bob.token).json() == bobs
    assert tasks_in(api, alice, bobs["id"]) == []


# Deleting a list


def test_deleting_a_list_needs_to_be_told_what_becomes_of_its_tasks(api: Api, alice: User) -> None:
    made = create_list(api, alice, name="Work")

    response = api.request("DELETE", alice.list_path(made["id"]), token=alice.token)

    assert response.status_code == 422
    assert names_location(response, "query", "tasks")
    assert api.request("GET", alice.list_path(made["id"]), token=alice.token).status_code == 200


def test_deleting_a_list_with_its_tasks_deletes_them_and_sync_reports_both(
    api: Api, alice: User
) -> None:
    made = create_list(api, alice, name="Work")
    doomed = [create_task(api, alice, title=f"w{n}", list_id=made["id"]) for n in range(3)]
    kept = create_task(api, alice, title="elsewhere")
    token = sync(api, alice).token

    response = delete_list(api, alice, made["id"], "delete")

    assert response.status_code == 204
    assert api.request("GET", alice.list_path(made["id"]), token=alice.token).status_code == 404
    for task in doomed:
        assert api.request("GET", alice.task_path(task["id"]), token=alice.token).status_code == 404
    assert read_task(api, alice, kept["id"]) == kept
    changes = sync(api, alice, since=token)
    assert changes.deleted_lists == [made["id"]]
    assert sorted(changes.deleted) == sorted(task["id"] for task in doomed)
    assert (changes.items, changes.lists) == ([], [])


def test_deleting_a_list_moving_its_tasks_keeps_their_ids_in_the_inbox(
    api: Api, alice: User
) -> None:
    made = create_list(api, alice, name="Work")
    tasks = [create_task(api, alice, title=f"w{n}", list_id=made["id"]) for n in range(3)]
    token = sync(api, alice).token

    response = delete_list(api, alice, made["id"], "move_to_inbox")

    assert response.status_code == 204
    inbox = inbox_of(api, alice)
    moved = {task["id"]: task for task in tasks_in(api, alice, inbox["id"])}
    assert sorted(moved) == sorted(task["id"] for task in tasks)
    for task in tasks:
        assert moved[task["id"]]["version"] == task["version"] + 1
        assert moved[task["id"]]["title"] == task["title"]
    changes = sync(api, alice, since=token)
    assert changes.deleted_lists == [made["id"]]
    assert sorted(task["id"] for task in changes.items) == sorted(moved)
    assert changes.deleted == []


def test_deleting_an_empty_list_frees_a_place_and_leaves_the_others(api: Api, alice: User) -> None:
    first = create_list(api, alice, name="a")
    second = create_list(api, alice, name="b")

    assert delete_list(api, alice, first["id"], "delete").status_code == 204

    assert [item["id"] for item in all_lists(api, alice)][1:] == [second["id"]]


# Delta sync


def test_a_sync_reports_lists_made_and_changed_since_the_token(api: Api, alice: User) -> None:
    first = sync(api, alice)
    made = create_list(api, alice, name="Work")
    renamed = api.request(
        "PATCH", alice.list_path(made["id"]), token=alice.token, json={"name": "Job"}
    ).json()

    changes = sync(api, alice, since=first.token)

    assert first.lists == [inbox_of(api, alice)]
    assert changes.lists == [renamed]
    assert (changes.items, changes.deleted, changes.deleted_lists) == ([], [], [])


def test_a_list_and_the_tasks_put_in_it_come_list_first(api: Api, alice: User) -> None:
    made = create_list(api, alice, name="Work")
    create_task(api, alice, title="w", list_id=made["id"])

    pages = sync(api, alice, limit=1).pages

    kinds = [
        "list" if page["lists"] else "task" for page in pages if page["lists"] or page["items"]
    ]
    assert kinds == ["list", "list", "task"]
