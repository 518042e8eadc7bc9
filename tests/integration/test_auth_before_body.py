"""Who the caller is, and whether the path is theirs, is settled before the body is looked at.

A caller without the right to an operation learns nothing from its answer about how the body
would have been read (a JSON parse position, a size limit), and costs no body read.
"""

from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Api, User
from tests.support.raw_http import connect, is_closed, read_answer
from tests.support.tokens import token_for


@dataclass(frozen=True)
class BodyOperation:
    name: str
    method: str
    suffix: str

    def path(self, user: User) -> str:
        return user.tasks_path + self.suffix


BODY_OPERATIONS = (
    BodyOperation("create_task", "POST", ""),
    BodyOperation("replace_task", "PUT", "/1"),
    BodyOperation("update_task", "PATCH", "/1"),
    BodyOperation("toggle_task_completion", "PATCH", "/1/complete"),
)
MALFORMED_JSON = b'{"title": '
OVERSIZED = 1_000_000


def name(operation: BodyOperation) -> str:
    return operation.name


def send(
    api: Api, operation: BodyOperation, user: User, content: bytes, token: str | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = api.http.request(
        operation.method, operation.path(user), content=content, headers=headers
    )
    api.contract.assert_conforms(response)
    return response


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=name)
def test_anonymous_malformed_json_is_401(api: Api, alice: User, operation: BodyOperation) -> None:
    # Given no token; when a body that is not JSON is sent
    response = send(api, operation, alice, MALFORMED_JSON, token=None)

    # Then 401, and nothing about the body
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=name)
def test_an_invalid_token_with_malformed_json_is_401(
    api: Api, alice: User, operation: BodyOperation
) -> None:
    response = send(api, operation, alice, MALFORMED_JSON, token="not.a.token")

    assert response.status_code == 401


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=name)
def test_another_users_token_with_malformed_json_is_403(
    api: Api, alice: User, bob: User, operation: BodyOperation
) -> None:
    # Given Bob's token on Alice's path; when a body that is not JSON is sent
    response = send(api, operation, alice, MALFORMED_JSON, token=bob.token)

    # Then 403, as with a good body
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=name)
def test_another_users_token_with_an_invalid_body_is_403(
    api: Api, alice: User, bob: User, operation: BodyOperation
) -> None:
    response = send(api, operation, alice, b'{"title": ""}', token=bob.token)

    assert response.status_code == 403


@pytest.mark.parametrize("query", ["limit=abc", "status=a&status=b", "q=%FF"])
def test_another_users_token_with_a_bad_query_is_403(
    api: Api, alice: User, bob: User, query: str
) -> None:
    # Given Bob's token on Alice's list; when its query is bad, then 403: Bob learns nothing of
    # how Alice's list reads a query
    response = api.http.get(
        f"{alice.tasks_path}?{query}", headers={"Authorization": f"Bearer {bob.token}"}
    )
    api.contract.assert_conforms(response)

    assert response.status_code == 403


def test_another_users_token_on_a_path_that_names_no_user_is_422(api: Api, bob: User) -> None:
    # A path that names no user is nobody's: it is malformed, for any caller.
    response = api.request("GET", "/api/has space/tasks", token=bob.token)

    assert response.status_code == 422


@pytest.mark.parametrize("token", [None, "bob"], ids=["anonymous", "another_user"])
@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=name)
def test_a_refused_caller_with_an_oversized_body_is_answered_without_reading_it(
    service_url: str, alice: User, operation: BodyOperation, token: str | None
) -> None:
    # Given a request that declares a body far over the limit, of which only a little is sent
    authorization = [f"Authorization: Bearer {token_for(token)}"] if token else []
    head = "\r\n".join(
        [
            f"{operation.method} {operation.path(alice)} HTTP/1.1",
            "Host: localhost",
            "Content-Type: application/json",
            f"Content-Length: {OVERSIZED}",
            *authorization,
        ]
    )
    with connect(service_url) as connection:
        connection.sendall(head.encode() + b"\r\n\r\n" + b'{"title": "')

        # When it is answered
        answer = read_answer(connection)

        # Then it is the caller's refusal, not the body's, and the connection is closed
        assert answer.status == (401 if token is None else 403)
        assert answer.headers["connection"] == "close"
        assert is_closed(connection)


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=name)
def test_anonymous_gzip_body_is_401(api: Api, alice: User, operation: BodyOperation) -> None:
    response = api.http.request(
        operation.method,
        operation.path(alice),
        content=b"\x1f\x8b",
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert response.status_code == 401
