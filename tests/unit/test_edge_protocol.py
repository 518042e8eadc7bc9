"""The HTTP edge, in-process: each limit and refusal of EdgeProtocol as a millisecond test.

Each test opens a connection on a fake transport (tests/support/edge.py), sends bytes as the
server would read them, and moves the protocol's clock instead of waiting. The same edge over real
sockets, in every way the service runs, is tests/integration/test_http_edge.py.
"""

import asyncio
from collections.abc import Iterator
from typing import cast

import pytest
from uvicorn import Config
from uvicorn.server import ServerState

from impl.edge import EDGE_OBSERVER_STATE
from impl.edge.protocol import LINGER_SECONDS, EdgeProtocol
from tests.support.edge import (
    KEEP_ALIVE_SECONDS,
    LIMITS,
    Application,
    Connection,
    Edge,
    RecordedRefusals,
    open_edge,
)
from tests.support.raw_http import assert_edge_refused

# A header field counts its name, its value, and the ": " and CRLF around them.
FIELD_OVERHEAD = 4
HOST = "Host: localhost"
HOST_BYTES = len("Host") + len("localhost") + FIELD_OVERHEAD
HEADER_TIMEOUT = LIMITS.header_timeout_seconds
# Less than any of the protocol's timeouts, to step up to one without reaching it.
JUST_BEFORE = 0.01


@pytest.fixture
def edge() -> Iterator[Edge]:
    yield from open_edge()


def head(*fields: str, target: str = "/", method: str = "GET", version: str = "HTTP/1.1") -> bytes:
    lines = [f"{method} {target} {version}".rstrip(), *fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def filler(counted_bytes: int) -> str:
    """A header field that counts `counted_bytes` towards the limit."""
    name = "X-Fill"
    return f"{name}: {'a' * (counted_bytes - len(name) - FIELD_OVERHEAD)}"


def fields_of(total_bytes: int) -> list[str]:
    """Host and a filler: header fields that count `total_bytes` in all."""
    return [HOST, filler(total_bytes - HOST_BYTES)]


def send_in_reads(connection: Connection, data: bytes, read_bytes: int) -> None:
    for start in range(0, len(data), read_bytes):
        connection.send(data[start : start + read_bytes])


# The header fields' size


def test_header_fields_of_exactly_the_limit_are_served(edge: Edge) -> None:
    connection = edge.connect()

    connection.send(head(*fields_of(LIMITS.max_header_bytes)))

    assert connection.answer().status == 200


def test_header_fields_one_byte_over_the_limit_are_431_and_never_reach_the_app(
    edge: Edge,
) -> None:
    app = Application()
    connection = edge.connect(app)

    connection.send(head(*fields_of(LIMITS.max_header_bytes + 1)))

    answer = connection.answer()
    assert_edge_refused(answer, 431, "header_fields_too_large")
    assert answer.document()["details"] == {"limit_bytes": LIMITS.max_header_bytes}
    edge.settle()
    assert app.scopes == []


def test_many_small_header_fields_over_the_limit_are_431(edge: Edge) -> None:
    connection = edge.connect()
    fields = [f"X-{n}: v" for n in range(LIMITS.max_header_bytes // len("X-00: v\r\n"))]

    connection.send(head(HOST, *fields))

    assert_edge_refused(connection.answer(), 431, "header_fields_too_large")


@pytest.mark.parametrize("read_bytes", [1, 5, 64, 1000])
def test_header_fields_within_the_limit_are_served_however_the_reads_split_them(
    edge: Edge, read_bytes: int
) -> None:
    # Given a head at the limit, long target and all, that arrives in reads of `read_bytes`
    connection = edge.connect()
    request = head(*fields_of(LIMITS.max_header_bytes), target="/" + "t" * 200)

    # When each read reaches the protocol
    send_in_reads(connection, request, read_bytes)

    # Then it is served: no byte of the request line, nor of an earlier read, counts twice
    assert connection.answer().status == 200


@pytest.mark.parametrize("read_bytes", [1, 5, 64, 1000])
def test_header_fields_over_the_limit_are_431_however_the_reads_split_them(
    edge: Edge, read_bytes: int
) -> None:
    connection = edge.connect()
    request = head(*fields_of(LIMITS.max_header_bytes + 1))

    send_in_reads(connection, request, read_bytes)

    assert_edge_refused(connection.answer(), 431, "header_fields_too_large")


def test_a_header_field_that_never_ends_is_431_once_the_head_passes_the_limit(
    edge: Edge,
) -> None:
    # Given a head whose last field goes on and on, a read at a time
    read_bytes = 100
    connection = edge.connect()
    connection.send(f"GET / HTTP/1.1\r\n{HOST}\r\nX-Big: ")
    sent = 0
    for _ in range(LIMITS.max_header_bytes // read_bytes + 2):
        if connection.answers():
            break
        connection.send(b"a" * read_bytes)
        sent += read_bytes

    # Then it is refused once what it sent could no longer fit, within a read of that:
    # the parser does not go on buffering it
    fits = LIMITS.max_header_bytes - HOST_BYTES - len("X-Big") - FIELD_OVERHEAD
    assert fits < sent <= fits + 2 * read_bytes
    assert_edge_refused(connection.answer(), 431, "header_fields_too_large")


def test_pipelined_heads_are_each_held_to_the_limit_alone(edge: Edge) -> None:
    # Given five requests near the limit each, far over it together, in one read but for the
    # last one's end
    connection = edge.connect()
    one = head(*fields_of(LIMITS.max_header_bytes - 10))
    requests = one * 5

    connection.send(requests[:-20])
    edge.settle()
    connection.send(requests[-20:])

    # Then each is answered as the one request it is
    assert [connection.answer().status for _ in range(5)] == [200] * 5


# The request target's size


def test_a_request_target_of_exactly_the_limit_is_served(edge: Edge) -> None:
    connection = edge.connect()

    connection.send(head(HOST, target="/" + "t" * (LIMITS.max_url_bytes - 1)))

    assert connection.answer().status == 200


def test_a_request_target_one_byte_over_the_limit_is_414(edge: Edge) -> None:
    connection = edge.connect()

    connection.send(head(HOST, target="/" + "t" * LIMITS.max_url_bytes))

    answer = connection.answer()
    assert_edge_refused(answer, 414, "uri_too_long")
    assert answer.document()["details"] == {"limit_bytes": LIMITS.max_url_bytes}


def test_a_request_target_still_being_sent_is_414_once_it_passes_the_limit(edge: Edge) -> None:
    connection = edge.connect()
    connection.send(b"GET /")

    connection.send(b"t" * (LIMITS.max_url_bytes - 1))
    answered_at_the_limit = connection.answers()
    connection.send(b"t")

    assert answered_at_the_limit == []
    assert_edge_refused(connection.answer(), 414, "uri_too_long")


# Time: the head's deadline, idle connections


def test_a_connection_that_sends_nothing_is_closed_after_the_keep_alive_timeout(
    edge: Edge,
) -> None:
    connection = edge.connect()

    edge.advance(KEEP_ALIVE_SECONDS - JUST_BEFORE)
    open_before = not connection.closed
    edge.advance(JUST_BEFORE)

    assert open_before
    assert connection.closed
    assert connection.transport.written == b""


def test_an_idle_connection_after_an_answer_is_closed_after_the_keep_alive_timeout(
    edge: Edge,
) -> None:
    connection = edge.connect()
    connection.send(head(HOST))
    assert connection.answer().status == 200

    edge.advance(KEEP_ALIVE_SECONDS - JUST_BEFORE)
    open_before = not connection.closed
    edge.advance(JUST_BEFORE)

    assert open_before
    assert connection.closed


def test_a_head_not_finished_within_the_timeout_is_408(edge: Edge) -> None:
    connection = edge.connect()
    connection.send(f"GET / HTTP/1.1\r\n{HOST}\r\n")

    edge.advance(HEADER_TIMEOUT - JUST_BEFORE)
    answered_before = connection.answers()
    edge.advance(JUST_BEFORE)

    assert answered_before == []
    answer = connection.answer()
    assert_edge_refused(answer, 408, "request_timeout")
    assert answer.document()["details"] == {"timeout_seconds": HEADER_TIMEOUT}


def test_a_head_sent_a_byte_at_a_time_has_one_deadline_from_its_first_byte(edge: Edge) -> None:
    # Given a client that sends a byte of its head every second, which is more often than the
    # keep-alive timeout
    connection = edge.connect()
    trickle = iter(head(HOST, *[f"X-Slow-{n}: a" for n in range(10)]))
    seconds = 0
    while not connection.answers() and seconds < 2 * HEADER_TIMEOUT:
        connection.send(bytes([next(trickle)]))
        edge.advance(1)
        seconds += 1

    # Then the head is refused when its deadline passes, however busy the client keeps it
    assert seconds == HEADER_TIMEOUT
    assert_edge_refused(connection.answer(), 408, "request_timeout")


def test_the_head_deadline_runs_from_the_heads_first_byte_not_from_the_connection(
    edge: Edge,
) -> None:
    connection = edge.connect()
    edge.advance(KEEP_ALIVE_SECONDS - 1)
    connection.send(b"G")

    edge.advance(HEADER_TIMEOUT - JUST_BEFORE)
    answered_before = connection.answers()
    edge.advance(JUST_BEFORE)

    assert answered_before == []
    assert_edge_refused(connection.answer(), 408, "request_timeout")


def test_each_request_on_a_kept_alive_connection_has_a_deadline_of_its_own(edge: Edge) -> None:
    connection = edge.connect()
    connection.send(head(HOST))
    assert connection.answer().status == 200

    connection.send(b"GET / HTTP/1.1\r\n")
    edge.advance(HEADER_TIMEOUT)

    assert_edge_refused(connection.answer(), 408, "request_timeout")


def test_a_request_whose_head_has_arrived_is_not_held_to_the_head_deadline(edge: Edge) -> None:
    # Given a request the application takes long to answer
    app = Application()
    app.hold = hold = asyncio.Event()
    connection = edge.connect(app)
    connection.send(head(HOST))

    # When it runs for twice the head's timeout
    edge.advance(2 * HEADER_TIMEOUT)
    answered_meanwhile = connection.answers()
    hold.set()

    # Then it is answered by the application, not refused by the edge
    assert answered_meanwhile == []
    assert connection.answer().status == 200


def test_after_a_refusal_the_client_has_time_to_read_it_before_the_connection_closes(
    edge: Edge,
) -> None:
    # Given a refused request whose client goes on sending
    connection = edge.connect()
    connection.send(head(*fields_of(LIMITS.max_header_bytes + 1)))
    refused = connection.answer()

    # When more arrives while the connection lingers
    connection.send(head(HOST))
    edge.advance(LINGER_SECONDS - JUST_BEFORE)
    open_while_lingering = not connection.closed
    edge.advance(JUST_BEFORE)

    # Then it is read and dropped (closing with unread data would reset the connection, and the
    # client could lose the refusal), the server's side is shut for writing, and the
    # connection closes when the lingering is over
    assert_edge_refused(refused, 431, "header_fields_too_large")
    assert connection.answers() == [refused]
    assert connection.transport.eof_written
    assert open_while_lingering
    assert connection.closed


# What the parser cannot read

UNREADABLE = {
    "garbage": b"GARBAGE\r\n\r\n",
    "conflicting-content-length": head(HOST, "Content-Length: 1", "Content-Length: 2") + b"ab",
    "content-length-and-chunked": head(HOST, "Content-Length: 3", "Transfer-Encoding: chunked")
    + b"0\r\n\r\n",
    "space-in-header-name": head(HOST, "Bad Header: x"),
    "unknown-version": head(HOST, version="HTTP/7.0"),
    "chunked-twice": head(HOST, "Transfer-Encoding: chunked, chunked") + b"0\r\n\r\n",
    "method-not-a-token": head(HOST, method="G@T"),
}


@pytest.mark.parametrize("request_bytes", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_what_the_parser_cannot_read_is_400_naming_its_reason(
    edge: Edge, request_bytes: bytes
) -> None:
    app = Application()
    connection = edge.connect(app)

    connection.send(request_bytes)

    answer = connection.answer()
    assert_edge_refused(answer, 400, "bad_request")
    assert answer.document()["details"]["reason"] not in ("", "User callback error")
    edge.settle()
    assert app.scopes == []


def test_an_authority_form_target_is_400_invalid_request_target(edge: Edge) -> None:
    connection = edge.connect()

    connection.send(head("Host: example.com:443", method="CONNECT", target="example.com:443"))

    answer = connection.answer()
    assert_edge_refused(answer, 400, "bad_request")
    assert answer.document()["details"] == {"reason": "Invalid request target"}


def test_an_unknown_method_is_501(edge: Edge) -> None:
    connection = edge.connect()

    connection.send(head(HOST, method="FROB"))

    assert_edge_refused(connection.answer(), 501, "not_implemented")


def test_a_body_the_parser_cannot_read_tells_the_application_the_client_has_gone(
    edge: Edge,
) -> None:
    # Given an application reading a chunked body
    app = Application()
    connection = edge.connect(app)
    connection.send(head(HOST, "Transfer-Encoding: chunked", method="POST") + b"2\r\nab\r\n")
    edge.until(lambda: len(app.received) == 1, "the application has read the first chunk")

    # When the next chunk's size is not a number
    connection.send(b"zz\r\n")
    edge.settle()

    # Then the client is answered 400, and the application hears of a disconnect: what it
    # answers then is dropped, not written after the refusal
    assert_edge_refused(connection.answer(), 400, "bad_request")
    assert app.received[-1] == {"type": "http.disconnect"}
    assert len(connection.answers()) == 1


def test_a_refusal_behind_a_request_being_served_closes_the_connection_after_its_answer(
    edge: Edge,
) -> None:
    # Given a whole request the application is still answering, and one behind it that is not
    # HTTP
    app = Application()
    app.hold = hold = asyncio.Event()
    observer = RecordedRefusals()
    connection = edge.connect(app, observer=observer)

    connection.send(head(HOST) + head(HOST, "Bad Header: x"))
    edge.settle()
    written_meanwhile = bytes(connection.transport.written)
    hold.set()
    answer = connection.answer()
    edge.settle()

    # Then the answer is not cut into: it is written whole, says the connection closes, and
    # does; the request behind it is counted, not answered
    assert written_meanwhile == b""
    assert answer.status == 200
    assert answer.headers["connection"] == "close"
    assert connection.closed
    assert len(connection.answers()) == 1
    assert observer.heard == [(400, "bad_request")]


# Host and version (RFC 9112 §2.3, §3.2)

HOST_REFUSALS = {
    "missing": head(),
    "missing-with-absolute-target": head(target="http://localhost/"),
    "twice": head(HOST, HOST),
    "twice-in-http-1.0": head("Host: a", "Host: b", version="HTTP/1.0"),
    "space": head("Host: local host"),
    "path": head("Host: localhost/health"),
    "userinfo": head("Host: user@localhost"),
    "scheme": head("Host: http://localhost"),
    "port-not-digits": head("Host: localhost:80a"),
    "unclosed-ip-literal": head("Host: [::1"),
    "not-an-ipv6-address": head("Host: [::g]"),
    "ipv6-zone": head("Host: [fe80::1%eth0]"),
    "bad-percent-encoding": head("Host: local%zzhost"),
}


@pytest.mark.parametrize("request_bytes", HOST_REFUSALS.values(), ids=HOST_REFUSALS.keys())
def test_a_request_without_exactly_one_valid_host_is_400(edge: Edge, request_bytes: bytes) -> None:
    connection = edge.connect()

    connection.send(request_bytes)

    answer = connection.answer()
    assert_edge_refused(answer, 400, "bad_request")
    assert "Host" in answer.document()["details"]["reason"]


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "127.0.0.1:8000",
        "[::1]:8000",
        "[v1.fe80::a+en1]",
        "Example.COM.",
        "xn--bcher-kva.example",
        "caf%C3%A9.example",
        "",
    ],
)
def test_a_request_with_one_valid_host_is_served(edge: Edge, host: str) -> None:
    # An empty Host is valid: it is what a client sends for a target without an authority.
    connection = edge.connect()

    connection.send(head(f"Host: {host}"))

    assert connection.answer().status == 200


def test_an_http_1_0_request_without_host_is_served(edge: Edge) -> None:
    connection = edge.connect()

    connection.send(head(version="HTTP/1.0"))

    assert connection.answer().status == 200


VERSION_REFUSALS = {
    "http-2.0": head(HOST, version="HTTP/2.0"),
    "http-0.9": head(HOST, version="HTTP/0.9"),
    "no-version": head(version=""),
}


@pytest.mark.parametrize("request_bytes", VERSION_REFUSALS.values(), ids=VERSION_REFUSALS.keys())
def test_a_request_line_of_a_version_other_than_http_1_is_400(
    edge: Edge, request_bytes: bytes
) -> None:
    connection = edge.connect()

    connection.send(request_bytes)

    answer = connection.answer()
    assert_edge_refused(answer, 400, "bad_request")
    assert "version" in answer.document()["details"]["reason"]


# Upgrades: the service speaks no other protocol

UPGRADE = ("Connection: Upgrade", "Upgrade: websocket")


def test_an_upgrade_request_with_a_body_is_501(edge: Edge) -> None:
    # The parser hands what follows an upgrade request's head to the new protocol: the body
    # would be lost, and the request served as one without it.
    app = Application()
    connection = edge.connect(app)

    connection.send(head(HOST, *UPGRADE, "Content-Length: 2", method="POST") + b"ab")

    assert_edge_refused(connection.answer(), 501, "not_implemented")
    edge.settle()
    assert app.scopes == []


@pytest.mark.parametrize("length", [None, "Content-Length: 0"])
def test_an_upgrade_request_without_a_body_is_served_as_a_plain_request(
    edge: Edge, length: str | None
) -> None:
    connection = edge.connect()

    connection.send(head(HOST, *UPGRADE, *([length] if length else [])))

    assert connection.answer().status == 200


# What else goes with a refusal


def test_the_observer_hears_each_refusal(edge: Edge) -> None:
    observer = RecordedRefusals()
    for request in [
        head(*fields_of(LIMITS.max_header_bytes + 1)),
        head(HOST, target="/" + "t" * LIMITS.max_url_bytes),
        b"GARBAGE\r\n\r\n",
        head(HOST, method="FROB"),
        head(),
    ]:
        edge.connect(observer=observer).send(request)
    edge.connect(observer=observer).send(b"GET / HTTP/1.1\r\n")
    edge.advance(HEADER_TIMEOUT)

    assert observer.heard == [
        (431, "header_fields_too_large"),
        (414, "uri_too_long"),
        (400, "bad_request"),
        (501, "not_implemented"),
        (400, "bad_request"),
        (408, "request_timeout"),
    ]


def test_state_that_is_not_an_observer_is_ignored(edge: Edge) -> None:
    connection = edge.connect(app_state={EDGE_OBSERVER_STATE: object()})

    connection.send(b"GARBAGE\r\n\r\n")

    assert_edge_refused(connection.answer(), 400, "bad_request")


def test_a_refusal_carries_the_servers_default_headers(edge: Edge) -> None:
    date = b"Tue, 01 Dec 2026 10:00:00 GMT"
    connection = edge.connect(default_headers=[(b"date", date)])

    connection.send(b"GARBAGE\r\n\r\n")

    assert connection.answer().headers["date"] == date.decode()


def test_the_edge_protocol_takes_its_limits_from_an_edge_config(edge: Edge) -> None:
    with pytest.raises(TypeError, match="EdgeConfig"):
        EdgeProtocol(
            config=Config(Application()),
            server_state=ServerState(),
            app_state={},
            _loop=cast(asyncio.AbstractEventLoop, edge.clock),
        )
