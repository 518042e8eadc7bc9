"""The runtime every generated route runs on, request by request, without a server."""

from collections.abc import Sequence
from datetime import datetime

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request

from contract_runtime.conditional import parse_entity_tags
from contract_runtime.formats import DateTime, Integer
from contract_runtime.routing import (
    Operation,
    UnreadableRequest,
    UnsupportedMediaType,
    refuse_content_coding,
)
from contract_runtime.security import RepeatedCredentials, bearer_token

CONDITIONAL_PUT = Operation(
    admission=None, single_query=(), single_headers=(), entity_tag_headers=("If-Match",)
)


def request(headers: Sequence[tuple[str, str]] = (), query: bytes = b"") -> Request:
    return Request(
        {
            "type": "http",
            "method": "PUT",
            "path": "/",
            "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
            "query_string": query,
        }
    )


def test_an_entity_tag_list_skips_empty_elements_and_tells_weak_from_strong() -> None:
    tags = parse_entity_tags(' , "1", , W/"2",')

    assert (tags.any, tags.strong, tags.weak) == (False, frozenset({'"1"'}), frozenset({'"2"'}))
    assert tags.match_weakly('"2"')
    assert not tags.match_weakly('"3"')


@pytest.mark.parametrize("header", ["", "1", '"1" "2"', 'w/"1"', '"a"b"', '*, "1"'])
def test_what_is_neither_a_star_nor_an_entity_tag_list_is_refused(header: str) -> None:
    with pytest.raises(ValueError, match="neither"):
        parse_entity_tags(header)


def test_entity_tag_fields_are_read_as_one_list() -> None:
    scope = CONDITIONAL_PUT.scope_to_read(request([("If-Match", '"1"'), ("If-Match", '"2"')]))

    assert [value for name, value in scope["headers"] if name == b"if-match"] == [b'"1", "2"']


@pytest.mark.parametrize(
    ("headers", "at_fault"),
    [
        ([("If-None-Match", "*")], "If-None-Match"),
        ([("If-Unmodified-Since", "Tue, 01 Dec 2026 17:00:00 GMT")], "If-Unmodified-Since"),
        ([("If-Match", "1")], "If-Match"),
    ],
)
def test_a_precondition_the_operation_cannot_evaluate_is_refused(
    headers: list[tuple[str, str]], at_fault: str
) -> None:
    with pytest.raises(UnreadableRequest) as refused:
        CONDITIONAL_PUT.scope_to_read(request(headers))

    assert refused.value.header == at_fault


@pytest.mark.parametrize("query", [b"q=%FF", b"q=100%", b"q=caf\xc3\xa9"])
def test_a_query_that_is_not_percent_encoded_utf8_is_unreadable(query: bytes) -> None:
    with pytest.raises(UnreadableRequest):
        CONDITIONAL_PUT.scope_to_read(request(query=query))


def test_a_single_valued_parameter_sent_twice_is_a_validation_error() -> None:
    listing = Operation(
        admission=None, single_query=("limit",), single_headers=(), entity_tag_headers=()
    )

    with pytest.raises(RequestValidationError) as refused:
        listing.scope_to_read(request(query=b"limit=1&limit=2&tag=a&tag=b"))

    assert [error["loc"] for error in refused.value.errors()] == [("query", "limit")]


def test_a_coded_body_is_refused_and_identity_is_not_a_coding() -> None:
    refuse_content_coding(request([("Content-Encoding", "identity")]))

    with pytest.raises(UnsupportedMediaType) as refused:
        refuse_content_coding(request([("Content-Encoding", "identity, gzip")]))

    assert "gzip" in refused.value.message


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ([], None),
        ([("Authorization", "Basic abc")], None),
        ([("Authorization", "bEaReR  abc ")], "abc"),
        ([("Authorization", "Bearer ")], None),
    ],
)
def test_the_bearer_token_is_read_case_insensitively(
    headers: list[tuple[str, str]], token: str | None
) -> None:
    assert bearer_token(request(headers)) == token


def test_two_authorization_headers_are_refused() -> None:
    with pytest.raises(RepeatedCredentials):
        bearer_token(request([("Authorization", "Bearer a"), ("Authorization", "Bearer b")]))


@pytest.mark.parametrize("spelling", ["052", "+52", "52.0", "5_2", " 52"])
def test_an_integer_parameter_has_one_spelling(spelling: str) -> None:
    assert TypeAdapter(Integer).validate_python("52") == 52
    with pytest.raises(ValidationError):
        TypeAdapter(Integer).validate_python(spelling)


@pytest.mark.parametrize(
    "value",
    ["2026-12-01", "2026-12-01T17:00:00", "0", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"],
)
def test_a_date_time_has_a_zone_and_lies_within_the_range(value: str) -> None:
    adapter = TypeAdapter(DateTime)
    assert isinstance(adapter.validate_python("2026-12-01T17:00:00+01:00"), datetime)
    with pytest.raises(ValidationError):
        adapter.validate_python(value)
