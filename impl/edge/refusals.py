"""The answers the edge gives by itself: the contract's Error shape, closing the connection.

Each one's status, message and headers are its code's (impl.errors), as if the application had
answered; only a case that says more than its code has a sentence of its own here.
"""

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools

from impl.errors import ErrorCode
from impl.json import dumps

# A request line whose method is a token (RFC 9110 §9.1) that the parser does not know.
UNKNOWN_METHOD_LINE = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ \r\n]+ HTTP/1\.[01]\r\n")
# The parser also reads HTTP/0.9 (a request line without a version), HTTP/2.0 and other x.y
# lines as if they were HTTP/1.x: they are refused, not served in a protocol they did not ask for.
SERVED_VERSIONS = frozenset({"1.0", "1.1"})
# Host = uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2-3): a reg-name, possibly empty, or
# an IP literal in brackets, whose address is checked apart.
HOST = re.compile(
    rb"(?:\[(?P<literal>[^\]]*)\]|(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?"
)
IP_FUTURE = re.compile(rb"v[0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+")


@dataclass(frozen=True)
class Refusal:
    error: ErrorCode
    details: dict[str, Any] | None = None
    # None: the code's own message.
    message: str | None = None

    def encode(self, default_headers: list[tuple[bytes, bytes]]) -> bytes:
        body = dumps(self.error.document(self.message, self.details))
        status = HTTPStatus(self.error.status)
        head = [f"HTTP/1.1 {status.value} {status.phrase}".encode()]
        head += [name + b": " + value for name, value in default_headers]
        head += [f"{name}: {value}".encode("latin-1") for name, value in self.error.headers.items()]
        head += [
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
        ]
        return b"\r\n".join(head) + b"\r\n\r\n" + body


def url_too_long(limit_bytes: int) -> Refusal:
    return Refusal(ErrorCode.URI_TOO_LONG, {"limit_bytes": limit_bytes})


def header_too_large(limit_bytes: int) -> Refusal:
    return Refusal(ErrorCode.HEADER_FIELDS_TOO_LARGE, {"limit_bytes": limit_bytes})


def header_too_slow(timeout_seconds: float) -> Refusal:
    return Refusal(ErrorCode.REQUEST_TIMEOUT, {"timeout_seconds": timeout_seconds})


def upgrade_with_body() -> Refusal:
    return Refusal(
        ErrorCode.NOT_IMPLEMENTED,
        message="The service does not upgrade connections, and cannot read the body of a request "
        "that asks it to: send the request without Upgrade.",
    )


def unserved_version(version: str) -> Refusal | None:
    """The refusal of a request line whose version is not HTTP/1.0 or HTTP/1.1, if it is not."""
    if version in SERVED_VERSIONS:
        return None
    return _bad_request(f"Unsupported HTTP version {version}")


def host_problem(version: str, headers: Sequence[tuple[bytes, bytes]]) -> Refusal | None:
    """The refusal RFC 9112 §3.2 requires, if any: an HTTP/1.1 request without Host, or any
    request with more than one Host or one that is not a host[:port].

    `headers` as uvicorn keeps them, names in lower case.
    """
    hosts = [value for name, value in headers if name == b"host"]
    if not hosts:
        return _bad_request("Missing Host header") if version == "1.1" else None
    if len(hosts) > 1:
        return _bad_request("More than one Host header")
    if not _is_host(hosts[0]):
        return _bad_request("Invalid Host header")
    return None


def _is_host(value: bytes) -> bool:
    match = HOST.fullmatch(value)
    if match is None:
        return False
    literal = match["literal"]
    return literal is None or _is_ip_literal(literal)


def _is_ip_literal(literal: bytes) -> bool:
    if IP_FUTURE.fullmatch(literal):
        return True
    # ipaddress also reads a zone (`fe80::1%eth0`), which RFC 3986 has no place for.
    if b"%" in literal:
        return False
    try:
        ipaddress.IPv6Address(literal.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def unreadable(error: httptools.HttpParserError, received: bytes) -> Refusal:
    """What to answer a request the parser could not read; `received` is what it choked on."""
    if isinstance(error, httptools.HttpParserInvalidMethodError) and UNKNOWN_METHOD_LINE.match(
        received.lstrip(b"\r\n")
    ):
        return Refusal(ErrorCode.NOT_IMPLEMENTED)
    return _bad_request(_reason(error))


def _bad_request(reason: str) -> Refusal:
    return Refusal(ErrorCode.BAD_REQUEST, {"reason": reason})


def _reason(error: httptools.HttpParserError) -> str:
    """The parser's own words, except for what uvicorn's callbacks raised: a target it cannot
    parse (`CONNECT host:port`) would otherwise read "User callback error"."""
    if isinstance(error, httptools.HttpParserCallbackError):
        if isinstance(error.__context__, httptools.HttpParserInvalidURLError):
            return "Invalid request target"
        return "Unreadable request"
    return str(error)
