"""Writing tasks in the tests of version 1.1: create, read back, entity tags, requests at once."""

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from tests.conftest import Api, User

Task = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"


def etag(version: int) -> str:
    """The strong entity tag of a task at `version`."""
    return f'"{version}"'


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def post_task(
    api: Api, user: User, body: Any, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return api.request("POST", user.tasks_path, token=user.token, json=body, headers=headers)


def create_task(api: Api, user: User, **body: Any) -> Task:
    response = post_task(api, user, body)
    assert response.status_code == 201, response.text
    task: Task = response.json()
    return task


def read_task(api: Api, user: User, task_id: int) -> Task:
    response = api.request("GET", user.task_path(task_id), token=user.token)
    assert response.status_code == 200, response.text
    task: Task = response.json()
    return task


def patch_task(
    api: Api,
    user: User,
    task_id: int,
    body: Any,
    *,
    media_type: str | None = MERGE_PATCH,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """PATCH the task with `body` as JSON text declared as `media_type` (none when None)."""
    all_headers = dict(headers or {})
    if media_type is not None:
        all_headers["Content-Type"] = media_type
    return api.request(
        "PATCH",
        user.task_path(task_id),
        token=user.token,
        content=json.dumps(body).encode(),
        headers=all_headers,
    )


def list_all_tasks(api: Api, user: User) -> list[Task]:
    """Every task of `user`, walking every page of the list."""
    tasks: list[Task] = []
    cursor: str | None = None
    while True:
        query = "?limit=100" + (f"&cursor={cursor}" if cursor else "")
        response = api.request("GET", user.tasks_path + query, token=user.token)
        assert response.status_code == 200, response.text
        page = response.json()
        tasks.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return tasks


def error_locations(response: httpx.Response) -> list[list[Any]]:
    """The `location` of each problem a 422 `validation_failed` names."""
    error = response.json()
    assert error["error"] == "validation_failed", error
    return [problem["location"] for problem in error["details"]]


def names_location(response: httpx.Response, *location: Any) -> bool:
    """Whether some problem of a 422 is at `location` or inside it."""
    prefix = list(location)
    return any(found[: len(prefix)] == prefix for found in error_locations(response))


@dataclass(frozen=True)
class Call:
    """One request of a batch sent at once."""

    method: str
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def send_concurrently(api: Api, user: User, calls: Sequence[Call]) -> list[httpx.Response]:
    """All `calls` at the same time, as `user`, each on its own connection; each answer is
    checked against the contract. The answers come in the order of `calls`."""

    async def send() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=str(api.http.base_url),
            timeout=30,
            limits=limits,
            headers={"Authorization": f"Bearer {user.token}"},
        ) as client:
            return await asyncio.gather(
                *(
                    client.request(call.method, call.path, json=call.json, headers=call.headers)
                    for call in calls
                )
            )

    responses = asyncio.run(send())
    for response in responses:
        api.contract.assert_conforms(response)
    return responses
