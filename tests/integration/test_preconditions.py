"""Conditional headers: each operation evaluates the ones it declares and refuses the others.

An operation that silently ignored `If-None-Match: *` on a PUT, or `If-Match` on a GET, would
answer as if the condition held when nobody checked it: a client protecting itself against a
lost update would lose it. Such a header is 400 `bad_request`, naming it, and nothing is done.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Api, User
from tests.support.writes import Task, create_task, etag, read_task

TAKES_NO_PRECONDITION = "This operation does not evaluate {header}; nothing was done."


@dataclass(frozen=True)
class Call:
    """An operation as data: how to send it to a user's task."""

    name: str
    method: str
    suffix: str
    body: dict[str, Any] | None = None

    def send(
        self, api: Api, user: User, task_id: int, headers: list[tuple[str, str]]
    ) -> httpx.Response:
        path = f"{user.tasks_path}{self.suffix.format(id=task_id)}"
        response = api.http.request(
            self.method,
            path,
            json=self.body,
            headers=[("Authorization", f"Bearer {user.token}"), *headers],
        )
        api.contract.assert_conforms(response)
        return response


GET_TASK = Call("get_task", "GET", "/{id}")
WRITES = (
    Call("replace_task", "PUT", "/{id}", {"title": "replaced"}),
    Call("update_task", "PATCH", "/{id}", {"title": "patched"}),
    Call("toggle_task_completion", "PATCH", "/{id}/complete"),
    Call("delete_task", "DELETE", "/{id}"),
)
TAKE_NO_ENTITY_TAG = (
    Call("list_tasks", "GET", ""),
    Call("create_task", "POST", "", {"title": "new"}),
    Call("list_task_changes", "GET", "/changes"),
)
MALFORMED_ENTITY_TAGS = ["6", '"1', "W/1", '"1" "2"', '*, "1"', 'W/ "1"', "'1'", '"1";']


def name(call: Call) -> str:
    return call.name


@pytest.fixture
def task(api: Api, alice: User) -> Task:
    return create_task(api, alice, title="original")


def assert_refused_for(response: httpx.Response, header: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": "bad_request",
        "message": TAKES_NO_PRECONDITION.format(header=header),
        "details": {"header": header},
    }


# Undeclared preconditions


@pytest.mark.parametrize("if_none_match", ["*", '"1"', 'W/"1"', '"7"'])
@pytest.mark.parametrize("write", WRITES, ids=name)
def test_if_none_match_on_a_write_is_400_and_nothing_changes(
    api: Api, alice: User, task: Task, write: Call, if_none_match: str
) -> None:
    # Given a task at version 1
    # When a write is sent with If-None-Match, which no write evaluates
    response = write.send(api, alice, task["id"], [("If-None-Match", if_none_match)])

    # Then it is refused, naming the header, and the task is as it was
    assert_refused_for(response, "If-None-Match")
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("if_match", ['"99"', '"1"', "*"])
def test_if_match_on_get_is_400(
    api: Api, alice: User, task: Task, method: str, if_match: str
) -> None:
    # Given a task; when it is read with If-Match, which reading does not evaluate
    response = api.http.request(
        method,
        alice.task_path(task["id"]),
        headers={"Authorization": f"Bearer {alice.token}", "If-Match": if_match},
    )

    # Then 400 (HEAD: the same status, without the body)
    assert response.status_code == 400
    if method == "GET":
        api.contract.assert_conforms(response)
        assert_refused_for(response, "If-Match")


@pytest.mark.parametrize("call", [GET_TASK, *WRITES], ids=name)
def test_if_unmodified_since_is_400_on_every_operation(
    api: Api, alice: User, task: Task, call: Call
) -> None:
    # Given a task; when an operation is sent with a date-based precondition (the service sends
    # no Last-Modified, so it has no date to compare: If-Match is the way to say "unchanged")
    response = call.send(
        api, alice, task["id"], [("If-Unmodified-Since", "Sat, 28 Nov 2026 09:30:00 GMT")]
    )

    # Then it is refused and nothing changes
    assert_refused_for(response, "If-Unmodified-Since")
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
@pytest.mark.parametrize("call", TAKE_NO_ENTITY_TAG, ids=name)
def test_an_entity_tag_condition_on_an_operation_without_entity_tags_is_400(
    api: Api, alice: User, call: Call, header: str
) -> None:
    # Given a user without tasks; when an operation that has no entity tag gets a condition
    response = call.send(api, alice, 0, [(header, "*")])

    # Then it is refused and nothing is created
    assert_refused_for(response, header)
    assert api.request("GET", alice.tasks_path, token=alice.token).json()["items"] == []


def test_if_match_on_a_health_probe_is_400(api: Api) -> None:
    response = api.request("GET", "/health/live", headers={"If-Match": "*"})

    assert_refused_for(response, "If-Match")


@pytest.mark.parametrize(
    "header",
    [
        ("If-Modified-Since", "Sat, 28 Nov 2026 09:30:00 GMT"),
        ("If-Range", '"1"'),
    ],
)
def test_if_modified_since_and_if_range_are_ignored_as_rfc_9110_requires(
    api: Api, alice: User, task: Task, header: tuple[str, str]
) -> None:
    # Given a task; when it is read with a condition RFC 9110 tells a server without
    # modification dates or range requests to ignore (a full answer is always a correct one)
    response = GET_TASK.send(api, alice, task["id"], [header])

    # Then the task, as without the header
    assert response.status_code == 200
    assert response.json() == task


def test_a_browser_revalidation_with_if_none_match_is_still_304(
    api: Api, alice: User, task: Task
) -> None:
    response = GET_TASK.send(api, alice, task["id"], [("If-None-Match", etag(task["version"]))])

    assert response.status_code == 304


# Malformed entity tags


@pytest.mark.parametrize("if_match", MALFORMED_ENTITY_TAGS)
@pytest.mark.parametrize("write", WRITES, ids=name)
def test_a_malformed_if_match_is_400_not_412_and_nothing_changes(
    api: Api, alice: User, task: Task, write: Call, if_match: str
) -> None:
    # Given a task; when a write names something that is not a list of entity tags
    response = write.send(api, alice, task["id"], [("If-Match", if_match)])

    # Then the request is bad (nothing changed on the task's side), and nothing is done
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"
    assert response.json()["details"] == {"header": "If-Match"}
    assert read_task(api, alice, task["id"]) == task


@pytest.mark.parametrize("if_none_match", MALFORMED_ENTITY_TAGS)
def test_a_malformed_if_none_match_is_400(
    api: Api, alice: User, task: Task, if_none_match: str
) -> None:
    response = GET_TASK.send(api, alice, task["id"], [("If-None-Match", if_none_match)])

    assert response.status_code == 400, response.text
    assert response.json()["details"] == {"header": "If-None-Match"}


@pytest.mark.parametrize("if_match", ['"1",', ', "1"', '"9", , "1"'])
def test_empty_elements_of_an_entity_tag_list_are_skipped(
    api: Api, alice: User, task: Task, if_match: str
) -> None:
    # RFC 9110, 5.6.1.2: a recipient ignores empty list elements.
    response = WRITES[0].send(api, alice, task["id"], [("If-Match", if_match)])

    assert response.status_code == 200, response.text


# Repeated fields


def test_two_if_match_fields_are_one_list(api: Api, alice: User, task: Task) -> None:
    # Given a task at version 1; when If-Match comes as two fields, one of them current
    response = WRITES[0].send(api, alice, task["id"], [("If-Match", '"9"'), ("If-Match", '"1"')])

    # Then they are read as one list (RFC 9110, 5.3), not as the first alone
    assert response.status_code == 200, response.text


def test_two_if_none_match_fields_are_one_list(api: Api, alice: User, task: Task) -> None:
    response = GET_TASK.send(
        api, alice, task["id"], [("If-None-Match", '"9"'), ("If-None-Match", '"1"')]
    )

    assert response.status_code == 304
