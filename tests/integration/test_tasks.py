"""Each task operation's happy path, and the 404 of each one that names a task."""

import pytest

from tests.conftest import Api, User

MISSING_TASK_ID = 987654321


def create(api: Api, user: User, **body: object) -> dict[str, object]:
    response = api.request("POST", user.tasks_path, token=user.token, json=body)
    assert response.status_code == 201, response.text
    task: dict[str, object] = response.json()
    return task


def test_create_task_returns_201_with_location_and_defaults(api: Api, alice: User) -> None:
    response = api.request("POST", alice.tasks_path, token=alice.token, json={"title": "Buy milk"})

    assert response.status_code == 201
    task = response.json()
    assert response.headers["Location"] == alice.task_path(task["id"])
    assert task["user_id"] == alice.id
    assert task["title"] == "Buy milk"
    assert task["description"] is None
    assert task["completed"] is False
    assert task["created_at"] == task["updated_at"]
    assert task["created_at"].endswith("Z")


def test_created_task_is_found_at_its_location(api: Api, alice: User) -> None:
    created = api.request(
        "POST", alice.tasks_path, token=alice.token, json={"title": "t", "description": "d"}
    )

    fetched = api.request("GET", created.headers["Location"], token=alice.token)

    assert fetched.status_code == 200
    assert fetched.json() == created.json()


def test_list_is_an_object_with_items_newest_first(api: Api, alice: User) -> None:
    first = create(api, alice, title="first")
    second = create(api, alice, title="second")

    response = api.request("GET", alice.tasks_path, token=alice.token)

    assert response.status_code == 200
    assert response.json() == {"items": [second, first], "next_cursor": None}


def test_list_of_a_user_without_tasks_is_empty(api: Api, alice: User) -> None:
    response = api.request("GET", alice.tasks_path, token=alice.token)

    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


def test_text_round_trips_unchanged(api: Api, alice: User) -> None:
    body = {"title": "  Ünïcödé 🚀\ttitle  ", "description": "line one\r\nline two\t" + "é" * 900}

    task = create(api, alice, **body)

    fetched = api.request("GET", alice.task_path(str(task["id"])), token=alice.token).json()
    assert (fetched["title"], fetched["description"]) == (body["title"], body["description"])


def test_title_of_200_characters_is_accepted(api: Api, alice: User) -> None:
    assert create(api, alice, title="x" * 200)["title"] == "x" * 200


def test_replace_sets_fields_and_omitted_description_becomes_null(api: Api, alice: User) -> None:
    task = create(api, alice, title="old", description="old description")

    response = api.request(
        "PUT", alice.task_path(str(task["id"])), token=alice.token, json={"title": "new"}
    )

    assert response.status_code == 200
    replaced = response.json()
    assert replaced["title"] == "new"
    assert replaced["description"] is None
    assert replaced["completed"] is False
    assert replaced["created_at"] == task["created_at"]
    assert replaced["updated_at"] > str(task["updated_at"])


def test_replace_keeps_completion(api: Api, alice: User) -> None:
    task = create(api, alice, title="t")
    api.request("PATCH", alice.task_path(f"{task['id']}/complete"), token=alice.token)

    replaced = api.request(
        "PUT", alice.task_path(str(task["id"])), token=alice.token, json={"title": "u"}
    ).json()

    assert replaced["completed"] is True


def test_toggle_completion_flips_back_and_forth(api: Api, alice: User) -> None:
    task = create(api, alice, title="t")
    path = alice.task_path(f"{task['id']}/complete")

    first = api.request("PATCH", path, token=alice.token)
    second = api.request("PATCH", path, token=alice.token)

    assert (first.status_code, first.json()["completed"]) == (200, True)
    assert (second.status_code, second.json()["completed"]) == (200, False)
    assert first.json()["updated_at"] > str(task["updated_at"])


def test_delete_answers_204_with_an_empty_body_and_the_task_is_gone(api: Api, alice: User) -> None:
    task = create(api, alice, title="t")

    response = api.request("DELETE", alice.task_path(str(task["id"])), token=alice.token)

    assert response.status_code == 204
    assert response.content == b""
    gone = api.request("GET", alice.task_path(str(task["id"])), token=alice.token)
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"title": "t"}),
        ("DELETE", "", None),
        ("PATCH", "/complete", None),
    ],
)
def test_missing_task_is_404(
    api: Api, alice: User, method: str, suffix: str, body: dict[str, str] | None
) -> None:
    response = api.request(
        method, alice.task_path(f"{MISSING_TASK_ID}{suffix}"), token=alice.token, json=body
    )

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Task not found.", "details": None}
