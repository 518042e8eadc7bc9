"""Delta sync (`GET /api/{user_id}/tasks/changes`): a client that follows the pages and sends the
last page's `sync_token` back as `since` never misses a change, whatever order writes commit in.

Duplicates are allowed (a client applies items by id and version), so the concurrent cases compare
a replica kept that way with the list; the quiet cases pin exactly what is reported.
"""

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest

from impl.db.migrations import connect
from tests.conftest import LOG_DIR, Api, User, service_settings
from tests.support.contract import Contract
from tests.support.postgres import PostgresServer, target
from tests.support.server import running_service
from tests.support.sync import Replica, Task, changes_path, list_all, sync

SEED = 20261129
WRITERS = 4
OPERATIONS_PER_WRITER = 60
PAGE_SIZES = (1, 2, 3, 7)
PRIORITIES = ("low", "medium", "high", "urgent")
TAGS = ("home", "work", "errands", "later", "phone")
# What the service runs for a change of title: the row is stamped with its transaction's id.
LATE_UPDATE = """
UPDATE tasks SET title = 'late', version = version + 1, updated_at = clock_timestamp(),
                 changed_xid = pg_current_xact_id()
WHERE user_id = $1 AND id = $2
"""
RETENTION_SECONDS = 2


def create(api: Api, user: User, **body: Any) -> Task:
    response = api.request("POST", user.tasks_path, token=user.token, json=body)
    assert response.status_code == 201, response.text
    task: Task = response.json()
    return task


def patch(api: Api, user: User, task_id: int, **body: Any) -> Task:
    response = api.request("PATCH", user.task_path(task_id), token=user.token, json=body)
    assert response.status_code == 200, response.text
    task: Task = response.json()
    return task


def toggle(api: Api, user: User, task_id: int) -> Task:
    response = api.request("PATCH", f"{user.task_path(task_id)}/complete", token=user.token)
    assert response.status_code == 200, response.text
    task: Task = response.json()
    return task


def delete(api: Api, user: User, task_id: int) -> None:
    response = api.request("DELETE", user.task_path(task_id), token=user.token)
    assert response.status_code == 204, response.text


def get(api: Api, user: User, task_id: int) -> Task:
    response = api.request("GET", user.task_path(task_id), token=user.token)
    assert response.status_code == 200, response.text
    task: Task = response.json()
    return task


def by_id(tasks: list[Task]) -> dict[int, Task]:
    return {task["id"]: task for task in tasks}


def tampered(token: str) -> str:
    """`token` with one character changed, in the middle of a segment (where every bit counts)."""
    inner = [
        index
        for index in range(1, len(token) - 1)
        if "." not in (token[index - 1], token[index], token[index + 1])
    ]
    index = inner[len(inner) // 2]
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


def assert_error(response: httpx.Response, status: int, error: str, details: Any = ...) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    if details is not ...:
        assert body["details"] == details


# First sync


def test_first_sync_without_since_returns_every_task_in_pages_and_no_deleted_ids(
    api: Api, alice: User, bob: User
) -> None:
    tasks = [create(api, alice, title=f"task {n}") for n in range(7)]
    patch(api, alice, tasks[1]["id"], title="renamed", priority="high", tags=["home"])
    toggle(api, alice, tasks[2]["id"])
    delete(api, alice, tasks[3]["id"])
    create(api, bob, title="bob's")

    first = sync(api, alice, limit=2)

    # Paged like the list, tasks and lists together (the Inbox came with the first task): full
    # pages, the cursor on every page but the last, the token only there.
    assert [len(page["items"]) + len(page["lists"]) for page in first.pages] == [2, 2, 2, 1]
    assert [page["next_cursor"] is None for page in first.pages] == [False, False, False, True]
    assert [page["sync_token"] is None for page in first.pages] == [True, True, True, False]
    assert [todo_list["is_inbox"] for todo_list in first.lists] == [True]
    assert first.deleted == []
    ids = [task["id"] for task in first.items]
    assert len(ids) == len(set(ids)), "a quiet first sync returns each task once"
    assert by_id(first.items) == list_all(api, alice)
    assert by_id(first.items)[tasks[1]["id"]]["title"] == "renamed"
    assert tasks[3]["id"] not in by_id(first.items)


def test_first_sync_of_a_user_without_tasks_is_one_page_of_the_inbox_with_a_token(
    api: Api, alice: User, bob: User
) -> None:
    create(api, bob, title="bob's")

    response = api.request("GET", changes_path(alice), token=alice.token)

    assert response.status_code == 200
    page = response.json()
    assert (page["items"], page["deleted"], page["next_cursor"]) == ([], [], None)
    assert [(item["name"], item["is_inbox"]) for item in page["lists"]] == [("Inbox", True)]
    assert page["sync_token"]


# Sync with a token


def test_sync_with_token_returns_exactly_the_tasks_changed_since_as_they_are_now(
    api: Api, alice: User, bob: User
) -> None:
    renamed, toggled_twice, removed, untouched = (
        create(api, alice, title=title) for title in ("renamed", "toggled", "removed", "untouched")
    )
    bobs = create(api, bob, title="bob's")
    token = sync(api, alice).token
    patch(api, alice, renamed["id"], title="first rename")
    patch(api, alice, renamed["id"], title="second rename", description="now described")
    toggle(api, alice, toggled_twice["id"])
    toggle(api, alice, toggled_twice["id"])
    added = create(api, alice, title="added", tags=["work"])
    delete(api, alice, removed["id"])
    delete(api, bob, bobs["id"])
    create(api, bob, title="bob's new")

    changes = sync(api, alice, since=token)

    assert sorted(task["id"] for task in changes.items) == sorted(
        [renamed["id"], toggled_twice["id"], added["id"]]
    )
    assert by_id(changes.items) == {
        task_id: get(api, alice, task_id)
        for task_id in (renamed["id"], toggled_twice["id"], added["id"])
    }
    assert by_id(changes.items)[renamed["id"]]["version"] == 3
    assert changes.deleted == [removed["id"]]
    assert untouched["id"] not in by_id(changes.items)


def test_sync_when_nothing_changed_is_empty_with_a_token_that_keeps_working(
    api: Api, alice: User
) -> None:
    create(api, alice, title="a")
    create(api, alice, title="b")
    first = sync(api, alice, limit=1)

    quiet = sync(api, alice, since=first.token, limit=1)

    assert len(quiet.pages) == 1
    assert (quiet.items, quiet.deleted) == ([], [])
    assert quiet.token
    still_quiet = sync(api, alice, since=quiet.token)
    assert (still_quiet.items, still_quiet.deleted) == ([], [])
    later = create(api, alice, title="later")
    assert sync(api, alice, since=quiet.token).items == [later]


def test_changes_since_a_token_are_paged_with_a_small_limit(api: Api, alice: User) -> None:
    tasks = [create(api, alice, title=f"task {n}") for n in range(8)]
    token = sync(api, alice).token
    changed = [patch(api, alice, task["id"], title="changed") for task in tasks[:3]]
    for task in tasks[3:]:
        delete(api, alice, task["id"])

    changes = sync(api, alice, since=token, limit=2)

    assert len(changes.pages) > 1
    assert all(len(page["items"]) <= 2 for page in changes.pages)
    assert by_id(changes.items) == by_id(changed)
    assert sorted(changes.deleted) == sorted(task["id"] for task in tasks[3:])


# Deletions


def test_deleted_task_is_reported_by_id_and_never_as_an_item(api: Api, alice: User) -> None:
    kept = create(api, alice, title="kept")
    doomed = create(api, alice, title="doomed")
    replica = Replica(alice)
    replica.sync(api)
    patch(api, alice, doomed["id"], title="changed before it goes")
    delete(api, alice, doomed["id"])

    changes = replica.sync(api)

    assert changes.deleted == [doomed["id"]]
    assert doomed["id"] not in by_id(changes.items)
    assert replica.tasks == {kept["id"]: kept}


def test_task_created_and_deleted_between_two_syncs_is_never_an_item(api: Api, alice: User) -> None:
    kept = create(api, alice, title="kept")
    token = sync(api, alice).token
    ephemeral = create(api, alice, title="here and gone")
    patch(api, alice, ephemeral["id"], title="changed")
    delete(api, alice, ephemeral["id"])

    changes = sync(api, alice, since=token)

    assert changes.items == []
    assert set(changes.deleted) <= {ephemeral["id"]}
    assert kept["id"] not in changes.deleted


# Concurrent writers


def write_randomly(service_url: str, contract: Contract, user: User, seed: int) -> None:
    """Creates, changes, completes and deletes tasks of its own, in an order drawn from `seed`."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible order, not a secret)
    with httpx.Client(base_url=service_url, timeout=30) as http:
        api = Api(http, contract)
        own: list[int] = []
        body: dict[str, Any]
        for n in range(OPERATIONS_PER_WRITER):
            operation = (
                "create"
                if not own or rng.random() < 0.3
                else rng.choice(("update", "replace", "toggle", "set", "delete"))
            )
            if operation == "create":
                own.append(create(api, user, title=f"writer {seed} task {n}")["id"])
                continue
            task_id = rng.choice(own)
            path = user.task_path(task_id)
            if operation == "update":
                body = {"title": f"writer {seed} update {n}", "priority": rng.choice(PRIORITIES)}
                response = api.request("PATCH", path, token=user.token, json=body)
            elif operation == "replace":
                body = {"title": f"writer {seed} replace {n}", "tags": rng.sample(TAGS, 2)}
                response = api.request("PUT", path, token=user.token, json=body)
            elif operation == "toggle":
                response = api.request("PATCH", f"{path}/complete", token=user.token)
            elif operation == "set":
                body = {"completed": rng.random() < 0.5}
                response = api.request("PATCH", f"{path}/complete", token=user.token, json=body)
            else:
                own.remove(task_id)
                response = api.request("DELETE", path, token=user.token)
            assert response.status_code in (200, 204), response.text


def test_replica_kept_by_syncs_during_concurrent_writes_equals_the_list(
    api: Api, service_url: str, contract: Contract, alice: User
) -> None:
    for n in range(10):
        create(api, alice, title=f"before {n}")
    rng = random.Random(SEED)  # noqa: S311 (reproducible page sizes, not a secret)
    replica = Replica(alice)

    syncs_during_writes = 0
    with ThreadPoolExecutor(WRITERS) as pool:
        writers = [
            pool.submit(write_randomly, service_url, contract, alice, SEED + number)
            for number in range(WRITERS)
        ]
        while not all(writer.done() for writer in writers):
            replica.sync(api, limit=rng.choice(PAGE_SIZES))
            syncs_during_writes += 1
        for writer in writers:
            writer.result()
    replica.sync(api, limit=3)

    assert syncs_during_writes >= 2, "the syncs ran while the writers wrote"
    assert replica.tasks == list_all(api, alice)
    after = sync(api, alice, since=replica.token)
    assert (after.items, after.deleted) == ([], [])


class HeldTransaction:
    """A transaction on a connection of its own, kept open across HTTP requests until commit."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._runner = asyncio.Runner()
        self._connection: asyncpg.Connection | None = None

    def __enter__(self) -> "HeldTransaction":
        self._runner.__enter__()
        self._connection = self._runner.run(connect(target(self._database_url)))
        self.execute("BEGIN")
        return self

    def execute(self, statement: str, *arguments: Any) -> str:
        assert self._connection is not None
        status: str = self._runner.run(self._connection.execute(statement, *arguments))
        return status

    def commit(self) -> None:
        self.execute("COMMIT")

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._connection is not None:
                self._runner.run(self._connection.close())
        finally:
            self._runner.__exit__(None, None, None)


def test_write_that_commits_after_a_newer_reported_write_is_reported_by_the_next_sync(
    api: Api, database_url: str, alice: User
) -> None:
    late = create(api, alice, title="held back")
    early = create(api, alice, title="early")
    replica = Replica(alice)
    replica.sync(api)

    with HeldTransaction(database_url) as held:
        # This transaction writes first (the older transaction id) but commits last.
        assert held.execute(LATE_UPDATE, alice.id, late["id"]) == "UPDATE 1"
        changed = patch(api, alice, early["id"], title="changed")
        seen = replica.sync(api)
        assert changed in seen.items
        assert replica.tasks[late["id"]]["title"] == "held back"
        held.commit()

    after = replica.sync(api)

    assert late["id"] in by_id(after.items)
    assert replica.tasks[late["id"]]["title"] == "late"
    assert replica.tasks[late["id"]]["version"] == 2
    assert replica.tasks == list_all(api, alice)


# Bad tokens and cursors


@dataclass(frozen=True)
class Issued:
    """Tokens and cursors the service gave alice and bob."""

    alice_token: str
    alice_newer_token: str
    bob_token: str
    first_sync_cursor: str
    since_cursor: str
    bob_cursor: str
    list_cursor: str


@pytest.fixture
def issued(api: Api, alice: User, bob: User) -> Issued:
    for n in range(3):
        create(api, alice, title=f"alice {n}")
        create(api, bob, title=f"bob {n}")
    alice_token = sync(api, alice).token
    for n in range(3):
        create(api, alice, title=f"alice later {n}")

    def first_cursor(user: User, since: str | None = None) -> str:
        path = changes_path(user, since=since, limit=1)
        cursor: str = api.request("GET", path, token=user.token).json()["next_cursor"]
        assert cursor
        return cursor

    listed = api.request("GET", f"{alice.tasks_path}?limit=1", token=alice.token).json()
    return Issued(
        alice_token=alice_token,
        alice_newer_token=sync(api, alice).token,
        bob_token=sync(api, bob).token,
        first_sync_cursor=first_cursor(alice),
        since_cursor=first_cursor(alice, alice_token),
        bob_cursor=first_cursor(bob),
        list_cursor=listed["next_cursor"],
    )


BAD_SINCE: dict[str, Callable[[Issued], str]] = {
    "tampered": lambda issued: tampered(issued.alice_token),
    "truncated by one character": lambda issued: issued.alice_token[:-1],
    "cut in half": lambda issued: issued.alice_token[: len(issued.alice_token) // 2],
    "another user's": lambda issued: issued.bob_token,
    "made up": lambda issued: "not-a-sync-token",
    "a cursor": lambda issued: issued.first_sync_cursor,
}


@pytest.mark.parametrize("bad", BAD_SINCE.values(), ids=BAD_SINCE.keys())
def test_since_not_issued_to_this_user_is_400_invalid_sync_token(
    api: Api, alice: User, issued: Issued, bad: Callable[[Issued], str]
) -> None:
    response = api.request("GET", changes_path(alice, since=bad(issued)), token=alice.token)

    assert_error(response, 400, "invalid_sync_token", {"parameter": "since"})


BAD_CURSOR: dict[str, Callable[[Issued], tuple[str | None, str]]] = {
    "tampered": lambda issued: (None, tampered(issued.first_sync_cursor)),
    "truncated by one character": lambda issued: (None, issued.first_sync_cursor[:-1]),
    "cut in half": lambda issued: (None, issued.first_sync_cursor[:10]),
    "another user's": lambda issued: (None, issued.bob_cursor),
    "from the list": lambda issued: (None, issued.list_cursor),
    "a sync token": lambda issued: (None, issued.alice_token),
    "first sync's, sent with a since": lambda issued: (
        issued.alice_token,
        issued.first_sync_cursor,
    ),
    "with another since": lambda issued: (issued.alice_newer_token, issued.since_cursor),
    "without its since": lambda issued: (None, issued.since_cursor),
}


@pytest.mark.parametrize("bad", BAD_CURSOR.values(), ids=BAD_CURSOR.keys())
def test_cursor_not_given_by_this_sync_is_400_invalid_cursor(
    api: Api, alice: User, issued: Issued, bad: Callable[[Issued], tuple[str | None, str]]
) -> None:
    since, cursor = bad(issued)

    response = api.request(
        "GET", changes_path(alice, since=since, limit=1, cursor=cursor), token=alice.token
    )

    assert_error(response, 400, "invalid_cursor", {"parameter": "cursor"})


def test_sync_cursor_is_not_a_list_cursor(api: Api, alice: User, issued: Issued) -> None:
    query = urlencode({"cursor": issued.first_sync_cursor})

    response = api.request("GET", f"{alice.tasks_path}?{query}", token=alice.token)

    assert_error(response, 400, "invalid_cursor", {"parameter": "cursor"})


# Retention


@pytest.fixture
def short_retention_api(postgres: PostgresServer, contract: Contract) -> Iterator[Api]:
    """The service keeping deleted ids (and honouring tokens) for two seconds only."""
    settings = {"SYNC_RETENTION": str(RETENTION_SECONDS)}
    with (
        postgres.fresh_database("taskapi_sync") as url,
        running_service(
            service_settings(url, **settings), LOG_DIR / "service-sync-retention.log"
        ) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as http,
    ):
        yield Api(http, contract)


def test_token_older_than_the_retention_is_410_and_a_sync_from_scratch_still_works(
    short_retention_api: Api, alice: User
) -> None:
    api = short_retention_api
    task = create(api, alice, title="kept")
    token = sync(api, alice).token
    assert sync(api, alice, since=token).items == []

    time.sleep(RETENTION_SECONDS + 1)
    expired = api.request("GET", changes_path(alice, since=token), token=alice.token)

    assert_error(expired, 410, "sync_token_expired")
    from_scratch = sync(api, alice)
    assert from_scratch.items == [task]
    assert sync(api, alice, since=from_scratch.token).items == []
