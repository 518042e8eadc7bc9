"""Properties over inputs that Schemathesis draws from the contract's own request schemas.

- Any valid TaskInput round-trips through the service and PostgreSQL unchanged but for Unicode
  normalization (text is stored in NFC, as the contract says), on create and on replace. Valid
  means what the contract says in words too: its JSON Schema cannot hold a date-time's range, a
  text's length in NFC, or that `list_id` and `parent_id` name the user's own list and task, so
  the drawn bodies are kept to those (a drawn `list_id` becomes the user's Inbox, a drawn
  `parent_id` is left out).
- Any invalid body is answered with a structured 4xx (checked against the contract) and writes
  nothing.
"""

import unicodedata
from datetime import date
from importlib import resources
from typing import Any

import tzdata
from hypothesis import HealthCheck, assume, given, settings
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError
from schemathesis import GenerationMode
from schemathesis.openapi import from_path

from contract_runtime.formats import DateTime
from impl.contract import load_contract
from impl.resources import CONTRACT_FILE
from tests.conftest import Api, User

TASK_INPUT_VALIDATOR = Draft202012Validator(
    {"$ref": "#/components/schemas/TaskInput", "components": load_contract()["components"]}
)
JSON_VALUE_TYPES = (dict, list, str, int, float, bool, type(None))
create_task = from_path(CONTRACT_FILE)["/api/{user_id}/tasks"]["POST"]


def is_valid_task_input(value: Any) -> bool:
    return TASK_INPUT_VALIDATOR.is_valid(value)


def as_stored(text: str | None) -> str | None:
    return None if text is None else unicodedata.normalize("NFC", text)


DATE_TIME = TypeAdapter(DateTime)


def within_the_date_time_range(value: str | None) -> bool:
    """Whether a due date lies in the contract's range (once in UTC)."""
    try:
        DATE_TIME.validate_python(value)
    except ValidationError:
        return False
    return True


def accepted_as_the_contract_says(body: dict[str, Any]) -> bool:
    """Whether the body is valid by the contract's words as well as its schema: a due date in
    the range, and each text within its limit in NFC (a few characters get longer there)."""
    if body.get("due_at") is not None and not within_the_date_time_range(body["due_at"]):
        return False
    # A recurrence rule's subset has tests of its own (test_recurring_tasks.py).
    if not due_accepted(body) or body.get("recurrence") is not None:
        return False
    if not all(reminder_accepted(reminder) for reminder in body.get("reminders", [])):
        return False
    stored = {**body, "title": as_stored(body["title"])}
    if body.get("description") is not None:
        stored["description"] = as_stored(body["description"])
    if "tags" in body:
        stored["tags"] = [as_stored(tag) for tag in body["tags"]]
    return is_valid_task_input(stored)


# The zones of the pinned time zone database, but the one that is no place.
ZONES = frozenset((resources.files(tzdata) / "zones").read_text().split()) - {"Factory"}


def due_accepted(body: dict[str, Any]) -> bool:
    """Whether a `due` is one the contract's words accept: alone (not with `due_at`), a day of
    the calendar from 0002 to 9998, and a zone of the database, only with a time."""
    due = body.get("due")
    if "due" in body and "due_at" in body:
        return due is None and body["due_at"] is None
    if due is None:
        return True
    try:
        day = date.fromisoformat(due["date"])
    except ValueError:
        return False
    zone = due.get("time_zone")
    zone_accepted = zone is None or (zone in ZONES and due.get("time") is not None)
    return 2 <= day.year <= 9998 and zone_accepted


def reminder_accepted(reminder: dict[str, Any]) -> bool:
    """Whether a reminder is one the contract's words accept: one of its two forms, an instant
    in the range."""
    instant, minutes = reminder.get("at"), reminder.get("minutes_before")
    if instant is None:
        return minutes is not None
    return minutes is None and within_the_date_time_range(instant)


def in_a_held_list(body: dict[str, Any], list_id: int) -> dict[str, Any]:
    """The body, naming the user's list `list_id` where it names a list at all, and under no
    task (a drawn parent is none of the user's)."""
    held = {name: value for name, value in body.items() if name != "parent_id"}
    return {**held, "list_id": list_id} if "list_id" in body else held


valid_inputs = create_task.as_strategy(GenerationMode.POSITIVE).map(lambda case: case.body)
# Negative cases whose body is JSON that breaks the schema (not raw bytes, not a missing body).
invalid_inputs = (
    create_task.as_strategy(GenerationMode.NEGATIVE)
    .map(lambda case: case.body)
    .filter(lambda body: isinstance(body, JSON_VALUE_TYPES) and not is_valid_task_input(body))
)

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(first=valid_inputs, second=valid_inputs)
def test_valid_input_round_trips_through_postgresql_unchanged(
    api: Api, alice: User, first: dict[str, Any], second: dict[str, Any]
) -> None:
    assume(accepted_as_the_contract_says(first) and accepted_as_the_contract_says(second))
    inbox = api.request("GET", alice.lists_path, token=alice.token).json()["items"][0]["id"]
    first, second = in_a_held_list(first, inbox), in_a_held_list(second, inbox)
    created = api.request("POST", alice.tasks_path, token=alice.token, json=first).json()
    fetched = api.request("GET", alice.task_path(created["id"]), token=alice.token).json()
    replaced = api.request(
        "PUT", alice.task_path(created["id"]), token=alice.token, json=second
    ).json()
    refetched = api.request("GET", alice.task_path(created["id"]), token=alice.token).json()

    assert (fetched["title"], fetched["description"]) == (
        as_stored(first["title"]),
        as_stored(first.get("description")),
    )
    assert fetched == created
    assert (refetched["title"], refetched["description"]) == (
        as_stored(second["title"]),
        as_stored(second.get("description")),
    )
    assert refetched == replaced


@PROPERTY_SETTINGS
@given(body=invalid_inputs)
def test_invalid_input_is_a_structured_4xx_and_writes_nothing(
    api: Api, alice: User, body: Any
) -> None:
    # Given a task to replace (the first example makes it; an invalid body writes nothing)
    before = api.request("GET", alice.tasks_path, token=alice.token).json()
    if not before["items"]:
        api.request("POST", alice.tasks_path, token=alice.token, json={"title": "to replace"})
        before = api.request("GET", alice.tasks_path, token=alice.token).json()
    existing = before["items"][0]["id"]

    # When the invalid body is sent to create a task and to replace that one
    created = api.request("POST", alice.tasks_path, token=alice.token, json=body)
    replaced = api.request("PUT", alice.task_path(existing), token=alice.token, json=body)

    # Then both are a structured 4xx, and nothing was written
    for response in (created, replaced):
        assert response.status_code in (400, 422), response.text
        assert set(response.json()) == {"error", "message", "details"}
    assert api.request("GET", alice.tasks_path, token=alice.token).json() == before
