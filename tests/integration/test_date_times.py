"""Date-times in and out: RFC 3339 with a zone only, answered in UTC with a trailing Z."""

import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import Api, User
from tests.support.writes import create_task, list_all_tasks, names_location, read_task

NOT_RFC_3339_WITH_A_ZONE = {
    "zero": 0,
    "numeric_string": "1700000000",
    "date_alone": "2026-12-01",
    "naive_date_time": "2026-12-01T10:00:00",
    "empty": "",
    "no_such_day": "2026-02-30T10:00:00Z",
    "words": "tomorrow",
    "trailing_newline": "2026-12-01T10:00:00Z\n",
    "space_for_t": "2026-12-01 10:00:00Z",
}
SAME_INSTANT = {
    "utc": "2026-12-01T08:00:00Z",
    "plus_two": "2026-12-01T10:00:00+02:00",
    "minus_eight_thirty": "2026-11-30T23:30:00-08:30",
    "zero_offset": "2026-12-01T08:00:00+00:00",
    "zero_fraction": "2026-12-01T08:00:00.000Z",
}
SERIALIZED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")
WRITES = ("POST", "PUT", "PATCH")


def write_due_at(api: Api, user: User, method: str, due_at: Any) -> httpx.Response:
    """Send `due_at` in the body of a create, a replace or a patch."""
    if method == "POST":
        return api.request(
            "POST", user.tasks_path, token=user.token, json={"title": "t", "due_at": due_at}
        )
    task = create_task(api, user, title="t")
    body = {"title": "t", "due_at": due_at} if method == "PUT" else {"due_at": due_at}
    return api.request(method, user.task_path(task["id"]), token=user.token, json=body)


def list_with(api: Api, user: User, **query: str) -> httpx.Response:
    return api.request("GET", f"{user.tasks_path}?{urlencode(query)}", token=user.token)


@pytest.mark.parametrize("value", NOT_RFC_3339_WITH_A_ZONE.values(), ids=NOT_RFC_3339_WITH_A_ZONE)
@pytest.mark.parametrize("method", WRITES)
def test_a_due_at_that_is_not_rfc_3339_with_a_zone_is_422_naming_the_body_field(
    api: Api, alice: User, method: str, value: Any
) -> None:
    response = write_due_at(api, alice, method, value)

    assert response.status_code == 422, response.text
    assert names_location(response, "body", "due_at")
    assert all(task["due_at"] is None for task in list_all_tasks(api, alice))


@pytest.mark.parametrize("value", NOT_RFC_3339_WITH_A_ZONE.values(), ids=NOT_RFC_3339_WITH_A_ZONE)
@pytest.mark.parametrize("parameter", ["due_before", "due_after"])
def test_a_due_filter_that_is_not_rfc_3339_with_a_zone_is_422_naming_the_parameter(
    api: Api, alice: User, parameter: str, value: Any
) -> None:
    response = list_with(api, alice, **{parameter: str(value)})

    assert response.status_code == 422, response.text
    assert names_location(response, "query", parameter)


@pytest.mark.parametrize("value", SAME_INSTANT.values(), ids=SAME_INSTANT)
@pytest.mark.parametrize("method", WRITES)
def test_a_due_at_with_any_zone_is_stored_and_answered_in_utc(
    api: Api, alice: User, method: str, value: str
) -> None:
    response = write_due_at(api, alice, method, value)

    assert response.status_code in {200, 201}, response.text
    task = response.json()
    assert task["due_at"] == "2026-12-01T08:00:00Z"
    assert read_task(api, alice, task["id"])["due_at"] == "2026-12-01T08:00:00Z"


@pytest.mark.parametrize(
    ("given", "answered"),
    [
        ("2026-12-01T10:00:00.5Z", "2026-12-01T10:00:00.500000Z"),
        ("2026-12-01T10:00:00.123456+01:00", "2026-12-01T09:00:00.123456Z"),
        ("2026-12-01T10:00:00.000000Z", "2026-12-01T10:00:00Z"),
    ],
)
def test_microseconds_are_answered_only_when_not_zero(
    api: Api, alice: User, given: str, answered: str
) -> None:
    assert create_task(api, alice, title="t", due_at=given)["due_at"] == answered


def test_every_timestamp_is_utc_with_a_trailing_z(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="t", due_at="2026-12-01T10:00:00+02:00")
    completed = api.request(
        "PATCH", alice.task_path(f"{task['id']}/complete"), token=alice.token
    ).json()

    for field in ("created_at", "updated_at", "completed_at", "due_at"):
        assert SERIALIZED.match(completed[field]), (field, completed[field])


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({"due_before": "2026-12-01T10:00:00+02:00"}, False),
        ({"due_before": "2026-12-01T10:00:01+02:00"}, True),
        ({"due_after": "2026-12-01T10:00:00+02:00"}, True),
        ({"due_after": "2026-12-01T10:00:01+02:00"}, False),
        ({"due_after": "2026-11-30T23:30:00-08:30"}, True),
        ({"due_before": "2026-12-01T08:00:00.000001Z"}, True),
    ],
    ids=["before_is_strict", "before", "after_is_inclusive", "after", "negative_offset", "micros"],
)
def test_a_due_filter_with_a_zone_compares_instants(
    api: Api, alice: User, query: dict[str, str], found: bool
) -> None:
    task = create_task(api, alice, title="t", due_at="2026-12-01T08:00:00Z")
    create_task(api, alice, title="no due date")

    response = list_with(api, alice, **query)

    assert response.status_code == 200, response.text
    assert [t["id"] for t in response.json()["items"]] == ([task["id"]] if found else [])


# The contract's range, in UTC, both ends excluded: what PostgreSQL, Python and JavaScript's Date
# all hold, less the two instants the driver reads as -infinity and infinity.
OUTSIDE_THE_RANGE = {
    "after_the_last_instant_once_in_utc": "9999-12-31T23:59:59-01:00",
    "before_the_first_instant_once_in_utc": "0001-01-01T00:00:00+01:00",
    "the_lower_end": "0001-01-01T00:00:00Z",
    "the_lower_end_with_an_offset": "0001-01-01T01:00:00+01:00",
    "the_upper_end": "9999-12-31T23:59:59.999999Z",
    "a_microsecond_after_the_upper_end": "9999-12-31T23:00:00-01:00",
}
AT_THE_ENDS_OF_THE_RANGE = {
    "the_first_instant": ("0001-01-01T00:00:00.000001Z", "0001-01-01T00:00:00.000001Z"),
    "the_last_instant": ("9999-12-31T23:59:59.999998Z", "9999-12-31T23:59:59.999998Z"),
    "the_last_second_with_an_offset": ("9999-12-31T22:59:59-01:00", "9999-12-31T23:59:59Z"),
    "the_first_second_with_an_offset": ("0001-01-01T01:00:01+01:00", "0001-01-01T00:00:01Z"),
    "javascripts_last_millisecond": ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999000Z"),
}


@pytest.mark.parametrize("value", OUTSIDE_THE_RANGE.values(), ids=OUTSIDE_THE_RANGE)
@pytest.mark.parametrize("method", WRITES)
def test_a_due_at_outside_the_contract_range_is_422_naming_the_body_field(
    api: Api, alice: User, method: str, value: str
) -> None:
    response = write_due_at(api, alice, method, value)

    assert response.status_code == 422, response.text
    assert names_location(response, "body", "due_at")
    assert "before 9999-12-31T23:59:59.999999Z" in response.text
    assert all(task["due_at"] is None for task in list_all_tasks(api, alice))


@pytest.mark.parametrize("value", OUTSIDE_THE_RANGE.values(), ids=OUTSIDE_THE_RANGE)
@pytest.mark.parametrize("parameter", ["due_before", "due_after"])
def test_a_due_filter_outside_the_contract_range_is_422_naming_the_parameter(
    api: Api, alice: User, parameter: str, value: str
) -> None:
    response = list_with(api, alice, **{parameter: value})

    assert response.status_code == 422, response.text
    assert names_location(response, "query", parameter)


@pytest.mark.parametrize(
    ("given", "answered"), AT_THE_ENDS_OF_THE_RANGE.values(), ids=AT_THE_ENDS_OF_THE_RANGE
)
@pytest.mark.parametrize("method", WRITES)
def test_a_due_at_at_either_end_of_the_range_is_stored_and_found_by_the_filters(
    api: Api, alice: User, method: str, given: str, answered: str
) -> None:
    response = write_due_at(api, alice, method, given)

    assert response.status_code in {200, 201}, response.text
    task = response.json()
    assert task["due_at"] == answered
    assert read_task(api, alice, task["id"])["due_at"] == answered
    found = list_with(api, alice, due_after=given, due_before="9999-12-31T23:59:59.999998Z")
    last_instant = answered == "9999-12-31T23:59:59.999998Z"
    assert [t["id"] for t in found.json()["items"]] == ([] if last_instant else [task["id"]])
    assert list_with(api, alice, due_before=given).json()["items"] == []
