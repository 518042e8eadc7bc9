"""A test's reader of `GET /api/{user_id}/events`: a raw socket, so that a test decides how fast
it reads, and a thread that parses the Server-Sent Events as they arrive."""

import contextlib
import json
import queue
import socket
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# Long enough for a busy machine; a test waits on an event, never for a fixed time.
WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    id: str | None


@dataclass
class Head:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class EventReader:
    """One open stream: its head, then its events in order (comments counted apart)."""

    def __init__(
        self,
        base_url: str,
        path: str,
        headers: dict[str, str],
        receive_buffer: int | None = None,
        reading: bool = True,
    ) -> None:
        """`receive_buffer`: the socket's, in bytes; `reading` False: nothing is read past the
        head, as by a client that stalled."""
        parts = urlsplit(base_url)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self._socket.connect((parts.hostname or "127.0.0.1", parts.port or 80))
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._events: queue.Queue[Event | None] = queue.Queue()
        self.comments = 0
        self.retry: int | None = None
        self._buffer = b""
        self.head = self._read_head()
        self.ended = threading.Event()
        if self.head.status == 200 and reading:
            self._socket.settimeout(None)
            self._thread = threading.Thread(target=self._read_events, daemon=True)
            self._thread.start()
        elif self.head.status != 200:
            self.ended.set()

    def _receive(self) -> bytes:
        try:
            return self._socket.recv(65536)
        except OSError:
            return b""

    def _read_head(self) -> Head:
        self._socket.settimeout(WAIT_SECONDS)
        while b"\r\n\r\n" not in self._buffer:
            chunk = self._receive()
            if not chunk:
                raise ConnectionError("the stream closed before its head")
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        answer = Head(int(status_line.split()[1]), headers)
        if answer.status != 200:
            length = int(headers.get("content-length", "0"))
            while len(self._buffer) < length:
                chunk = self._receive()
                if not chunk:
                    break
                self._buffer += chunk
            answer.body = self._buffer[:length]
        return answer

    def _read_events(self) -> None:
        body = b""
        chunked = self._buffer
        while True:
            # The body is chunked: the sizes are dropped, the events parsed from what is left.
            while True:
                size_line, crlf, rest = chunked.partition(b"\r\n")
                if not crlf:
                    break
                size = int(size_line, 16)
                if len(rest) < size + 2:
                    break
                if size == 0:
                    self._parse(body)
                    self._finish()
                    return
                body += rest[:size]
                chunked = rest[size + 2 :]
            body = self._parse(body)
            chunk = self._receive()
            if not chunk:
                self._finish()
                return
            chunked += chunk

    def _parse(self, body: bytes) -> bytes:
        while b"\n\n" in body:
            block, _, body = body.partition(b"\n\n")
            name, data, event_id = "message", "", None
            for line in block.decode().split("\n"):
                field_name, _, value = line.partition(": ")
                if line.startswith(":"):
                    self.comments += 1
                elif field_name == "retry":
                    self.retry = int(value)
                elif field_name == "event":
                    name = value
                elif field_name == "data":
                    data = value
                elif field_name == "id":
                    event_id = value
            if data:
                self._events.put(Event(name, json.loads(data), event_id))
        return body

    def _finish(self) -> None:
        self.ended.set()
        self._events.put(None)

    def next(self, seconds: float = WAIT_SECONDS) -> Event:
        """The next event; fails if none comes in `seconds`, or the stream ends first."""
        try:
            event = self._events.get(timeout=seconds)
        except queue.Empty:
            raise AssertionError(f"no event within {seconds} s") from None
        if event is None:
            self._events.put(None)
            raise AssertionError("the stream ended")
        return event

    def nothing_pending(self) -> bool:
        return self._events.empty()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()

    def __enter__(self) -> "EventReader":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
