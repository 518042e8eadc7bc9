"""The fields of version 1.1: priority, tags, due date, completion time and version."""

from typing import Any

import pytest

from tests.conftest import Api, User
from tests.support.writes import (
    at,
    create_task,
    etag,
    names_location,
    patch_task,
    post_task,
    read_task,
)

EVERY_FIELD = {
    "title": "Buy milk",
    "description": "Two litres, semi-skimmed.",
    "priority": "high",
    "tags": ["Errands", "home"],
    "due_at": "2026-11-29T18:00:00+01:00",
}
PRIORITIES = ["low", "medium", "high", "urgent"]
SEQUENTIAL_UPDATES = 30
COMPLETIONS = 8


def complete_path(user: User, task_id: int) -> str:
    return user.task_path(f"{task_id}/complete")


# Creating


def test_a_task_created_with_only_a_title_takes_every_default(api: Api, alice: User) -> None:
    response = post_task(api, alice, {"title": "Call the plumber"})

    assert response.status_code == 201
    task = response.json()
    assert task["description"] is None
    assert task["priority"] == "medium"
    assert task["tags"] == []
    assert task["due_at"] is None
    assert task["completed"] is False
    assert task["completed_at"] is None
    assert task["version"] == 1
    assert response.headers["ETag"] == '"1"'


def test_a_task_created_with_every_field_keeps_them_normalized(api: Api, alice: User) -> None:
    response = post_task(api, alice, EVERY_FIELD)

    assert response.status_code == 201
    task = response.json()
    assert task["title"] == "Buy milk"
    assert task["description"] == "Two litres, semi-skimmed."
    assert task["priority"] == "high"
    assert task["tags"] == ["errands", "home"]
    assert task["due_at"] == "2026-11-29T17:00:00Z"
    assert task["completed_at"] is None
    assert task["version"] == 1
    assert read_task(api, alice, task["id"]) == task


def test_defaults_spelled_out_create_the_same_task_as_omitted_ones(api: Api, alice: User) -> None:
    spelled_out: dict[str, Any] = {
        "title": "t",
        "description": None,
        "priority": "medium",
        "tags": [],
        "due_at": None,
    }

    task = create_task(api, alice, **spelled_out)

    assert {k: task[k] for k in spelled_out} == spelled_out


# Tags


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        pytest.param([" Home ", "HOME", "home"], ["home"], id="trimmed_lower_cased_collapsed"),
        pytest.param(["İstanbul"], ["istanbul"], id="dotted_capital_i_becomes_one_i"),
        pytest.param(["b", "A", "a", "B", "c"], ["b", "a", "c"], id="first_occurrence_order"),
        pytest.param(["\u3000Work\u00a0", "\ufeffWORK\u2028"], ["work"], id="unicode_spaces"),
        pytest.param(["\t to do \r\n"], ["to do"], id="inner_space_kept"),
        pytest.param(["ÀÉÎ"], ["àéî"], id="accented_capitals"),
        pytest.param(
            ["\u00e9t\u00e9", "e\u0301te\u0301"], ["\u00e9t\u00e9"], id="nfc_and_nfd_one_tag"
        ),
        pytest.param(["E\u0301T\u00c9"], ["\u00e9t\u00e9"], id="nfd_capitals_stored_in_nfc"),
    ],
)
def test_tags_are_trimmed_lower_cased_and_deduplicated(
    api: Api, alice: User, given: list[str], stored: list[str]
) -> None:
    task = create_task(api, alice, title="t", tags=given)

    assert task["tags"] == stored
    assert read_task(api, alice, task["id"])["tags"] == stored


def test_twenty_tags_are_accepted(api: Api, alice: User) -> None:
    tags = [f"tag{n}" for n in range(20)]

    assert create_task(api, alice, title="t", tags=tags)["tags"] == tags


def test_twenty_one_tags_are_422(api: Api, alice: User) -> None:
    response = post_task(api, alice, {"title": "t", "tags": [f"tag{n}" for n in range(21)]})

    assert response.status_code == 422
    assert names_location(response, "body", "tags")


def test_a_tag_of_50_characters_after_trimming_is_accepted(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="t", tags=["  " + "A" * 50 + "  "])

    assert task["tags"] == ["a" * 50]


def test_a_tag_of_51_characters_after_trimming_is_422(api: Api, alice: User) -> None:
    response = post_task(api, alice, {"title": "t", "tags": [" " + "a" * 51 + " "]})

    assert response.status_code == 422
    assert names_location(response, "body", "tags")


@pytest.mark.parametrize("tag", ["", "   ", "\u3000"])
def test_a_tag_with_nothing_but_whitespace_is_422(api: Api, alice: User, tag: str) -> None:
    response = post_task(api, alice, {"title": "t", "tags": ["ok", tag]})

    assert response.status_code == 422
    assert names_location(response, "body", "tags")


# Priority


@pytest.mark.parametrize("priority", PRIORITIES)
def test_every_priority_of_the_enum_is_accepted(api: Api, alice: User, priority: str) -> None:
    assert create_task(api, alice, title="t", priority=priority)["priority"] == priority


@pytest.mark.parametrize("priority", ["huge", "High", "", None, 1])
def test_a_priority_outside_the_enum_is_422(api: Api, alice: User, priority: Any) -> None:
    response = post_task(api, alice, {"title": "t", "priority": priority})

    assert response.status_code == 422
    assert names_location(response, "body", "priority")


# Completion


def test_completing_sets_completed_at_and_reopening_clears_it(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="t")
    path = complete_path(alice, task["id"])

    completed = api.request("PATCH", path, token=alice.token).json()
    reopened = api.request("PATCH", path, token=alice.token).json()
    completed_again = api.request("PATCH", path, token=alice.token).json()

    assert completed["completed"] is True
    assert at(completed["completed_at"]) > at(task["updated_at"])
    assert (reopened["completed"], reopened["completed_at"]) == (False, None)
    assert at(completed_again["completed_at"]) > at(completed["completed_at"])
    assert [t["version"] for t in (completed, reopened, completed_again)] == [2, 3, 4]


@pytest.mark.parametrize("how", ["toggle", "set", "merge_patch"])
def test_completed_at_is_the_time_of_the_completing_write(api: Api, alice: User, how: str) -> None:
    task = create_task(api, alice, title="t")
    path = complete_path(alice, task["id"])
    before = task

    for _ in range(COMPLETIONS):
        if how == "toggle":
            response = api.request("PATCH", path, token=alice.token)
        elif how == "set":
            response = api.request("PATCH", path, token=alice.token, json={"completed": True})
        else:
            response = patch_task(api, alice, task["id"], {"completed": True})
        completed = response.json()
        api.request("PATCH", path, token=alice.token, json={"completed": False})

        # Completing is a change: it happens after the previous change and is the last change.
        assert at(before["updated_at"]) < at(completed["completed_at"])
        assert at(completed["completed_at"]) <= at(completed["updated_at"])
        before = read_task(api, alice, task["id"])


def test_an_empty_object_toggles_like_no_body(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="t")

    response = api.request("PATCH", complete_path(alice, task["id"]), token=alice.token, json={})

    assert response.status_code == 200
    assert (response.json()["completed"], response.json()["version"]) == (True, 2)


@pytest.mark.parametrize("completed", [True, False])
def test_completed_set_explicitly_sets_it(api: Api, alice: User, completed: bool) -> None:
    task = create_task(api, alice, title="t")
    api.request("PATCH", complete_path(alice, task["id"]), token=alice.token)  # now completed

    response = api.request(
        "PATCH", complete_path(alice, task["id"]), token=alice.token, json={"completed": completed}
    )

    assert response.status_code == 200
    assert response.json()["completed"] is completed
    assert (response.json()["completed_at"] is not None) is completed


def test_completed_null_on_the_completion_operation_is_422(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="t")

    response = api.request(
        "PATCH", complete_path(alice, task["id"]), token=alice.token, json={"completed": None}
    )

    assert response.status_code == 422
    assert names_location(response, "body", "completed")
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize("completed", ["yes", "true", 1, 0])
def test_a_completed_that_is_not_a_boolean_is_422(api: Api, alice: User, completed: Any) -> None:
    task = create_task(api, alice, title="t")

    response = api.request(
        "PATCH", complete_path(alice, task["id"]), token=alice.token, json={"completed": completed}
    )

    assert response.status_code == 422
    assert names_location(response, "body", "completed")
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize("body", ["null", "[]", '"completed"', "true"])
def test_a_completion_body_that_is_not_an_object_is_422(api: Api, alice: User, body: str) -> None:
    task = create_task(api, alice, title="t")

    response = api.request(
        "PATCH",
        complete_path(alice, task["id"]),
        token=alice.token,
        content=body,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert names_location(response, "body")
    assert read_task(api, alice, task["id"]) == task


# Version


def test_version_starts_at_1_and_every_change_adds_one(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="t")

    replaced = api.request(
        "PUT", alice.task_path(task["id"]), token=alice.token, json={"title": "u"}
    )
    patched = patch_task(api, alice, task["id"], {"priority": "low"})
    toggled = api.request("PATCH", complete_path(alice, task["id"]), token=alice.token)

    assert task["version"] == 1
    assert [r.json()["version"] for r in (replaced, patched, toggled)] == [2, 3, 4]
    assert [r.headers["ETag"] for r in (replaced, patched, toggled)] == ['"2"', '"3"', '"4"']


# Replace


def test_replace_resets_every_omitted_field_to_its_default(api: Api, alice: User) -> None:
    task = create_task(api, alice, **EVERY_FIELD)
    api.request("PATCH", complete_path(alice, task["id"]), token=alice.token)

    response = api.request(
        "PUT", alice.task_path(task["id"]), token=alice.token, json={"title": "only a title"}
    )

    assert response.status_code == 200
    replaced = response.json()
    assert replaced["title"] == "only a title"
    assert replaced["description"] is None
    assert replaced["priority"] == "medium"
    assert replaced["tags"] == []
    assert replaced["due_at"] is None
    assert replaced["completed"] is True, "completion is not an editable field of PUT"
    assert replaced["completed_at"] is not None
    assert replaced["version"] == 3
    assert response.headers["ETag"] == etag(3)


def test_replace_with_identical_values_keeps_version_and_updated_at(api: Api, alice: User) -> None:
    task = create_task(api, alice, **EVERY_FIELD)

    response = api.request("PUT", alice.task_path(task["id"]), token=alice.token, json=EVERY_FIELD)

    assert response.status_code == 200
    assert response.json() == task
    assert response.headers["ETag"] == '"1"'
    assert read_task(api, alice, task["id"]) == task


def test_replace_with_an_equivalent_spelling_changes_nothing(api: Api, alice: User) -> None:
    task = create_task(api, alice, **EVERY_FIELD)
    equivalent = {
        **EVERY_FIELD,
        "tags": [" ERRANDS", "Home ", "home"],
        "due_at": "2026-11-29T17:00:00Z",
    }

    response = api.request("PUT", alice.task_path(task["id"]), token=alice.token, json=equivalent)

    assert response.status_code == 200
    assert response.json() == task


def test_updated_at_never_moves_backwards_across_sequential_updates(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="t")
    answers = []

    for n in range(SEQUENTIAL_UPDATES):
        if n % 3 == 0:
            response = api.request(
                "PUT", alice.task_path(task["id"]), token=alice.token, json={"title": f"title {n}"}
            )
        elif n % 3 == 1:
            response = patch_task(api, alice, task["id"], {"tags": [f"tag{n}"]})
        else:
            response = api.request("PATCH", complete_path(alice, task["id"]), token=alice.token)
        assert response.status_code == 200, response.text
        answers.append(response.json())

    times = [at(task["updated_at"])] + [at(answer["updated_at"]) for answer in answers]
    assert times == sorted(times)
    assert [answer["version"] for answer in answers] == list(range(2, SEQUENTIAL_UPDATES + 2))
    assert read_task(api, alice, task["id"]) == answers[-1]
