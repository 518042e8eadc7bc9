"""A user sees and changes only their own tasks: 403 on another user's URL, 404 on their ids."""

import pytest

from tests.conftest import Api, User
from tests.support.operations import OPERATIONS, TASK_OPERATIONS, Operation, ids


def create_task(api: Api, user: User, title: str = "private") -> dict[str, object]:
    response = api.request("POST", user.tasks_path, token=user.token, json={"title": title})
    assert response.status_code == 201
    task: dict[str, object] = response.json()
    return task


@pytest.mark.parametrize("operation", OPERATIONS, ids=ids)
def test_token_for_another_user_is_403(
    api: Api, alice: User, bob: User, operation: Operation
) -> None:
    bobs_task = create_task(api, bob)

    response = api.request(
        operation.method,
        operation.path(bob.id, str(bobs_task["id"])),
        token=alice.token,
        json=operation.body,
    )

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    unchanged = api.request("GET", bob.task_path(str(bobs_task["id"])), token=bob.token)
    assert unchanged.json() == bobs_task
    listing = api.request("GET", bob.tasks_path, token=bob.token).json()
    assert listing == {"items": [bobs_task], "next_cursor": None}


@pytest.mark.parametrize("operation", TASK_OPERATIONS, ids=ids)
def test_other_users_task_under_own_url_is_404(
    api: Api, alice: User, bob: User, operation: Operation
) -> None:
    bobs_task = create_task(api, bob)

    response = api.request(
        operation.method,
        operation.path(alice.id, str(bobs_task["id"])),
        token=alice.token,
        json=operation.body,
    )

    assert response.status_code == 404
    missing = api.request(
        operation.method,
        operation.path(alice.id, 987654321),
        token=alice.token,
        json=operation.body,
    )
    assert response.json() == missing.json(), "must not reveal that the task exists"
    unchanged = api.request("GET", bob.task_path(str(bobs_task["id"])), token=bob.token)
    assert unchanged.json() == bobs_task


def test_list_shows_only_own_tasks(api: Api, alice: User, bob: User) -> None:
    alices = create_task(api, alice, "alice's")
    create_task(api, bob, "bob's")

    listing = api.request("GET", alice.tasks_path, token=alice.token).json()

    assert listing == {"items": [alices], "next_cursor": None}
