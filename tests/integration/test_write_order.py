"""Timestamps are the time of the write, so concurrent writers never make them disagree.

What a black-box review saw before: concurrent replaces stored an `updated_at` older than one
already returned for an earlier state, and "newest first" disagreed with `created_at` after
concurrent creates.
"""

import asyncio
from datetime import datetime
from typing import Any

import httpx

from tests.conftest import Api, User
from tests.support.contract import Contract

CONCURRENT_WRITES = 50


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def send_concurrently(
    service_url: str,
    contract: Contract,
    user: User,
    requests: list[tuple[str, str, dict[str, Any]]],
) -> list[httpx.Response]:
    """All `requests` (method, path, JSON body) at once, as `user`; each checked by the contract."""

    async def send() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=service_url, timeout=30, headers={"Authorization": f"Bearer {user.token}"}
        ) as client:
            return await asyncio.gather(
                *(client.request(method, path, json=body) for method, path, body in requests)
            )

    responses = asyncio.run(send())
    for response in responses:
        contract.assert_conforms(response)
    return responses


def test_after_concurrent_creates_newest_first_agrees_with_created_at(
    api: Api, service_url: str, contract: Contract, alice: User
) -> None:
    creates = [("POST", alice.tasks_path, {"title": f"task {n}"}) for n in range(CONCURRENT_WRITES)]

    created = send_concurrently(service_url, contract, alice, creates)
    listed = api.request("GET", alice.tasks_path, token=alice.token).json()["items"]

    assert [r.status_code for r in created] == [201] * CONCURRENT_WRITES
    order = [(at(task["created_at"]), task["id"]) for task in listed]
    assert order == sorted(order, reverse=True)
    assert {task["id"] for task in listed} == {r.json()["id"] for r in created}


def test_concurrent_replaces_never_move_updated_at_backwards(
    api: Api, service_url: str, contract: Contract, alice: User
) -> None:
    task = api.request("POST", alice.tasks_path, token=alice.token, json={"title": "t"}).json()
    path = alice.task_path(task["id"])
    replaces = [("PUT", path, {"title": f"version {n}"}) for n in range(CONCURRENT_WRITES)]

    replaced = [r.json() for r in send_concurrently(service_url, contract, alice, replaces)]
    final = api.request("GET", path, token=alice.token).json()

    # The state that stays is the last write, and it carries the latest time of all.
    latest = max(replaced, key=lambda answer: at(answer["updated_at"]))
    assert final == latest
    assert all(at(task["created_at"]) < at(answer["updated_at"]) for answer in replaced)
