"""Task lists in the tests: create, read back, walk every page, the Inbox."""

from typing import Any

import httpx

from tests.conftest import Api, User

TodoList = dict[str, Any]


def post_list(
    api: Api, user: User, body: Any, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return api.request("POST", user.lists_path, token=user.token, json=body, headers=headers)


def create_list(api: Api, user: User, **body: Any) -> TodoList:
    response = post_list(api, user, body)
    assert response.status_code == 201, response.text
    todo_list: TodoList = response.json()
    return todo_list


def all_lists(api: Api, user: User, query: str = "") -> list[TodoList]:
    """Every page of the user's lists, in the order given."""
    lists: list[TodoList] = []
    path = f"{user.lists_path}?{query}&limit=2" if query else f"{user.lists_path}?limit=2"
    cursor: str | None = None
    while True:
        page_path = path if cursor is None else f"{path}&cursor={cursor}"
        response = api.request("GET", page_path, token=user.token)
        assert response.status_code == 200, response.text
        page = response.json()
        lists += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return lists


def inbox_of(api: Api, user: User) -> TodoList:
    inboxes = [todo_list for todo_list in all_lists(api, user) if todo_list["is_inbox"]]
    assert len(inboxes) == 1, inboxes
    return inboxes[0]


def delete_list(
    api: Api, user: User, list_id: int, tasks: str, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return api.request(
        "DELETE", f"{user.list_path(list_id)}?tasks={tasks}", token=user.token, headers=headers
    )


def tasks_in(api: Api, user: User, list_id: int) -> list[dict[str, Any]]:
    response = api.request(
        "GET", f"{user.tasks_path}?list_id={list_id}&limit=100", token=user.token
    )
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[dict[str, Any]] = response.json()["items"]
    return items
