"""The error catalog (impl.errors.ErrorCode) holds to openapi.yaml.

REACH places each code on the operations it may be answered on. Each of those operations
declares the code's status, and the response it declares there names the code and the headers
the code carries; each code the contract's examples show is the catalog's, at the catalog's
status.
"""

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from impl.edge import refusals
from impl.edge.refusals import Refusal
from impl.error_handlers import request_timeout_response
from impl.errors import ErrorCode
from tests.support.contract import HTTP_METHODS, Contract

CONTRACT = Contract()
DOCUMENT = CONTRACT.document
resolve = CONTRACT.resolve
# A code in a response's description is written in backticks, as the contract writes every name.
NAMED = re.compile(r"`([a-z][a-z0-9_]*)`")


@dataclass(frozen=True)
class Operation:
    id: str
    tag: str
    secured: bool
    takes_body: bool
    parameters: frozenset[str]
    # By status, as the contract declares them.
    responses: dict[str, dict[str, Any]]


def contract_operations() -> Iterator[Operation]:
    for item in DOCUMENT["paths"].values():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            yield Operation(
                id=operation["operationId"],
                tag=operation["tags"][0],
                secured=bool(operation.get("security", DOCUMENT.get("security"))),
                takes_body="requestBody" in operation,
                parameters=frozenset(resolve(p)["name"] for p in parameters),
                responses={str(s): resolve(r) for s, r in operation["responses"].items()},
            )


OPERATIONS = list(contract_operations())

Reach = Callable[[Operation], bool]


def every(operation: Operation) -> bool:
    return True


def nowhere(operation: Operation) -> bool:
    return False


def secured(operation: Operation) -> bool:
    return operation.secured


def takes_body(operation: Operation) -> bool:
    return operation.takes_body


def takes_input(operation: Operation) -> bool:
    return operation.takes_body or bool(operation.parameters)


def has_parameter(name: str) -> Reach:
    return lambda operation: name in operation.parameters


def tagged(tag: str) -> Reach:
    return lambda operation: operation.tag == tag


def named(*operation_ids: str) -> Reach:
    return lambda operation: operation.id in operation_ids


def either(*reaches: Reach) -> Reach:
    return lambda operation: any(reach(operation) for reach in reaches)


# The operations that wait for the database: the tasks', and the readiness probe (which answers
# a statement past its second as `service_unavailable`, not as `database_timeout`).
ON_THE_DATABASE = either(tagged("tasks"), tagged("lists"), named("check_readiness"))
# The operations on one list, named by its path (`list_id` in the query of the task list is a
# filter: a list it does not find has no tasks).
ON_ONE_LIST = named("get_list", "replace_list", "update_list", "delete_list", "move_list")
# Which of the contract's operations each code may be answered on. `nowhere`: only to requests
# no operation serves (a method a path does not serve, the docs pages without their bundles, a
# refused CORS preflight). `not_found` also answers a path no operation serves.
REACH: dict[ErrorCode, Reach] = {
    # From the edge, on any path; or a header or query string the route cannot read.
    ErrorCode.BAD_REQUEST: every,
    ErrorCode.MALFORMED_JSON: takes_body,
    ErrorCode.INVALID_REQUEST: secured,
    ErrorCode.INVALID_CURSOR: has_parameter("cursor"),
    ErrorCode.INVALID_SYNC_TOKEN: has_parameter("since"),
    ErrorCode.CORS_PREFLIGHT_REJECTED: nowhere,
    ErrorCode.UNAUTHORIZED: secured,
    ErrorCode.FORBIDDEN: secured,
    ErrorCode.NOT_FOUND: either(has_parameter("task_id"), ON_ONE_LIST),
    ErrorCode.METHOD_NOT_ALLOWED: nowhere,
    # A head too slow, on any path; a body too slow, on an operation that reads one.
    ErrorCode.REQUEST_TIMEOUT: every,
    ErrorCode.TASK_LIMIT_REACHED: named("create_task"),
    ErrorCode.LIST_LIMIT_REACHED: named("create_list"),
    ErrorCode.INBOX_PROTECTED: named("replace_list", "update_list", "delete_list"),
    ErrorCode.NOT_RECURRING: named("skip_task_occurrence"),
    ErrorCode.SYNC_TOKEN_EXPIRED: has_parameter("since"),
    ErrorCode.PRECONDITION_FAILED: has_parameter("If-Match"),
    ErrorCode.CONTENT_TOO_LARGE: takes_body,
    ErrorCode.URI_TOO_LONG: every,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: takes_body,
    ErrorCode.VALIDATION_FAILED: takes_input,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: has_parameter("Idempotency-Key"),
    ErrorCode.HEADER_FIELDS_TOO_LARGE: every,
    ErrorCode.INTERNAL_ERROR: every,
    # An unknown method or an upgrade with a body (the edge), or a transfer coding the
    # service does not read.
    ErrorCode.NOT_IMPLEMENTED: every,
    ErrorCode.SERVICE_UNAVAILABLE: ON_THE_DATABASE,
    ErrorCode.SERVICE_BUSY: ON_THE_DATABASE,
    ErrorCode.AUTH_UNAVAILABLE: secured,
    ErrorCode.SHUTTING_DOWN: ON_THE_DATABASE,
    ErrorCode.DOCS_UNAVAILABLE: nowhere,
    # An operation's result inside a batch's answer, never a response of its own.
    ErrorCode.NOT_APPLIED: nowhere,
    ErrorCode.DATABASE_TIMEOUT: either(tagged("tasks"), tagged("lists")),
}
# Answered before a route is found, whatever the path: the contract's description says so for
# every path at once.
ANY_PATH = [
    ErrorCode.BAD_REQUEST,
    ErrorCode.METHOD_NOT_ALLOWED,
    ErrorCode.REQUEST_TIMEOUT,
    ErrorCode.URI_TOO_LONG,
    ErrorCode.HEADER_FIELDS_TOO_LARGE,
    ErrorCode.NOT_IMPLEMENTED,
]
CODES = list(ErrorCode)


def codes_named(response: dict[str, Any]) -> set[str]:
    """The codes a response's description names, and its examples' `error`s."""
    named_codes = set(NAMED.findall(response.get("description", "")))
    return named_codes | set(example_codes(response))


def example_codes(response: dict[str, Any]) -> list[str]:
    """The `error` of each example of a response in the `Error` shape."""
    media = response.get("content", {}).get("application/json", {})
    if media.get("schema") != {"$ref": "#/components/schemas/Error"}:
        return []
    examples = [media["example"]] if "example" in media else []
    examples += [resolve(example)["value"] for example in media.get("examples", {}).values()]
    return [example["error"] for example in examples]


def test_each_code_is_placed_among_the_operations() -> None:
    assert set(REACH) == set(ErrorCode)


@pytest.mark.parametrize(
    "error", [e for e in CODES if REACH[e] is not nowhere], ids=lambda error: error.code
)
def test_a_code_placed_on_operations_reaches_one(error: ErrorCode) -> None:
    assert [operation.id for operation in OPERATIONS if REACH[error](operation)]


@pytest.mark.parametrize("error", CODES, ids=lambda error: error.code)
def test_each_operation_a_code_reaches_declares_its_status(error: ErrorCode) -> None:
    undeclared = [
        operation.id
        for operation in OPERATIONS
        if REACH[error](operation) and str(error.status) not in operation.responses
    ]

    assert undeclared == [], f"{error.code} may answer these, which declare no {error.status}"


@pytest.mark.parametrize("error", CODES, ids=lambda error: error.code)
def test_each_operation_a_code_reaches_names_it_and_its_headers(error: ErrorCode) -> None:
    missing = []
    for operation in OPERATIONS:
        response = operation.responses.get(str(error.status))
        if not REACH[error](operation) or response is None:
            continue
        if error.code not in codes_named(response):
            missing.append((operation.id, error.code))
        missing += [
            (operation.id, header)
            for header in error.headers
            if header not in response.get("headers", {})
        ]

    assert missing == []


def test_each_code_the_contract_shows_is_the_catalogs_at_its_status() -> None:
    shown = {
        (code, status)
        for operation in OPERATIONS
        for status, response in operation.responses.items()
        for code in example_codes(response)
    }
    catalog = {(error.code, str(error.status)) for error in ErrorCode}

    assert shown
    assert shown - catalog == set()


@pytest.mark.parametrize("error", ANY_PATH, ids=lambda error: error.code)
def test_what_any_path_may_be_answered_is_documented_for_every_path(error: ErrorCode) -> None:
    assert f"`{error.status}`" in DOCUMENT["info"]["description"]


@pytest.mark.parametrize("error", CODES, ids=lambda error: error.code)
def test_each_code_is_spelled_as_the_error_schema_requires(error: ErrorCode) -> None:
    pattern = DOCUMENT["components"]["schemas"]["Error"]["properties"]["error"]["pattern"]

    assert re.fullmatch(pattern, error.code)


def edge_answer(refusal: Refusal) -> tuple[int, object]:
    """The status and the JSON body of the bytes the edge writes for `refusal`."""
    head, body = refusal.encode([]).split(b"\r\n\r\n", 1)
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_a_late_head_and_a_late_body_are_answered_alike() -> None:
    # Given the same time limit on a request's head and on its body, when each comes too late:
    late_head = edge_answer(refusals.header_too_slow(10.0))
    response = request_timeout_response(10.0)
    late_body = (response.status_code, json.loads(bytes(response.body)))

    # Then the client is told the same, whichever part was late.
    assert late_head == late_body
    assert late_body[1] == {
        "error": "request_timeout",
        "message": "The request did not arrive in full within 10 seconds.",
        "details": {"timeout_seconds": 10.0},
    }
