"""Keyset paging of the task list: walks, page sizes, changes during a walk, and cursor misuse.

A walk follows `next_cursor` until it is null. It returns once, in the sort order, each task that
keeps its place while other requests create, change and delete tasks; a cursor is bound to its
user, sort and filters, and anything else done with it is 400 `invalid_cursor`.
"""

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Api, User
from tests.support.contract import Contract
from tests.support.listing import (
    SORTS,
    Filters,
    Params,
    Task,
    create,
    ids,
    in_sort_order,
    list_page,
    list_path,
    random_task_input,
    reference,
    rfc3339,
    seed_tasks,
    walk,
    walked_items,
)

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
INVALID_CURSOR = {"parameter": "cursor"}
PROGRESS_TIMEOUT_SECONDS = 10


def first_cursor(api: Api, user: User, params: Params) -> str:
    """The next_cursor of the first page of one task."""
    cursor = list_page(api, user, [*params, ("limit", "1")])["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def assert_invalid_cursor(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()
    assert (error["error"], error["details"]) == ("invalid_cursor", INVALID_CURSOR)


# --- Walks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", SORTS)
def test_walk_with_limit_3_returns_each_task_once_in_sort_order(
    api: Api, alice: User, sort: str
) -> None:
    tasks = seed_tasks(api, alice, count=17, seed=3)

    pages = walk(api, alice, [("sort", sort)], 3)

    assert ids(walked_items(pages)) == ids(reference(tasks, Filters(), sort))
    assert [len(page["items"]) for page in pages] == [3] * 5 + [2]
    assert all(isinstance(page["next_cursor"], str) for page in pages[:-1])
    assert pages[-1]["next_cursor"] is None


@pytest.mark.parametrize("sort", ["-created_at", "title", "-due_at"])
def test_last_page_of_exactly_limit_items_has_no_next_cursor(
    api: Api, alice: User, sort: str
) -> None:
    seed_tasks(api, alice, count=6, seed=6)

    pages = walk(api, alice, [("sort", sort)], 3)

    assert [len(page["items"]) for page in pages] == [3, 3]
    assert pages[-1]["next_cursor"] is None


def test_one_page_holding_every_task_has_no_next_cursor(api: Api, alice: User) -> None:
    tasks = seed_tasks(api, alice, count=5, seed=5)

    page = list_page(api, alice, [("limit", "5")])

    assert ids(page["items"]) == ids(reference(tasks, Filters(), "-created_at"))
    assert page["next_cursor"] is None


def test_empty_list_has_no_next_cursor(api: Api, alice: User) -> None:
    assert list_page(api, alice, [("limit", "1")]) == {"items": [], "next_cursor": None}


def test_default_limit_is_50(api: Api, alice: User) -> None:
    for n in range(51):
        create(api, alice, {"title": f"task {n}"})

    first = list_page(api, alice, [])
    second = list_page(api, alice, [("cursor", first["next_cursor"])])

    assert (len(first["items"]), len(second["items"])) == (50, 1)
    assert second["next_cursor"] is None


def test_limit_may_change_between_pages(api: Api, alice: User) -> None:
    tasks = seed_tasks(api, alice, count=30, seed=30)
    params = [("status", "all"), ("sort", "-due_at")]

    pages = walk(api, alice, params, [1, 5, 2, 7, 3, 100])

    assert ids(walked_items(pages)) == ids(reference(tasks, Filters(status="all"), "-due_at"))
    assert [len(page["items"]) for page in pages] == [1, 5, 2, 7, 3, 12]


def test_walk_with_filters_returns_only_matching_tasks_once(api: Api, alice: User) -> None:
    tasks = seed_tasks(api, alice, count=30, seed=31)
    filters = Filters(status="pending", overdue=False)

    pages = walk(api, alice, [*filters.params(), ("sort", "priority")], 2)

    assert ids(walked_items(pages)) == ids(reference(tasks, filters, "priority"))


# --- A walk while tasks are created and deleted -------------------------------------------------


class Churn:
    """Another client that creates a task and deletes one, over and over, until stopped."""

    def __init__(
        self, service_url: str, contract: Contract, user: User, doomed: list[int], seed: int
    ) -> None:
        self.service_url = service_url
        self.contract = contract
        self.user = user
        self.doomed = list(doomed)
        self.rng = random.Random(seed)  # noqa: S311 (reproducible tasks, not a secret)
        self.created: list[int] = []
        self.alive: list[int] = []
        self.deleted: list[int] = []
        self.rounds = 0
        self.failure: BaseException | None = None
        self._progress = threading.Condition()
        self._stop = threading.Event()

    @contextmanager
    def running(self) -> Iterator["Churn"]:
        thread = threading.Thread(target=self._run, name="churn", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=30)
        if self.failure is not None:
            raise self.failure

    def wait_for_a_round(self) -> None:
        """Block until the churn has finished one more round of create and delete."""
        with self._progress:
            start = self.rounds
            self._progress.wait_for(
                lambda: self.rounds > start or self.failure is not None,
                timeout=PROGRESS_TIMEOUT_SECONDS,
            )
        if self.failure is not None:
            raise AssertionError("the churn failed") from self.failure
        assert self.rounds > start, "the churn made no progress"

    def _run(self) -> None:
        try:
            with httpx.Client(base_url=self.service_url, timeout=10) as http:
                api = Api(http, self.contract)
                while not self._stop.is_set():
                    self._round(api)
        except BaseException as failure:  # handed to the test's thread
            self.failure = failure
        finally:
            with self._progress:
                self._progress.notify_all()

    def _round(self, api: Api) -> None:
        task = create(api, self.user, random_task_input(self.rng, NOW))
        self.created.append(task["id"])
        victims = self.doomed or self.alive
        self.alive.append(task["id"])
        if victims:
            victim = victims.pop(self.rng.randrange(len(victims)))
            response = api.request("DELETE", self.user.task_path(victim), token=self.user.token)
            assert response.status_code == 204, response.text
            self.deleted.append(victim)
        with self._progress:
            self.rounds += 1
            self._progress.notify_all()


@pytest.mark.parametrize("sort", SORTS)
def test_walk_during_creates_and_deletes_returns_no_task_twice_and_skips_no_lasting_one(
    api: Api, alice: User, service_url: str, contract: Contract, sort: str
) -> None:
    lasting = seed_tasks(api, alice, count=15, seed=15)
    doomed = seed_tasks(api, alice, count=6, seed=16)
    churn = Churn(service_url, contract, alice, ids(doomed), seed=17)

    with churn.running():
        pages = walk(api, alice, [("sort", sort)], 3, between_pages=churn.wait_for_a_round)

    walked = ids(walked_items(pages))
    assert len(walked) == len(set(walked)), "a task was returned twice"
    assert set(ids(lasting)) <= set(walked), "a task that existed for the whole walk was skipped"
    assert in_sort_order(walked_items(pages), sort)
    assert len(churn.created) >= len(pages) - 1
    assert len(churn.deleted) >= len(pages) - 1


def change_keeping_the_sort_field(rng: random.Random, sort: str) -> dict[str, Any]:
    """A merge patch of every editable field the sort does not order by (all of them may move
    `updated_at`, which every write changes)."""
    body = random_task_input(rng, NOW)
    patch = {
        "title": f"{body['title']} again",
        "description": "changed during the walk",
        "priority": body.get("priority", "urgent"),
        "due_at": body.get("due_at"),
    }
    patch.pop(sort.lstrip("-"), None)
    return patch


@pytest.mark.parametrize("sort", [s for s in SORTS if s.lstrip("-") != "updated_at"])
def test_walk_during_changes_that_keep_each_tasks_place_returns_every_task_once(
    api: Api, alice: User, sort: str
) -> None:
    # Given tasks, every one of which is changed between every two pages of the walk, in every
    # field but the one the walk is sorted by
    tasks = seed_tasks(api, alice, count=12, seed=18)
    rng = random.Random(19)  # noqa: S311 (reproducible changes, not a secret)

    def change_every_task() -> None:
        for task in tasks:
            response = api.request(
                "PATCH",
                alice.task_path(task["id"]),
                token=alice.token,
                json=change_keeping_the_sort_field(rng, sort),
            )
            assert response.status_code == 200, response.text

    # When the walk goes on
    pages = walk(api, alice, [("sort", sort)], 3, between_pages=change_every_task)

    # Then each task comes once, in the order of the moment its page was read
    walked = ids(walked_items(pages))
    assert sorted(walked) == sorted(ids(tasks))
    assert len(pages) == 4


@pytest.mark.parametrize("sort", ["updated_at", "-updated_at"])
def test_walk_by_updated_at_returns_once_every_task_not_changed_during_it(
    api: Api, alice: User, sort: str
) -> None:
    # Given tasks, two of which are changed between every two pages: every write moves a task in
    # this order (to the end, or to the front), so only the others keep their place
    tasks = seed_tasks(api, alice, count=12, seed=20)
    rng = random.Random(21)  # noqa: S311 (reproducible choices, not a secret)
    changed: set[int] = set()

    def change_two_tasks() -> None:
        for task in rng.sample(tasks, 2):
            response = api.request(
                "PATCH", alice.task_path(task["id"]), token=alice.token, json={"priority": "low"}
            )
            assert response.status_code == 200, response.text
            changed.add(task["id"])

    # When the walk goes on
    pages = walk(api, alice, [("sort", sort)], 3, between_pages=change_two_tasks)

    # Then every task left alone comes exactly once
    walked = ids(walked_items(pages))
    kept = [task_id for task_id in ids(tasks) if task_id not in changed]
    assert kept
    assert all(walked.count(task_id) == 1 for task_id in kept)
    assert set(walked) <= set(ids(tasks))


# --- Cursor misuse ------------------------------------------------------------------------------


@pytest.fixture
def three_alike(api: Api, alice: User) -> list[Task]:
    """Three pending, overdue, high-priority tasks that every filter below selects."""
    body = {
        "title": "Buy milk",
        "priority": "high",
        "tags": ["home", "work"],
        "due_at": rfc3339(NOW - timedelta(days=2)),
    }
    return [create(api, alice, body) for _ in range(3)]


def _tampered(cursor: str) -> str:
    middle = len(cursor) // 2
    replacement = "A" if cursor[middle] != "A" else "B"
    return cursor[:middle] + replacement + cursor[middle + 1 :]


TAMPERINGS: dict[str, Callable[[str], str]] = {
    "one character changed in the middle": _tampered,
    "last character dropped": lambda cursor: cursor[:-1],
    "cut in half": lambda cursor: cursor[: len(cursor) // 2],
    "first character dropped": lambda cursor: cursor[1:],
    "made up": lambda cursor: "abc",
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
@pytest.mark.usefixtures("three_alike")
def test_tampered_cursor_is_invalid_cursor(
    api: Api, alice: User, tamper: Callable[[str], str]
) -> None:
    cursor = first_cursor(api, alice, [("sort", "title")])

    response = api.request(
        "GET",
        list_path(alice, [("sort", "title"), ("limit", "1"), ("cursor", tamper(cursor))]),
        token=alice.token,
    )

    assert_invalid_cursor(response)


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.usefixtures("three_alike")
def test_a_cursor_has_one_spelling(api: Api, alice: User) -> None:
    # given a cursor whose last character holds bits a decoder drops (a cursor is 16 + 48k
    # bytes: its last base64url character carries 2 bits of them and 4 unused ones)
    cursor = first_cursor(api, alice, [("sort", "title")])
    other_spellings = [cursor[:-1] + c for c in BASE64URL if c != cursor[-1]]

    # when any other character stands there
    answers = [
        api.request(
            "GET",
            list_path(alice, [("sort", "title"), ("limit", "1"), ("cursor", spelling)]),
            token=alice.token,
        )
        for spelling in other_spellings
    ]

    # then it is not the cursor the service gave
    for response in answers:
        assert_invalid_cursor(response)


SORT_CHANGES = [([("sort", "title")], "-title"), ([("sort", "due_at")], "priority"), ([], "title")]


@pytest.mark.parametrize(("first", "then"), SORT_CHANGES)
@pytest.mark.usefixtures("three_alike")
def test_cursor_used_with_another_sort_is_invalid_cursor(
    api: Api, alice: User, first: Params, then: str
) -> None:
    cursor = first_cursor(api, alice, first)

    response = api.request(
        "GET", list_path(alice, [("sort", then), ("cursor", cursor)]), token=alice.token
    )

    assert_invalid_cursor(response)


FILTER_CHANGES: dict[str, tuple[Params, Params]] = {
    "status added": ([], [("status", "pending")]),
    "status changed": ([("status", "pending")], [("status", "completed")]),
    "priority added": ([("priority", "high")], [("priority", "high"), ("priority", "low")]),
    "tag changed": ([("tag", "home")], [("tag", "work")]),
    "tag dropped": ([("tag", "home")], []),
    "q changed": ([("q", "milk")], [("q", "mil")]),
    "due_before added": ([], [("due_before", rfc3339(NOW))]),
    "due_after changed": (
        [("due_after", rfc3339(NOW - timedelta(days=10)))],
        [("due_after", rfc3339(NOW - timedelta(days=11)))],
    ),
    "overdue flipped": ([("overdue", "true")], [("overdue", "false")]),
}


@pytest.mark.parametrize(("first", "then"), FILTER_CHANGES.values(), ids=FILTER_CHANGES.keys())
@pytest.mark.usefixtures("three_alike")
def test_cursor_used_with_other_filters_is_invalid_cursor(
    api: Api, alice: User, first: Params, then: Params
) -> None:
    cursor = first_cursor(api, alice, [*first, ("sort", "title")])

    response = api.request(
        "GET", list_path(alice, [*then, ("sort", "title"), ("cursor", cursor)]), token=alice.token
    )

    assert_invalid_cursor(response)


@pytest.mark.usefixtures("three_alike")
def test_another_users_cursor_is_invalid_cursor_on_their_own_list(
    api: Api, alice: User, bob: User
) -> None:
    for n in range(3):
        create(api, bob, {"title": f"bob {n}"})
    alices_cursor = first_cursor(api, alice, [("sort", "title")])

    response = api.request(
        "GET",
        list_path(bob, [("sort", "title"), ("limit", "1"), ("cursor", alices_cursor)]),
        token=bob.token,
    )

    assert_invalid_cursor(response)


def test_walk_never_shows_another_users_tasks(api: Api, alice: User, bob: User) -> None:
    bobs: list[Task] = []
    for n in range(7):
        create(api, alice, {"title": f"task {n}", "priority": "high"})
        bobs.append(create(api, bob, {"title": f"task {n}", "priority": "high"}))

    for sort in ("title", "-created_at", "priority"):
        pages = walk(api, bob, [("sort", sort)], 2)
        assert ids(walked_items(pages)) == ids(reference(bobs, Filters(), sort))


# --- Cursor size --------------------------------------------------------------------------------


def test_a_cursor_for_the_largest_filters_and_sort_key_is_one_the_contract_takes_back(
    api: Api, alice: User, contract: Contract
) -> None:
    # Given two tasks with the longest title of the widest characters and twenty of the longest
    # tags, and a first page of one, filtered by every tag and sorted by title
    tags = [f"{index:02d}" + "t" * 48 for index in range(20)]
    title = "\U0001f600" * 200
    for _ in range(2):
        create(api, alice, {"title": title, "tags": tags})
    params: Params = [("tag", tag) for tag in tags] + [("sort", "title")]

    # When the walk goes on with the cursor the first page gave
    first = list_page(api, alice, [*params, ("limit", "1")])
    cursor = first["next_cursor"]

    # Then the cursor fits the contract's own bounds, and the second page comes with it
    maximum = contract.document["components"]["parameters"]["Cursor"]["schema"]["maxLength"]
    assert isinstance(cursor, str)
    assert len(cursor) <= maximum
    second = list_page(api, alice, [*params, ("limit", "1"), ("cursor", cursor)])
    assert len(second["items"]) == 1
    assert second["items"][0]["id"] != first["items"][0]["id"]
