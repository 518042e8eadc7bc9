"""Bad input gets a structured 4xx, never a 500, and writes nothing."""

import gzip
import json
from collections.abc import Iterator
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from tests.conftest import Api, User
from tests.support.operations import BODY_OPERATIONS, TASK_OPERATIONS, Operation, ids
from tests.support.postgres import execute
from tests.support.raw_http import raw_exchange
from tests.support.tokens import token_for

CONTROL_CHARACTERS = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f"]

TOO_LARGE = {
    "error": "content_too_large",
    "message": "The request body exceeds 65536 bytes.",
    "details": {"limit_bytes": 65536},
}

INVALID_BODIES = {
    "empty_title": {"title": ""},
    "blank_title": {"title": "   "},
    "whitespace_title": {"title": "\t\r\n "},
    "title_of_201": {"title": "x" * 201},
    "description_of_1001": {"title": "t", "description": "d" * 1001},
    "missing_title": {"description": "d"},
    "null_title": {"title": None},
    "numeric_title": {"title": 123},
    "list_title": {"title": ["t"]},
    "numeric_description": {"title": "t", "description": 5},
    "unknown_field": {"title": "t", "colour": "red"},
    "client_sets_id": {"title": "t", "id": 5},
    "client_sets_user_id": {"title": "t", "user_id": "someone_else"},
    "client_sets_completed": {"title": "t", "completed": True},
    "client_sets_created_at": {"title": "t", "created_at": "2026-01-01T00:00:00Z"},
    "array_body": ["t"],
    "string_body": "t",
    "null_body": None,
    **{f"title_with_{ord(c):#04x}": {"title": f"a{c}b"} for c in CONTROL_CHARACTERS},
    **{
        f"description_with_{ord(c):#04x}": {"title": "t", "description": f"a{c}b"}
        for c in CONTROL_CHARACTERS
    },
}


@pytest.fixture
def task_id(api: Api, alice: User) -> int:
    created = api.request("POST", alice.tasks_path, token=alice.token, json={"title": "original"})
    task_id: int = created.json()["id"]
    return task_id


def send_raw_json(
    api: Api, user: User, operation: Operation, task_id: int, content: str | bytes
) -> httpx.Response:
    """The body exactly as given, declared as JSON."""
    return api.request(
        operation.method,
        operation.path(user.id, task_id),
        token=user.token,
        content=content,
        headers={"Content-Type": "application/json"},
    )


def assert_nothing_written(api: Api, user: User, task_id: int) -> None:
    items = api.request("GET", user.tasks_path, token=user.token).json()["items"]
    assert [(t["id"], t["title"], t["description"]) for t in items] == [(task_id, "original", None)]


@pytest.mark.parametrize("kind", sorted(INVALID_BODIES))
@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=ids)
def test_invalid_body_is_422(
    api: Api, alice: User, task_id: int, operation: Operation, kind: str
) -> None:
    response = send_raw_json(api, alice, operation, task_id, json.dumps(INVALID_BODIES[kind]))

    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"] == "validation_failed"
    assert all({"location", "message", "type"} <= set(d) for d in error["details"])
    assert_nothing_written(api, alice, task_id)


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=ids)
def test_missing_body_is_422(api: Api, alice: User, task_id: int, operation: Operation) -> None:
    response = api.request(operation.method, operation.path(alice.id, task_id), token=alice.token)

    assert response.status_code == 422
    assert response.json()["details"][0]["location"] == ["body"]
    assert_nothing_written(api, alice, task_id)


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=ids)
def test_lone_surrogate_escape_is_400_malformed_json(
    api: Api, alice: User, task_id: int, operation: Operation
) -> None:
    # An escaped lone surrogate names no character, so the text has no UTF-8 form: RFC 8259
    # (8.2) leaves its meaning undefined, and it is refused as the body's JSON, not as a field.
    response = send_raw_json(api, alice, operation, task_id, '{"title": "a\\ud800b"}')

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert_nothing_written(api, alice, task_id)


# Every body that is not UTF-8 JSON as RFC 8259 defines it: broken syntax, bytes that are not
# UTF-8 (a latin-1 "é", a byte-order mark), the non-standard NaN and Infinity, nesting and
# numbers past what any parser here holds.
MALFORMED_BODIES = {
    "unfinished": b'{"title": ',
    "single quotes": b"{'title': 'single quotes'}",
    "trailing text": b'{"title": "t"} trailing',
    "utf-16 byte-order mark": b"\xff\xfe",
    "latin-1": '{"title": "caf\xe9"}'.encode("latin-1"),
    "nan": b'{"title": "t", "x": NaN}',
    "infinity": b'{"title": "t", "x": Infinity}',
    "minus infinity": b'{"title": "t", "x": -Infinity}',
    "nested 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
    "unclosed 50,000 deep": b"[" * 50_000,
    "number of 5,000 digits": b'{"title": "t", "x": ' + b"9" * 5_000 + b"}",
}


@pytest.mark.parametrize("body", sorted(MALFORMED_BODIES))
@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=ids)
def test_malformed_json_is_400_malformed_json(
    api: Api, alice: User, task_id: int, operation: Operation, body: str
) -> None:
    response = send_raw_json(api, alice, operation, task_id, MALFORMED_BODIES[body])

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert_nothing_written(api, alice, task_id)


def test_a_body_declared_latin_1_is_read_as_the_utf_8_json_must_be(
    api: Api, alice: User, task_id: int
) -> None:
    response = api.request(
        "POST",
        alice.tasks_path,
        token=alice.token,
        content='{"title": "caf\xe9"}'.encode("latin-1"),
        headers={"Content-Type": "application/json; charset=latin-1"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert_nothing_written(api, alice, task_id)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "+json",
        "application/problem+json",
    ],
)
@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=ids)
def test_body_that_is_not_json_is_415(
    api: Api, alice: User, task_id: int, operation: Operation, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    response = api.request(
        operation.method,
        operation.path(alice.id, task_id),
        token=alice.token,
        content=b'{"title": "t"}',
        headers=headers,
    )

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert_nothing_written(api, alice, task_id)


CODED_BODIES = {
    "gzip": ("gzip", gzip.compress(b'{"title": "t"}')),
    "plain body labelled gzip": ("gzip", b'{"title": "t"}'),
    "br": ("br", b'{"title": "t"}'),
    "gzip then identity": ("gzip, identity", gzip.compress(b'{"title": "t"}')),
}


@pytest.mark.parametrize("coded", sorted(CODED_BODIES))
@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=ids)
def test_a_body_with_a_content_coding_is_415(
    api: Api, alice: User, task_id: int, operation: Operation, coded: str
) -> None:
    coding, body = CODED_BODIES[coded]

    response = api.request(
        operation.method,
        operation.path(alice.id, task_id),
        token=alice.token,
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": coding},
    )

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert "Content-Encoding" in response.json()["message"]
    assert_nothing_written(api, alice, task_id)


def test_identity_coding_is_the_body_as_sent(api: Api, alice: User) -> None:
    response = api.request(
        "POST",
        alice.tasks_path,
        token=alice.token,
        content=b'{"title": "t"}',
        headers={"Content-Type": "application/json", "Content-Encoding": "identity"},
    )

    assert response.status_code == 201


def test_json_with_charset_parameter_is_accepted(api: Api, alice: User) -> None:
    response = api.request(
        "POST",
        alice.tasks_path,
        token=alice.token,
        content=b'{"title": "t"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=ids)
def test_body_over_the_limit_is_413(
    api: Api, alice: User, task_id: int, operation: Operation
) -> None:
    oversized = {"title": "t", "description": "d" * (64 * 1024)}

    response = api.request(
        operation.method, operation.path(alice.id, task_id), token=alice.token, json=oversized
    )

    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert_nothing_written(api, alice, task_id)


def test_streamed_body_over_the_limit_is_413(api: Api, alice: User, task_id: int) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"title": "t", "description": "'
        for _ in range(80):
            yield b"d" * 1024
        yield b'"}'

    response = api.request(
        "POST",
        alice.tasks_path,
        token=alice.token,
        content=chunks(),  # type: ignore[arg-type]
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert_nothing_written(api, alice, task_id)


@pytest.mark.parametrize(
    "raw_task_id",
    [
        *("abc", "1.5", "1e3", "0", "-1", str(2**63), str(10**30), "%00", "0x10"),
        # Another spelling of an existing id is not the same URL: only ^[1-9][0-9]*$ names a task.
        *("0{id}", "+{id}", "{id}.0", "{id}_0", "%20{id}", "{id}%0A", "0" * 40 + "{id}"),
    ],
)
@pytest.mark.parametrize("operation", TASK_OPERATIONS, ids=ids)
def test_task_id_that_is_not_a_positive_int64_is_422(
    api: Api, alice: User, operation: Operation, raw_task_id: str
) -> None:
    task = api.request("POST", alice.tasks_path, token=alice.token, json={"title": "t"}).json()

    response = api.request(
        operation.method,
        operation.path(alice.id, raw_task_id.replace("{id}", str(task["id"]))),
        token=alice.token,
        json=operation.body,
    )

    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["location"] == ["path", "task_id"]
    assert api.request("GET", alice.task_path(task["id"]), token=alice.token).json() == task


@pytest.mark.parametrize("raw_limit", ["05", "+5", "5.0", "5_0", " 5"])
def test_integer_query_parameter_in_another_spelling_is_422(
    api: Api, alice: User, raw_limit: str
) -> None:
    response = api.request("GET", f"{alice.tasks_path}?limit={quote(raw_limit)}", token=alice.token)

    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["location"] == ["query", "limit"]


@pytest.mark.parametrize("encoded", ["%2F", "%2f"])
def test_an_encoded_slash_never_splits_a_segment(
    api: Api, http: httpx.Client, alice: User, encoded: str
) -> None:
    task = api.request("POST", alice.tasks_path, token=alice.token, json={"title": "t"}).json()

    response = http.patch(
        f"{alice.tasks_path}/{task['id']}{encoded}complete",
        headers={"Authorization": f"Bearer {alice.token}"},
    )

    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found"
    assert api.request("GET", alice.task_path(task["id"]), token=alice.token).json() == task


@pytest.mark.parametrize("user_id", ["a" * 129, "has space", "dollar$", "ünï", "%00"])
def test_malformed_user_id_is_422(api: Api, alice: User, user_id: str) -> None:
    # A token's subject is always a well-formed user id (or the token is refused, 401): the
    # caller is authenticated, and the path is what is malformed.
    response = api.request("GET", f"/api/{user_id}/tasks", token=alice.token)

    assert response.status_code == 422
    assert response.json()["details"][0]["location"] == ["path", "user_id"]


@pytest.mark.parametrize("path", ["/api/nope", "/api/u/tasks/", "/health/live/"])
def test_unknown_path_is_404_in_the_error_shape(http: httpx.Client, path: str) -> None:
    response = http.get(path)

    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "message": "No resource lives at this path.",
        "details": None,
    }


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/api/u/tasks", "GET, HEAD, POST"),
        ("DELETE", "/api/u/tasks", "GET, HEAD, POST"),
        ("POST", "/api/u/tasks/1", "DELETE, GET, HEAD, PATCH, PUT"),
        ("PUT", "/api/u/tasks/changes", "GET, HEAD"),
        ("GET", "/api/u/tasks/1/complete", "PATCH"),
        ("TRACE", "/api/u/tasks/1/complete", "PATCH"),
        ("POST", "/health/ready", "GET, HEAD"),
    ],
)
def test_unsupported_method_is_405_with_every_allowed_method(
    http: httpx.Client, method: str, path: str, allowed: str
) -> None:
    response = http.request(method, path)

    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("title", ["\ufeff", "\ufeff\ufeff", " \ufeff\u3000"])
def test_a_title_of_only_what_ecma_262_calls_whitespace_is_422(
    api: Api, alice: User, task_id: int, title: str
) -> None:
    # U+FEFF is whitespace to a client's RegExp (\s), so the contract's Title refuses it; the
    # service must not accept a task that every client validating with the contract refuses.
    response = api.request("POST", alice.tasks_path, token=alice.token, json={"title": title})

    assert response.status_code == 422
    assert_nothing_written(api, alice, task_id)


def raw_get(base_url: str, raw_path: str, token: str) -> tuple[int, dict[str, object]]:
    """GET with the request target exactly as given: an HTTP client would resolve dot segments."""
    answer = raw_exchange(
        base_url,
        f"GET {raw_path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n",
    )
    document: dict[str, object] = answer.document()
    return answer.status, document


@pytest.mark.parametrize("segment", [".", "..", "%2E", "%2e%2E"])
def test_dot_segments_are_not_user_ids(service_url: str, alice: User, segment: str) -> None:
    # Every RFC 3986 client removes these before sending; only a raw request target has them.
    status, document = raw_get(service_url, f"/api/{segment}/tasks", alice.token)

    assert status == 422
    details = document["details"]
    assert isinstance(details, list)
    (problem,) = details
    assert problem["location"] == ["path", "user_id"]
    assert problem["type"] == "string_pattern_mismatch"


@pytest.mark.parametrize("subject", [".", ".."])
def test_a_token_for_a_dot_segment_is_refused(service_url: str, subject: str) -> None:
    status, document = raw_get(service_url, f"/api/{subject}/tasks", token_for(subject))

    assert status == 401
    assert document["error"] == "unauthorized"


def test_the_database_refuses_tasks_for_dot_segment_users(database_url: str) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        execute(database_url, "INSERT INTO tasks (user_id, title) VALUES ('..', 't')")


@pytest.mark.parametrize(("path", "status"), [("/health/live", 200), ("/api/nope", 404)])
def test_a_websocket_upgrade_is_an_ordinary_request(
    service_url: str, path: str, status: int
) -> None:
    # The service has no WebSocket endpoint: an upgrade request is answered as the same request
    # without it, in the contract's shapes, not with the empty 403 of a refused handshake.
    answer = raw_exchange(
        service_url,
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )

    assert answer.status == status
    document = answer.document()
    if status == 200:
        assert document == {"status": "ok"}
    else:
        assert document["error"] == "not_found"
