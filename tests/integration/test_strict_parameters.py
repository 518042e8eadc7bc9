"""Parameters are read in one spelling each: one value per single-valued parameter, booleans as
`true` or `false`, and a query string that is percent-encoded UTF-8.

Whatever the service would otherwise guess (the first of two headers, the last of two query
values, U+FFFD for a byte that is not UTF-8) another reader of the same request, a proxy or a
log, may guess differently.
"""

import httpx
import pytest

from tests.conftest import Api, User
from tests.support.writes import error_locations


def list_tasks(api: Api, user: User, query: str) -> httpx.Response:
    response = api.http.get(
        f"{user.tasks_path}?{query}", headers={"Authorization": f"Bearer {user.token}"}
    )
    api.contract.assert_conforms(response)
    return response


def created_titles(api: Api, user: User) -> list[str]:
    items = api.request("GET", user.tasks_path, token=user.token).json()["items"]
    return [item["title"] for item in items]


# Repeated headers


@pytest.mark.parametrize("keys", [("k-1", "k-2"), ("k-1", "k-1")], ids=["different", "same"])
def test_two_idempotency_key_headers_are_400_naming_it_and_create_nothing(
    api: Api, alice: User, keys: tuple[str, str]
) -> None:
    # Given a create with two Idempotency-Key fields
    response = api.http.post(
        alice.tasks_path,
        json={"title": "t"},
        headers=[
            ("Authorization", f"Bearer {alice.token}"),
            ("Idempotency-Key", keys[0]),
            ("Idempotency-Key", keys[1]),
        ],
    )
    api.contract.assert_conforms(response)

    # Then neither is taken, and nothing is created
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "message": "Send one Idempotency-Key header, not several.",
        "details": {"header": "Idempotency-Key"},
    }
    assert created_titles(api, alice) == []


# Booleans


@pytest.mark.parametrize("spelling", ["1", "0", "yes", "no", "on", "off", "True", "FALSE", "t"])
def test_overdue_other_than_true_or_false_is_422(api: Api, alice: User, spelling: str) -> None:
    response = list_tasks(api, alice, f"overdue={spelling}")

    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert error_locations(response) == [["query", "overdue"]]


@pytest.mark.parametrize("spelling", ["true", "false"])
def test_overdue_true_or_false_is_read(api: Api, alice: User, spelling: str) -> None:
    assert list_tasks(api, alice, f"overdue={spelling}").status_code == 200


# Repeated query parameters


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=pending&status=completed", "status"),
        ("status=pending&status=pending", "status"),
        ("limit=5&limit=10", "limit"),
        ("overdue=true&overdue=false", "overdue"),
        ("q=milk&q=bread", "q"),
        ("sort=title&sort=-title", "sort"),
        ("due_before=2026-12-01T00:00:00Z&due_before=2026-12-02T00:00:00Z", "due_before"),
    ],
)
def test_a_repeated_single_valued_query_parameter_is_422_naming_it(
    api: Api, alice: User, query: str, parameter: str
) -> None:
    response = list_tasks(api, alice, query)

    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert error_locations(response) == [["query", parameter]]


def test_a_repeated_single_valued_parameter_of_the_changes_feed_is_422(
    api: Api, alice: User
) -> None:
    response = api.http.get(
        f"{alice.tasks_path}/changes?limit=1&limit=2",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    api.contract.assert_conforms(response)

    assert response.status_code == 422
    assert error_locations(response) == [["query", "limit"]]


def test_repeated_array_parameters_are_still_each_one_value(api: Api, alice: User) -> None:
    response = list_tasks(api, alice, "priority=high&priority=low&tag=a&tag=b")

    assert response.status_code == 200


# Encoding


@pytest.mark.parametrize(
    "query",
    ["q=%FF", "q=%C3", "q=milk%C3%28", "tag=%ED%A0%80", "%FF=1", "q=%G1", "q=50%", "q=%2"],
)
def test_a_query_that_is_not_percent_encoded_utf8_is_400(api: Api, alice: User, query: str) -> None:
    response = list_tasks(api, alice, query)

    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": "bad_request",
        "message": "The query string must be UTF-8, percent-encoded (RFC 3986).",
        "details": None,
    }


def test_percent_encoded_utf8_is_read(api: Api, alice: User) -> None:
    assert list_tasks(api, alice, "q=caf%C3%A9+cr%C3%A8me").status_code == 200
