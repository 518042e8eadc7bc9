"""HTTP/1.1 over a plain socket, for requests an HTTP client would refuse to send or would fix."""

import json
import socket
import time
from dataclasses import dataclass
from typing import Any

READ_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def document(self) -> Any:
        return json.loads(self.body)


# How long a close the server has decided may take to reach the client on a busy machine.
CLOSE_PATIENCE_SECONDS = 5.0


def connect(base_url: str, timeout: float = READ_TIMEOUT_SECONDS) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def read_answer(connection: socket.socket) -> RawAnswer:
    """The next answer on `connection`, read to the end of its Content-Length body and not a
    byte further: the next answer (to a pipelined request) stays for the next call."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = connection.recv(1)
        if not byte:
            raise ConnectionError(f"closed before a whole answer: {head!r}")
        head += byte
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = b""
    while len(body) < length and (chunk := connection.recv(length - len(body))):
        body += chunk
    return RawAnswer(int(status_line.split(" ", 2)[1]), headers, body)


def raw_exchange(base_url: str, request: bytes | str) -> RawAnswer:
    """The one answer to `request`, sent as it is."""
    with connect(base_url) as connection:
        connection.sendall(request.encode() if isinstance(request, str) else request)
        return read_answer(connection)


def seconds_until_closed(connection: socket.socket, limit_seconds: float) -> float:
    """How long the server took to close `connection`, which must send nothing more."""
    started = time.monotonic()
    connection.settimeout(limit_seconds)
    try:
        leftover = connection.recv(65536)
    except ConnectionResetError:
        leftover = b""
    assert leftover == b"", f"expected the connection to close, got {leftover!r}"
    return time.monotonic() - started


def closes_by(connection: socket.socket, deadline: float) -> bool:
    """Whether the server closes `connection` before `deadline` (`time.monotonic()`), after
    whatever it sends (read and dropped)."""
    while (remaining := deadline - time.monotonic()) > 0:
        connection.settimeout(remaining)
        try:
            if not connection.recv(65536):
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


def is_closed(connection: socket.socket) -> bool:
    """Whether the server closes `connection` now: within CLOSE_PATIENCE_SECONDS, the time a
    close already decided may take on a busy machine."""
    return closes_by(connection, time.monotonic() + CLOSE_PATIENCE_SECONDS)


def assert_edge_refused(answer: RawAnswer, status: int, code: str) -> None:
    """An answer of the edge's own: the contract's Error shape, and the connection not kept."""
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    document = answer.document()
    assert set(document) == {"error", "message", "details"}
    assert document["error"] == code
    assert isinstance(document["message"], str)
    assert document["message"]
