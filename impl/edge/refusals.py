"""The answers the edge gives by itself: the contract's Error shape, closing the connection."""

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools

from impl.json import dumps

# A request line whose method is a token (RFC 9110 §9.1) that the parser does not know.
UNKNOWN_METHOD_LINE = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ \r\n]+ HTTP/1\.[01]\r\n")


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str
    details: dict[str, Any] | None

    def encode(self, default_headers: list[tuple[bytes, bytes]]) -> bytes:
        body = dumps({"error": self.code, "message": self.message, "details": self.details})
        status = HTTPStatus(self.status)
        head = [f"HTTP/1.1 {status.value} {status.phrase}".encode()]
        head += [name + b": " + value for name, value in default_headers]
        head += [
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
        ]
        return b"\r\n".join(head) + b"\r\n\r\n" + body


def url_too_long(limit_bytes: int) -> Refusal:
    return Refusal(
        414,
        "uri_too_long",
        f"The request target is longer than {limit_bytes} bytes.",
        {"limit_bytes": limit_bytes},
    )


def header_too_large(limit_bytes: int) -> Refusal:
    return Refusal(
        431,
        "header_fields_too_large",
        f"The request's header fields are larger than {limit_bytes} bytes in all.",
        {"limit_bytes": limit_bytes},
    )


def header_too_slow(timeout_seconds: float) -> Refusal:
    return Refusal(
        408,
        "request_timeout",
        f"The request's header was not received within {timeout_seconds:g} seconds.",
        {"timeout_seconds": timeout_seconds},
    )


def upgrade_with_body() -> Refusal:
    return Refusal(
        501,
        "not_implemented",
        "The service does not upgrade connections, and cannot read the body of a request that "
        "asks it to: send the request without Upgrade.",
        None,
    )


def unreadable(error: httptools.HttpParserError, received: bytes) -> Refusal:
    """What to answer a request the parser could not read; `received` is what it choked on."""
    if isinstance(error, httptools.HttpParserInvalidMethodError) and UNKNOWN_METHOD_LINE.match(
        received.lstrip(b"\r\n")
    ):
        return Refusal(
            501,
            "not_implemented",
            "The request method is not one the service implements.",
            None,
        )
    return Refusal(
        400,
        "bad_request",
        "The request is not valid HTTP/1.1.",
        {"reason": _reason(error)},
    )


def _reason(error: httptools.HttpParserError) -> str:
    """The parser's own words, except for what uvicorn's callbacks raised: a target it cannot
    parse (`CONNECT host:port`) would otherwise read "User callback error"."""
    if isinstance(error, httptools.HttpParserCallbackError):
        if isinstance(error.__context__, httptools.HttpParserInvalidURLError):
            return "Invalid request target"
        return "Unreadable request"
    return str(error)
