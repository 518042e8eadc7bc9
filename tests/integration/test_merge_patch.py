"""PATCH of a task is a JSON Merge Patch (RFC 7396): absent stays, null clears, the rest is set."""

from typing import Any

import pytest

from tests.conftest import Api, User
from tests.support.writes import (
    JSON,
    MERGE_PATCH,
    Task,
    at,
    create_task,
    etag,
    names_location,
    patch_task,
    read_task,
)

EVERY_FIELD = {
    "title": "Buy milk",
    "description": "Two litres, semi-skimmed.",
    "priority": "high",
    "tags": ["errands", "home"],
    "due_at": "2026-11-29T17:00:00Z",
}
READ_ONLY = ("id", "user_id", "version", "completed_at", "created_at", "updated_at")


@pytest.fixture
def task(api: Api, alice: User) -> Task:
    return create_task(api, alice, **EVERY_FIELD)


def unchanged_except(before: Task, after: Task, *changed: str) -> bool:
    """Whether every field of the task but `changed` (and the write's bookkeeping) stayed; a due
    date is one in both of its forms (`due_at` and `due`)."""
    also = {"due"} if "due_at" in changed else set()
    kept = set(before) - set(changed) - also - {"version", "updated_at", "completed_at"}
    return {k: after[k] for k in kept} == {k: before[k] for k in kept}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Buy oat milk"),
        ("description", "One litre."),
        ("priority", "urgent"),
        ("tags", ["shopping"]),
        ("due_at", "2026-12-24T12:00:00Z"),
        ("completed", True),
    ],
)
def test_a_present_field_is_set_and_every_absent_field_stays(
    api: Api, alice: User, task: Task, field: str, value: Any
) -> None:
    response = patch_task(api, alice, task["id"], {field: value})

    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched[field] == value
    assert unchanged_except(task, patched, field)
    assert patched["version"] == 2
    assert response.headers["ETag"] == etag(2)
    assert at(patched["updated_at"]) > at(task["updated_at"])
    assert read_task(api, alice, task["id"]) == patched


def test_several_fields_change_in_one_patch(api: Api, alice: User, task: Task) -> None:
    response = patch_task(api, alice, task["id"], {"priority": "urgent", "due_at": None})

    assert response.status_code == 200
    patched = response.json()
    assert (patched["priority"], patched["due_at"]) == ("urgent", None)
    assert unchanged_except(task, patched, "priority", "due_at")
    assert patched["version"] == 2


def test_patched_tags_are_normalized(api: Api, alice: User, task: Task) -> None:
    response = patch_task(api, alice, task["id"], {"tags": [" Garden", "GARDEN", "Tools "]})

    assert response.status_code == 200
    assert response.json()["tags"] == ["garden", "tools"]


@pytest.mark.parametrize("field", ["description", "due_at"])
def test_null_clears_a_nullable_field(api: Api, alice: User, task: Task, field: str) -> None:
    response = patch_task(api, alice, task["id"], {field: None})

    assert response.status_code == 200
    patched = response.json()
    assert patched[field] is None
    assert unchanged_except(task, patched, field)
    assert patched["version"] == 2


@pytest.mark.parametrize("field", ["title", "priority", "tags", "completed"])
def test_null_for_a_field_that_cannot_be_null_is_422_and_changes_nothing(
    api: Api, alice: User, task: Task, field: str
) -> None:
    response = patch_task(api, alice, task["id"], {field: None})

    assert response.status_code == 422
    assert names_location(response, "body", field)
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize("field", [*READ_ONLY, "colour"])
def test_a_read_only_or_unknown_field_is_422_and_changes_nothing(
    api: Api, alice: User, task: Task, field: str
) -> None:
    value = task.get(field, "red")

    response = patch_task(api, alice, task["id"], {"title": "new title", field: value})

    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "   "),
        ("priority", "huge"),
        ("tags", ["x" * 51]),
        ("tags", [f"t{n}" for n in range(21)]),
        ("completed", "yes"),
        ("completed", "true"),
        ("completed", 1),
        ("description", "d" * 1001),
    ],
)
def test_an_invalid_value_is_422_and_changes_nothing(
    api: Api, alice: User, task: Task, field: str, value: Any
) -> None:
    response = patch_task(api, alice, task["id"], {field: value})

    assert response.status_code == 422
    assert names_location(response, "body", field)
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize("body", [[], "title", None, 1])
def test_a_patch_that_is_not_an_object_is_422(api: Api, alice: User, task: Task, body: Any) -> None:
    response = patch_task(api, alice, task["id"], body)

    assert response.status_code == 422
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize("media_type", [MERGE_PATCH, JSON, f"{MERGE_PATCH}; charset=utf-8"])
def test_both_media_types_are_accepted(api: Api, alice: User, task: Task, media_type: str) -> None:
    response = patch_task(api, alice, task["id"], {"title": "renamed"}, media_type=media_type)

    assert response.status_code == 200
    assert response.json()["title"] == "renamed"


@pytest.mark.parametrize(
    "media_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", None]
)
def test_a_body_of_another_media_type_is_415_and_changes_nothing(
    api: Api, alice: User, task: Task, media_type: str | None
) -> None:
    response = patch_task(api, alice, task["id"], {"title": "renamed"}, media_type=media_type)

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert read_task(api, alice, task["id"]) == task


def test_an_empty_patch_changes_nothing(api: Api, alice: User, task: Task) -> None:
    response = patch_task(api, alice, task["id"], {})

    assert response.status_code == 200
    assert response.json() == task
    assert response.headers["ETag"] == etag(1)
    assert read_task(api, alice, task["id"]) == task


def test_a_patch_with_the_current_values_keeps_version_and_updated_at(
    api: Api, alice: User, task: Task
) -> None:
    response = patch_task(api, alice, task["id"], {**EVERY_FIELD, "completed": False})

    assert response.status_code == 200
    assert response.json() == task
    assert response.headers["ETag"] == etag(1)
    assert read_task(api, alice, task["id"]) == task


def test_a_patch_with_equivalent_spellings_changes_nothing(
    api: Api, alice: User, task: Task
) -> None:
    equivalent = {"tags": ["Errands ", " HOME"], "due_at": "2026-11-29T18:00:00+01:00"}

    response = patch_task(api, alice, task["id"], equivalent)

    assert response.status_code == 200
    assert response.json() == task


def test_completed_through_patch_sets_completed_at_and_reopening_clears_it(
    api: Api, alice: User, task: Task
) -> None:
    completed = patch_task(api, alice, task["id"], {"completed": True}).json()
    reopened = patch_task(api, alice, task["id"], {"completed": False}).json()

    assert completed["completed"] is True
    assert at(completed["completed_at"]) > at(task["updated_at"])
    assert (reopened["completed"], reopened["completed_at"]) == (False, None)
    assert [completed["version"], reopened["version"]] == [2, 3]


def test_completed_true_on_a_completed_task_changes_nothing(
    api: Api, alice: User, task: Task
) -> None:
    completed = patch_task(api, alice, task["id"], {"completed": True}).json()

    again = patch_task(api, alice, task["id"], {"completed": True})

    assert again.status_code == 200
    assert again.json() == completed


def test_a_missing_task_is_404(api: Api, alice: User) -> None:
    response = patch_task(api, alice, 987654321, {"title": "t"})

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_another_users_task_is_404_and_unchanged(
    api: Api, alice: User, bob: User, task: Task
) -> None:
    response = api.request(
        "PATCH",
        bob.task_path(task["id"]),
        token=bob.token,
        json={"title": "mine now"},
    )

    assert response.status_code == 404
    assert read_task(api, alice, task["id"]) == task
