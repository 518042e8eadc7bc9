"""The HTTP edge: what the server does with requests that are too big, too slow or not HTTP.

Sent over plain sockets: an HTTP client would refuse to send most of these, or would fix them.
"""

import itertools
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LOG_DIR, User, service_settings
from tests.support.raw_http import (
    assert_edge_refused,
    closes_by,
    connect,
    raw_exchange,
    read_answer,
    seconds_until_closed,
)
from tests.support.server import DEVELOPMENT, PRODUCTION, service_process

# Short, so that the tests that wait for them are quick.
HEADER_TIMEOUT_SECONDS = 1
BODY_TIMEOUT_SECONDS = 1
IDLE_SECONDS = 1
# How much later than its timeout the server may act.
MARGIN_SECONDS = 2
DEFAULT_MAX_URL_BYTES = 8 * 1024
DEFAULT_MAX_HEADER_BYTES = 32 * 1024
MiB = 1024 * 1024


@dataclass(frozen=True)
class EdgeService:
    base_url: str
    pid: int

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024


@contextmanager
def edge_service(
    database_url: str, log_name: str, command: tuple[str, ...], **overrides: str
) -> Iterator[EdgeService]:
    settings = service_settings(
        database_url,
        HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT_SECONDS),
        BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT_SECONDS),
        KEEP_ALIVE_TIMEOUT_SECONDS=str(IDLE_SECONDS),
        **overrides,
    )
    with service_process(settings, LOG_DIR / log_name, command) as (base_url, process):
        yield EdgeService(base_url, process.pid)


@pytest.fixture(scope="module")
def edge(database_url: str) -> Iterator[EdgeService]:
    with edge_service(database_url, "http-edge.log", PRODUCTION) as service:
        yield service


def request_head(target: str = "/health/live", *headers: str, method: str = "GET") -> str:
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost", *headers]
    return "\r\n".join(lines) + "\r\n\r\n"


# Sizes


def test_a_header_block_over_the_limit_is_431(edge: EdgeService) -> None:
    answer = raw_exchange(edge.base_url, request_head("/health/live", "X-Big: " + "a" * 40_000))

    assert_edge_refused(answer, 431, "header_fields_too_large")
    assert answer.document()["details"] == {"limit_bytes": DEFAULT_MAX_HEADER_BYTES}


def test_many_headers_over_the_limit_are_431(edge: EdgeService) -> None:
    headers = [f"X-Header-{n}: {'v' * 100}" for n in range(400)]

    answer = raw_exchange(edge.base_url, request_head("/health/live", *headers))

    assert_edge_refused(answer, 431, "header_fields_too_large")


def test_a_header_block_within_the_limit_is_served(edge: EdgeService) -> None:
    answer = raw_exchange(edge.base_url, request_head("/health/live", "X-Big: " + "a" * 30_000))

    assert answer.status == 200


def test_a_header_still_being_sent_is_answered_431(edge: EdgeService) -> None:
    with connect(edge.base_url) as connection:
        connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
        connection.sendall(b"a" * MiB)

        assert_edge_refused(read_answer(connection), 431, "header_fields_too_large")


def test_unfinished_huge_headers_do_not_grow_the_server(edge: EdgeService) -> None:
    # Given ten connections, all held open, that each send 20 MiB of a header that never ends
    before = edge.rss_bytes()
    connections = [connect(edge.base_url) for _ in range(10)]
    try:
        for connection in connections:
            try:
                connection.sendall(b"GET /health/live HTTP/1.1\r\nX-Big: ")
                for _ in range(20 * 16):
                    connection.sendall(b"a" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass

        # Then the server holds none of it
        assert edge.rss_bytes() - before < 20 * MiB
    finally:
        for connection in connections:
            connection.close()


def test_a_request_line_over_the_limit_is_414(edge: EdgeService) -> None:
    answer = raw_exchange(edge.base_url, request_head("/health/live?q=" + "a" * 10_000))

    assert_edge_refused(answer, 414, "uri_too_long")
    assert answer.document()["details"] == {"limit_bytes": DEFAULT_MAX_URL_BYTES}


def test_a_request_line_within_the_limit_is_served(edge: EdgeService) -> None:
    answer = raw_exchange(edge.base_url, request_head("/health/live?q=" + "a" * 8_000))

    assert answer.status == 200


def test_a_request_line_still_being_sent_is_answered_414(edge: EdgeService) -> None:
    with connect(edge.base_url) as connection:
        connection.sendall(b"GET /health/live?q=")
        connection.sendall(b"a" * MiB)

        assert_edge_refused(read_answer(connection), 414, "uri_too_long")


def test_pipelined_requests_are_each_answered(edge: EdgeService) -> None:
    # Many small requests in one write: the server's reads split them anywhere, and no request
    # is charged with the bytes of those before it.
    count = 1000
    one = request_head().encode()
    with connect(edge.base_url) as connection:
        # The last request's head is cut in two, so that the server reads a head begun after
        # many others and finished later.
        connection.sendall(one * (count - 1) + one[:20])
        time.sleep(0.2)
        connection.sendall(one[20:])

        statuses = [read_answer(connection).status for _ in range(count)]

    assert statuses == [200] * count


def test_a_body_over_the_limit_is_refused_before_continue(edge: EdgeService, alice: User) -> None:
    # A client that waits for 100 Continue never sends the body it would have to throw away.
    with connect(edge.base_url) as connection:
        connection.sendall(
            request_head(
                alice.tasks_path,
                f"Authorization: Bearer {alice.token}",
                "Content-Type: application/json",
                "Content-Length: 1000000",
                "Expect: 100-continue",
                method="POST",
            ).encode()
        )

        answer = read_answer(connection)

    assert answer.status == 413
    assert answer.headers["connection"] == "close"
    assert answer.document()["error"] == "content_too_large"


# Time


def test_a_connection_that_sends_nothing_is_closed(edge: EdgeService) -> None:
    with connect(edge.base_url) as connection:
        assert seconds_until_closed(connection, 10) < IDLE_SECONDS + MARGIN_SECONDS


def test_an_idle_kept_alive_connection_is_closed(edge: EdgeService) -> None:
    with connect(edge.base_url) as connection:
        connection.sendall(request_head().encode())
        assert read_answer(connection).status == 200

        assert seconds_until_closed(connection, 10) < IDLE_SECONDS + MARGIN_SECONDS


def test_half_a_header_is_answered_408(edge: EdgeService) -> None:
    with connect(edge.base_url) as connection:
        connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n")
        started = time.monotonic()

        answer = read_answer(connection)

        assert time.monotonic() - started < HEADER_TIMEOUT_SECONDS + MARGIN_SECONDS
        assert_edge_refused(answer, 408, "request_timeout")
        assert seconds_until_closed(connection, 5) < MARGIN_SECONDS


def test_a_header_sent_a_byte_at_a_time_is_answered_408(edge: EdgeService) -> None:
    # A slow client cannot keep a connection by sending a byte now and then: the header has
    # one deadline, from its first byte.
    with connect(edge.base_url) as connection:
        connection.sendall(b"GET /health/live HTTP/1.1\r\n")
        started = time.monotonic()
        for byte in itertools.cycle(b"X-Slow: a\r\n"):
            connection.send(bytes([byte]))
            answered, _, _ = select.select([connection], [], [], 0.1)
            if answered:
                break
        answered_after = time.monotonic() - started

        assert answered_after < HEADER_TIMEOUT_SECONDS + MARGIN_SECONDS
        assert_edge_refused(read_answer(connection), 408, "request_timeout")


def test_a_body_shorter_than_declared_is_answered_408(edge: EdgeService, alice: User) -> None:
    with connect(edge.base_url) as connection:
        connection.sendall(
            request_head(
                alice.tasks_path,
                f"Authorization: Bearer {alice.token}",
                "Content-Type: application/json",
                "Content-Length: 100",
                method="POST",
            ).encode()
            + b'{"title":'
        )
        started = time.monotonic()

        answer = read_answer(connection)

        assert time.monotonic() - started < BODY_TIMEOUT_SECONDS + MARGIN_SECONDS
        assert_edge_refused(answer, 408, "request_timeout")
        assert seconds_until_closed(connection, 5) < MARGIN_SECONDS


def test_a_chunked_body_that_stops_is_answered_408(edge: EdgeService, alice: User) -> None:
    with connect(edge.base_url) as connection:
        connection.sendall(
            request_head(
                alice.tasks_path,
                f"Authorization: Bearer {alice.token}",
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
                method="POST",
            ).encode()
            + b'9\r\n{"title":\r\n'
        )

        assert_edge_refused(read_answer(connection), 408, "request_timeout")


def test_idle_connections_are_not_held(edge: EdgeService) -> None:
    # Given a thousand connections that send nothing, or half a request
    connections = [connect(edge.base_url) for _ in range(1000)]
    try:
        for index, connection in enumerate(connections):
            if index % 2:
                connection.sendall(b"GET /health/live HTTP/1.1\r\n")

        # Then the server closes every one once its timeouts have passed
        deadline = time.monotonic() + max(IDLE_SECONDS, HEADER_TIMEOUT_SECONDS) + MARGIN_SECONDS
        assert all(closes_by(connection, deadline) for connection in connections)
    finally:
        for connection in connections:
            connection.close()


# Bodies on operations that take none


@pytest.mark.parametrize(
    ("method", "suffix", "status"),
    [("GET", "", 200), ("GET", "/1", 404), ("DELETE", "/1", 404)],
)
@pytest.mark.parametrize("framing", ["Content-Length: 1000000", "Transfer-Encoding: chunked"])
def test_a_body_on_an_operation_that_takes_none_is_not_read(
    edge: EdgeService, alice: User, method: str, suffix: str, status: int, framing: str
) -> None:
    # Any size, either framing: the operation answers without reading it, then the connection
    # closes (the rest of the body would otherwise be read as the next request).
    with connect(edge.base_url) as connection:
        connection.sendall(
            request_head(
                alice.tasks_path + suffix,
                f"Authorization: Bearer {alice.token}",
                framing,
                method=method,
            ).encode()
            + b"1000\r\n" * 10
        )
        started = time.monotonic()

        answer = read_answer(connection)

        assert answer.status == status
        assert answer.headers["connection"] == "close"
        assert seconds_until_closed(connection, 5) < MARGIN_SECONDS
        assert time.monotonic() - started < BODY_TIMEOUT_SECONDS


def test_an_empty_body_on_an_operation_that_takes_none_keeps_the_connection(
    edge: EdgeService, alice: User
) -> None:
    with connect(edge.base_url) as connection:
        for _ in range(2):
            connection.sendall(
                request_head(
                    alice.tasks_path,
                    f"Authorization: Bearer {alice.token}",
                    "Content-Length: 0",
                ).encode()
            )
            answer = read_answer(connection)
            assert answer.status == 200
            assert "connection" not in answer.headers


# What the HTTP parser refuses


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n"
        b"Content-Length: 2\r\n\r\nab",
        b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n",
        b"GET /health/live HTTP/7.0\r\nHost: localhost\r\n\r\n",
        b"POST /health/live HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\n",
        b"POST /health/live HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, chunked\r\n"
        b"\r\n0\r\n\r\n",
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    ],
    ids=[
        "garbage",
        "conflicting-content-length",
        "content-length-and-chunked",
        "space-in-header-name",
        "unknown-version",
        "bad-chunk-size",
        "chunked-twice",
        "authority-form-target",
    ],
)
def test_a_request_that_is_not_http_is_400(edge: EdgeService, request_bytes: bytes) -> None:
    answer = raw_exchange(edge.base_url, request_bytes)

    assert_edge_refused(answer, 400, "bad_request")
    assert answer.document()["details"]["reason"] not in ("", "User callback error")


# Host and version (RFC 9112 §2.3, §3.2)

# Every form of Host, refused or served, is in tests/unit/test_edge_protocol.py; over a real
# socket, one of each kind.
HOST_REFUSALS = {
    "missing": b"GET /health/live HTTP/1.1\r\n\r\n",
    "twice": b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n",
    "space": b"GET /health/live HTTP/1.1\r\nHost: local host\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", HOST_REFUSALS.values(), ids=HOST_REFUSALS.keys())
def test_a_request_without_exactly_one_valid_host_is_400(
    edge: EdgeService, request_bytes: bytes
) -> None:
    # Given a request whose Host is missing (HTTP/1.1), repeated or not a host[:port]
    # When it is sent
    answer = raw_exchange(edge.base_url, request_bytes)

    # Then the edge refuses it, naming Host as the reason (RFC 9112 §3.2)
    assert_edge_refused(answer, 400, "bad_request")
    assert "Host" in answer.document()["details"]["reason"]


@pytest.mark.parametrize("host", ["localhost", "[::1]:8000", ""])
def test_a_request_with_one_valid_host_is_served(edge: EdgeService, host: str) -> None:
    # An empty Host is valid: it is what a client sends for a target without an authority.
    answer = raw_exchange(edge.base_url, f"GET /health/live HTTP/1.1\r\nHost: {host}\r\n\r\n")

    assert answer.status == 200


def test_an_http_1_0_request_without_host_is_served(edge: EdgeService) -> None:
    # Host is required of HTTP/1.1 requests only.
    answer = raw_exchange(edge.base_url, b"GET /health/live HTTP/1.0\r\n\r\n")

    assert answer.status == 200


VERSION_REFUSALS = {
    "http-2.0": b"GET /health/live HTTP/2.0\r\nHost: localhost\r\n\r\n",
    "http-0.9": b"GET /health/live HTTP/0.9\r\nHost: localhost\r\n\r\n",
    "no-version": b"GET /health/live\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", VERSION_REFUSALS.values(), ids=VERSION_REFUSALS.keys())
def test_a_request_line_of_a_version_other_than_http_1_is_400(
    edge: EdgeService, request_bytes: bytes
) -> None:
    # Given a request line of a version the parser reads but the service does not speak
    # When it is sent
    answer = raw_exchange(edge.base_url, request_bytes)

    # Then the edge refuses it, naming the version, instead of serving it as HTTP/1.x
    assert_edge_refused(answer, 400, "bad_request")
    assert "version" in answer.document()["details"]["reason"]


def test_an_unknown_method_is_501(edge: EdgeService) -> None:
    answer = raw_exchange(edge.base_url, request_head(method="FROB"))

    assert_edge_refused(answer, 501, "not_implemented")


@pytest.mark.parametrize("codings", ["gzip, chunked", "br, chunked", "deflate,chunked"])
def test_a_transfer_coding_other_than_chunked_is_501(
    edge: EdgeService, alice: User, codings: str
) -> None:
    answer = raw_exchange(
        edge.base_url,
        request_head(
            alice.tasks_path,
            f"Authorization: Bearer {alice.token}",
            "Content-Type: application/json",
            f"Transfer-Encoding: {codings}",
            method="POST",
        )
        + 'e\r\n{"title": "t"}\r\n0\r\n\r\n',
    )

    assert_edge_refused(answer, 501, "not_implemented")


def test_an_upgrade_request_with_a_body_is_501(edge: EdgeService, alice: User) -> None:
    # The parser treats what follows an upgrade request's head as the new protocol's: the body
    # would be lost, and the create read as one without a body.
    body = '{"title": "t"}'
    answer = raw_exchange(
        edge.base_url,
        request_head(
            alice.tasks_path,
            f"Authorization: Bearer {alice.token}",
            "Content-Type: application/json",
            "Connection: Upgrade",
            "Upgrade: websocket",
            f"Content-Length: {len(body)}",
            method="POST",
        )
        + body,
    )

    assert_edge_refused(answer, 501, "not_implemented")


def edge_refusals(base_url: str) -> dict[tuple[str, str], float]:
    """taskapi_http_edge_refusals_total by (status, code), from /metrics."""
    scraped = httpx.get(f"{base_url}/metrics").text
    return {
        (sample.labels["status"], sample.labels["code"]): sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "taskapi_http_edge_refusals_total"
    }


def test_the_edges_answers_are_counted(edge: EdgeService) -> None:
    # They never reach the application, so the request metrics cannot count them.
    before = edge_refusals(edge.base_url)

    raw_exchange(edge.base_url, request_head("/health/live", "X-Big: " + "a" * 40_000))
    raw_exchange(edge.base_url, b"GARBAGE\r\n\r\n")
    with connect(edge.base_url) as connection:
        connection.sendall(b"GET /health/live HTTP/1.1\r\n")
        read_answer(connection)

    after = edge_refusals(edge.base_url)
    for key in [
        ("431", "header_fields_too_large"),
        ("400", "bad_request"),
        ("408", "request_timeout"),
    ]:
        assert after[key] - before.get(key, 0) == 1, key


# The same edge in every way the service runs


@pytest.mark.parametrize(
    ("command", "workers"), [(PRODUCTION, "2"), (DEVELOPMENT, "1")], ids=["serve-2", "run"]
)
def test_the_edge_holds_however_the_service_runs(
    database_url: str, command: tuple[str, ...], workers: str
) -> None:
    log_name = f"http-edge-{'-'.join(command) or 'run'}.log"
    with edge_service(database_url, log_name, command, API_WORKERS=workers) as service:
        too_big = raw_exchange(
            service.base_url, request_head("/health/live", "X-Big: " + "a" * 40_000)
        )
        with connect(service.base_url) as connection:
            connection.sendall(b"GET /health/live HTTP/1.1\r\n")
            too_slow = read_answer(connection)
        without_host = raw_exchange(service.base_url, HOST_REFUSALS["missing"])
        two_hosts = raw_exchange(service.base_url, HOST_REFUSALS["twice"])
        invalid_host = raw_exchange(service.base_url, HOST_REFUSALS["space"])
        http_2 = raw_exchange(service.base_url, VERSION_REFUSALS["http-2.0"])
        http_0_9 = raw_exchange(service.base_url, VERSION_REFUSALS["http-0.9"])
        http_1_0 = raw_exchange(service.base_url, b"GET /health/live HTTP/1.0\r\n\r\n")

    assert_edge_refused(too_big, 431, "header_fields_too_large")
    assert_edge_refused(too_slow, 408, "request_timeout")
    for refused in (without_host, two_hosts, invalid_host, http_2, http_0_9):
        assert_edge_refused(refused, 400, "bad_request")
    assert http_1_0.status == 200
