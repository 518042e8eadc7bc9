"""Two replicas on one database behave as one: the state lives in PostgreSQL, not in a process.

Both start at the same moment on an empty database (so both try to migrate), then the same
requests are spread over the two: idempotent creates, concurrent toggles, conditional updates,
cursors and sync tokens issued by one and used on the other.
"""

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from typing import Any

import asyncpg
import httpx
import pytest

from impl.db.migrations import load_migrations
from tests.conftest import LOG_DIR, User, new_user, service_settings
from tests.support.contract import Contract
from tests.support.postgres import PostgresServer, target
from tests.support.server import running_service

CONCURRENT = 20


@pytest.fixture(scope="module")
def replicas(postgres: PostgresServer) -> Iterator[tuple[list[str], str]]:
    """Two services started together on one fresh database; yields their URLs and the database's."""
    with postgres.fresh_database("taskapi_replicas") as database_url, ExitStack() as stack:
        settings = service_settings(database_url)
        starting: list[AbstractContextManager[str]] = [
            running_service(settings, LOG_DIR / f"service-replica-{n}.log") for n in (1, 2)
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(service.__enter__) for service in starting]
        # Every replica that came up is stopped at the end, even if the other did not.
        for service, future in zip(starting, futures, strict=True):
            if future.exception() is None:
                stack.push(service)
        yield [future.result() for future in futures], database_url


def applied_migrations(database_url: str) -> list[int]:
    async def fetch() -> list[int]:
        connection = await asyncpg.connect(target(database_url).dsn)
        try:
            return [
                row[0] for row in await connection.fetch("SELECT version FROM schema_migrations")
            ]
        finally:
            await connection.close()

    return asyncio.run(fetch())


def spread(
    urls: list[str],
    contract: Contract,
    user: User,
    calls: list[tuple[str, str, Any, dict[str, str]]],
) -> list[httpx.Response]:
    """Send `calls` at once, alternating between the replicas; answers in the order of `calls`."""

    async def send() -> list[httpx.Response]:
        clients = [
            httpx.AsyncClient(
                base_url=url,
                timeout=30,
                headers={"Authorization": f"Bearer {user.token}"},
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            for url in urls
        ]
        try:
            return await asyncio.gather(
                *(
                    clients[n % len(clients)].request(method, path, json=body, headers=headers)
                    for n, (method, path, body, headers) in enumerate(calls)
                )
            )
        finally:
            for client in clients:
                await client.aclose()

    responses = asyncio.run(send())
    for response in responses:
        contract.assert_conforms(response)
    return responses


def create(url: str, user: User, **body: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{url}{user.tasks_path}", json=body, headers={"Authorization": f"Bearer {user.token}"}
    )
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def test_replicas_starting_together_apply_each_migration_once(
    replicas: tuple[list[str], str],
) -> None:
    _, database_url = replicas

    assert sorted(applied_migrations(database_url)) == [m.version for m in load_migrations()]


def test_one_idempotency_key_on_both_replicas_creates_one_task(
    replicas: tuple[list[str], str], contract: Contract
) -> None:
    urls, _ = replicas
    user = new_user("replicated")
    key = {"Idempotency-Key": "same-key-on-every-replica"}
    calls = [("POST", user.tasks_path, {"title": "once"}, key)] * CONCURRENT

    answers = spread(urls, contract, user, calls)

    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    listing = httpx.get(
        f"{urls[1]}{user.tasks_path}", headers={"Authorization": f"Bearer {user.token}"}
    ).json()
    assert len(listing["items"]) == 1


def test_toggles_spread_over_both_replicas_lose_no_update(
    replicas: tuple[list[str], str], contract: Contract
) -> None:
    urls, _ = replicas
    user = new_user("replicated")
    task = create(urls[0], user, title="t")
    toggle: tuple[str, str, Any, dict[str, str]] = (
        "PATCH",
        f"{user.task_path(task['id'])}/complete",
        None,
        {},
    )
    calls = [toggle] * CONCURRENT

    answers = spread(urls, contract, user, calls)

    assert {answer.status_code for answer in answers} == {200}
    final = httpx.get(
        f"{urls[1]}{user.task_path(task['id'])}", headers={"Authorization": f"Bearer {user.token}"}
    ).json()
    assert final["version"] == task["version"] + CONCURRENT
    assert final["completed"] is task["completed"]


def test_conditional_updates_on_both_replicas_let_exactly_one_through(
    replicas: tuple[list[str], str], contract: Contract
) -> None:
    urls, _ = replicas
    user = new_user("replicated")
    task = create(urls[1], user, title="t")
    if_match = {"If-Match": f'"{task["version"]}"'}
    calls = [
        ("PATCH", user.task_path(task["id"]), {"title": f"writer {n}"}, if_match)
        for n in range(CONCURRENT)
    ]

    answers = spread(urls, contract, user, calls)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [412] * (CONCURRENT - 1)


def test_a_cursor_and_a_sync_token_from_one_replica_work_on_the_other(
    replicas: tuple[list[str], str],
) -> None:
    urls, _ = replicas
    user = new_user("replicated")
    created = [create(urls[n % 2], user, title=f"task {n}")["id"] for n in range(5)]
    headers = {"Authorization": f"Bearer {user.token}"}

    first = httpx.get(f"{urls[0]}{user.tasks_path}?limit=3", headers=headers).json()
    second = httpx.get(
        f"{urls[1]}{user.tasks_path}?limit=3&cursor={first['next_cursor']}", headers=headers
    ).json()
    synced = httpx.get(f"{urls[0]}{user.tasks_path}/changes", headers=headers).json()
    create(urls[0], user, title="after the sync")
    changes = httpx.get(
        f"{urls[1]}{user.tasks_path}/changes?since={synced['sync_token']}", headers=headers
    ).json()

    walked = [t["id"] for t in first["items"]] + [t["id"] for t in second["items"]]
    # Newest first; ids are drawn at random, so the order is the creation order, reversed.
    assert walked == created[::-1]
    assert second["next_cursor"] is None
    assert [t["title"] for t in changes["items"]] == ["after the sync"]
