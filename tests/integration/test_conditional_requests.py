"""Entity tags: every task answer has one; If-None-Match saves a download, If-Match an update."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Api, User
from tests.support.writes import (
    Call,
    Task,
    create_task,
    etag,
    patch_task,
    read_task,
    send_concurrently,
)

MISSING_TASK_ID = 987654321
CONCURRENT_WRITERS = 20


@dataclass(frozen=True)
class Write:
    """A write that takes If-Match, as data, so each test is asked of all of them."""

    name: str
    method: str
    suffix: str
    body: dict[str, Any] | None
    status: int

    def send(
        self, api: Api, user: User, task_id: int, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return api.request(
            self.method,
            user.task_path(f"{task_id}{self.suffix}"),
            token=user.token,
            json=self.body,
            headers=headers,
        )


WRITES = (
    Write("replace_task", "PUT", "", {"title": "replaced"}, 200),
    Write("update_task", "PATCH", "", {"title": "patched"}, 200),
    Write("toggle_task_completion", "PATCH", "/complete", None, 200),
    Write("delete_task", "DELETE", "", None, 204),
)


def write_id(write: Write) -> str:
    return write.name


@pytest.fixture
def task(api: Api, alice: User) -> Task:
    return create_task(api, alice, title="original", tags=["home"])


def change(api: Api, user: User, task: Task) -> Task:
    """Someone else's write: the task moves on to the next version."""
    response = patch_task(api, user, task["id"], {"description": "changed elsewhere"})
    assert response.status_code == 200
    changed: Task = response.json()
    return changed


def get(api: Api, user: User, task_id: int, if_none_match: str) -> httpx.Response:
    return api.request(
        "GET", user.task_path(task_id), token=user.token, headers={"If-None-Match": if_none_match}
    )


# ETag


def test_every_answer_with_a_task_carries_its_version_as_a_strong_etag(
    api: Api, alice: User
) -> None:
    created = api.request("POST", alice.tasks_path, token=alice.token, json={"title": "t"})
    task_id = created.json()["id"]
    fetched = api.request("GET", alice.task_path(task_id), token=alice.token)
    replaced = api.request("PUT", alice.task_path(task_id), token=alice.token, json={"title": "u"})
    patched = patch_task(api, alice, task_id, {"priority": "high"})
    toggled = api.request("PATCH", alice.task_path(f"{task_id}/complete"), token=alice.token)

    answers = (created, fetched, replaced, patched, toggled)
    assert [r.headers["ETag"] for r in answers] == ['"1"', '"1"', '"2"', '"3"', '"4"']
    assert all(r.headers["ETag"] == etag(r.json()["version"]) for r in answers)


# If-None-Match


@pytest.mark.parametrize(
    "if_none_match",
    ['"1"', 'W/"1"', "*", '"7", "1"', '"7","1"', 'W/"7", W/"1"', '"1", "7"'],
)
def test_if_none_match_with_the_current_etag_is_304_without_a_body(
    api: Api, alice: User, task: Task, if_none_match: str
) -> None:
    response = get(api, alice, task["id"], if_none_match)

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == '"1"'


@pytest.mark.parametrize("if_none_match", ['"1"', 'W/"1"', '"3", "4"'])
def test_if_none_match_with_a_stale_etag_is_200_with_the_current_task(
    api: Api, alice: User, task: Task, if_none_match: str
) -> None:
    current = change(api, alice, task)

    response = get(api, alice, task["id"], if_none_match)

    assert response.status_code == 200
    assert response.json() == current
    assert response.headers["ETag"] == '"2"'


def test_if_none_match_on_a_missing_task_is_404(api: Api, alice: User) -> None:
    assert get(api, alice, MISSING_TASK_ID, "*").status_code == 404


# If-Match


@pytest.mark.parametrize("if_match", ['"1"', "*", '"9", "1"', '"1","9"'])
@pytest.mark.parametrize("write", WRITES, ids=write_id)
def test_if_match_with_the_current_etag_lets_the_write_through(
    api: Api, alice: User, task: Task, write: Write, if_match: str
) -> None:
    response = write.send(api, alice, task["id"], {"If-Match": if_match})

    assert response.status_code == write.status, response.text
    if write.status == 200:
        assert response.json()["version"] == 2
        assert response.headers["ETag"] == '"2"'


@pytest.mark.parametrize("write", WRITES, ids=write_id)
def test_if_match_with_a_stale_etag_is_412_with_the_current_task(
    api: Api, alice: User, task: Task, write: Write
) -> None:
    current = change(api, alice, task)

    response = write.send(api, alice, task["id"], {"If-Match": etag(task["version"])})

    assert response.status_code == 412
    error = response.json()
    assert error["error"] == "precondition_failed"
    assert error["details"]["current"] == current
    assert response.headers["ETag"] == etag(current["version"]) == '"2"'
    assert read_task(api, alice, task["id"]) == current, "nothing changed"


@pytest.mark.parametrize("write", WRITES, ids=write_id)
def test_a_weak_etag_never_matches_if_match(
    api: Api, alice: User, task: Task, write: Write
) -> None:
    response = write.send(api, alice, task["id"], {"If-Match": 'W/"1"'})

    assert response.status_code == 412
    assert response.json()["details"]["current"] == task
    assert response.headers["ETag"] == '"1"'
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize("if_match", ['"1"', "*"])
@pytest.mark.parametrize("write", WRITES, ids=write_id)
def test_if_match_on_a_missing_task_is_404(
    api: Api, alice: User, write: Write, if_match: str
) -> None:
    response = write.send(api, alice, MISSING_TASK_ID, {"If-Match": if_match})

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_delete_with_a_stale_etag_is_412_and_the_task_is_still_there(
    api: Api, alice: User, task: Task
) -> None:
    current = change(api, alice, task)

    response = api.request(
        "DELETE", alice.task_path(task["id"]), token=alice.token, headers={"If-Match": '"1"'}
    )

    assert response.status_code == 412
    assert read_task(api, alice, task["id"]) == current


def test_the_etag_of_a_412_is_the_one_that_lets_the_retry_through(
    api: Api, alice: User, task: Task
) -> None:
    change(api, alice, task)
    refused = api.request(
        "PUT",
        alice.task_path(task["id"]),
        token=alice.token,
        json={"title": "mine"},
        headers={"If-Match": etag(task["version"])},
    )

    retried = api.request(
        "PUT",
        alice.task_path(task["id"]),
        token=alice.token,
        json={"title": "mine"},
        headers={"If-Match": refused.headers["ETag"]},
    )

    assert refused.status_code == 412
    assert retried.status_code == 200
    assert (retried.json()["title"], retried.json()["version"]) == ("mine", 3)


def test_without_if_match_the_last_write_wins(api: Api, alice: User, task: Task) -> None:
    change(api, alice, task)

    response = api.request(
        "PUT", alice.task_path(task["id"]), token=alice.token, json={"title": "last"}
    )

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["version"]) == ("last", 3)


# Concurrency


def test_concurrent_toggles_each_flip_once_and_each_add_one_version(
    api: Api, alice: User, task: Task
) -> None:
    toggle = Call("PATCH", alice.task_path(f"{task['id']}/complete"))

    answers = send_concurrently(api, alice, [toggle] * CONCURRENT_WRITERS)

    assert [r.status_code for r in answers] == [200] * CONCURRENT_WRITERS
    final = read_task(api, alice, task["id"])
    assert final["completed"] is False, "an even number of flips ends where it started"
    assert final["version"] == 1 + CONCURRENT_WRITERS
    versions = sorted(r.json()["version"] for r in answers)
    assert versions == list(range(2, 2 + CONCURRENT_WRITERS)), "each toggle saw its own state"
    assert all(r.json()["completed"] is (r.json()["version"] % 2 == 0) for r in answers)


def test_concurrent_patches_with_the_same_if_match_let_exactly_one_through(
    api: Api, alice: User, task: Task
) -> None:
    patches = [
        Call(
            "PATCH",
            alice.task_path(task["id"]),
            json={"title": f"writer {n}"},
            headers={"If-Match": etag(task["version"])},
        )
        for n in range(CONCURRENT_WRITERS)
    ]

    answers = send_concurrently(api, alice, patches)

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [412] * (CONCURRENT_WRITERS - 1)
    (winner,) = [r.json() for r in answers if r.status_code == 200]
    final = read_task(api, alice, task["id"])
    assert final == winner
    assert final["version"] == 2
    for refused in (r for r in answers if r.status_code == 412):
        assert refused.json()["details"]["current"] == final
        assert refused.headers["ETag"] == '"2"'


# Setting completion


def test_completing_twice_leaves_the_second_without_a_change(
    api: Api, alice: User, task: Task
) -> None:
    path = alice.task_path(f"{task['id']}/complete")

    first = api.request("PATCH", path, token=alice.token, json={"completed": True})
    second = api.request("PATCH", path, token=alice.token, json={"completed": True})

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["version"] == 2
    assert second.json() == first.json(), "version, updated_at and completed_at all stay"
    assert second.headers["ETag"] == '"2"'


def test_reopening_an_open_task_changes_nothing(api: Api, alice: User, task: Task) -> None:
    response = api.request(
        "PATCH",
        alice.task_path(f"{task['id']}/complete"),
        token=alice.token,
        json={"completed": False},
    )

    assert response.status_code == 200
    assert response.json() == task
