"""The edge protocol in-process, the way uvicorn's tests/protocols/test_http.py drives its own.

A connection is an EdgeProtocol on a fake transport. The application's tasks run on a real event
loop; the protocol's timers (head deadline, keep-alive, lingering) wait on a clock that only the
test moves, so a timeout is a step of the test, never a wait.
"""

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from impl.edge import EDGE_OBSERVER_STATE
from impl.edge.config import EdgeConfig
from impl.edge.limits import EdgeLimits
from impl.edge.protocol import EdgeProtocol
from tests.support.raw_http import RawAnswer

# The smallest sizes the settings allow, so that heads over them stay small; the default times.
LIMITS = EdgeLimits(
    max_url_bytes=256, max_header_bytes=1024, header_timeout_seconds=10.0, send_timeout_seconds=10.0
)
KEEP_ALIVE_SECONDS = 5
# Everything here is in memory: a step of the protocol or of an application takes one turn of
# the loop, and none of the applications below needs more than a handful.
TURNS = 50
CLIENT = ("127.0.0.1", 50000)
SERVER = ("127.0.0.1", 8000)


class Timer:
    """What `loop.call_later` returns, as far as the protocol uses it."""

    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]):
        self.when = when
        self.callback = callback
        self.args = args
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled


class Clock:
    """Stands in for the protocol's loop: tasks go to the real loop, timers wait for `advance`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.now = 0.0
        self._timers: list[Timer] = []

    def create_task(
        self, coroutine: Coroutine[Any, Any, None], **options: Any
    ) -> "asyncio.Task[None]":
        return self._loop.create_task(coroutine, **options)

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer:
        timer = Timer(self.now + delay, callback, args)
        self._timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        """Move time on, firing each timer that falls due on the way, in the order they fall due
        (and those they set, if they fall due before the end)."""
        end = self.now + seconds
        while due := [timer for timer in self._timers if timer.when <= end]:
            timer = min(due, key=lambda timer: timer.when)
            self._timers.remove(timer)
            if not timer.cancelled():
                self.now = timer.when
                timer.callback(*timer.args)
        self.now = end


class FakeTransport(asyncio.Transport):
    """The protocol's side of a TCP connection. As asyncio's own transports do, it reports the
    connection lost on the loop's next turn after `close()`, drops what is written after that,
    and refuses writes after `write_eof()`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self._protocol: asyncio.BaseProtocol | None = None
        self.written = bytearray()
        self.reading = True
        self.eof_written = False
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": CLIENT, "sockname": SERVER}.get(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._protocol is not None
        return self._protocol

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.eof_written:
            raise RuntimeError("Cannot call write() after write_eof()")
        if not self.closed:
            self.written += data

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._loop.call_soon(self.get_protocol().connection_lost, None)


class _AnswerReader:
    """httptools' response parser's callbacks, collecting each whole answer."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.answers: list[RawAnswer] = []
        self._headers: dict[str, str] = {}
        self._body = bytearray()

    def on_message_begin(self) -> None:
        self._headers = {}
        self._body = bytearray()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        self.answers.append(RawAnswer(status, self._headers, bytes(self._body)))


def read_answers(written: bytes) -> list[RawAnswer]:
    """Each whole answer in `written`, in order."""
    reader = _AnswerReader()
    reader.parser.feed_data(written)
    return reader.answers


class Application:
    """A tiny ASGI application: reads the whole body and answers 200, after `hold` is set if it
    is given one. It keeps each request's scope and each message it received."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []
        self.received: list[Message] = []
        self.hold: asyncio.Event | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.scopes.append(scope)
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] == "http.disconnect" or not message["more_body"]:
                break
        if self.hold is not None:
            await self.hold.wait()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


class RecordedRefusals:
    """An edge observer (impl.edge.EdgeObserver) that keeps what it hears."""

    def __init__(self) -> None:
        self.heard: list[tuple[int, str]] = []
        self.slow_readers = 0

    def edge_refused(self, status: int, code: str) -> None:
        self.heard.append((status, code))

    def slow_reader_dropped(self) -> None:
        self.slow_readers += 1


@dataclass
class Connection:
    edge: "Edge"
    protocol: HttpToolsProtocol
    transport: FakeTransport
    _answers_read: int = field(default=0)

    def send(self, data: bytes | str) -> None:
        """What the client sends, as one read of the server."""
        assert not self.transport.closed, "a closed connection delivers nothing"
        assert self.transport.reading, "a connection the server stopped reading delivers nothing"
        self.protocol.data_received(data.encode() if isinstance(data, str) else data)

    def answers(self) -> list[RawAnswer]:
        return read_answers(bytes(self.transport.written))

    def answer(self) -> RawAnswer:
        """The next answer, once the server has written all of it."""
        index = self._answers_read
        self.edge.until(lambda: len(self.answers()) > index, f"answer #{index + 1} is written")
        self._answers_read += 1
        return self.answers()[index]

    @property
    def closed(self) -> bool:
        return self.transport.closed


class Edge:
    """Opens connections to an edge protocol and moves their time on."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = Clock(self.loop)

    def connect(
        self,
        app: ASGIApp | None = None,
        *,
        app_state: dict[str, Any] | None = None,
        observer: RecordedRefusals | None = None,
        default_headers: list[tuple[bytes, bytes]] | None = None,
        protocol_class: type[HttpToolsProtocol] = EdgeProtocol,
    ) -> Connection:
        config = EdgeConfig(
            app or Application(),
            edge_limits=LIMITS,
            http=EdgeProtocol,
            ws="none",
            lifespan="off",
            log_config=None,
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        state = dict(app_state or {})
        if observer is not None:
            state[EDGE_OBSERVER_STATE] = observer
        server_state = ServerState()
        server_state.default_headers = default_headers or []
        protocol = protocol_class(
            config=config,
            server_state=server_state,
            app_state=state,
            _loop=cast(asyncio.AbstractEventLoop, self.clock),
        )
        transport = FakeTransport(self.loop)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        return Connection(self, protocol, transport)

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass on the protocol's clock, then let the tasks catch up."""
        self.clock.advance(seconds)
        self.settle()

    def settle(self) -> None:
        """Run the loop for TURNS turns: whatever the protocol started has then gone as far as it
        can without the client or the clock."""
        for _ in range(TURNS):
            self.loop.run_until_complete(asyncio.sleep(0))

    def until(self, condition: Callable[[], bool], what: str) -> None:
        """Run the loop until `condition` holds; fail naming `what` if TURNS turns do not do."""
        for _ in range(TURNS):
            if condition():
                return
            self.loop.run_until_complete(asyncio.sleep(0))
        raise AssertionError(f"never happened: {what}")

    def close(self) -> None:
        async def cancel_unfinished() -> None:
            unfinished = asyncio.all_tasks() - {asyncio.current_task()}
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)

        self.loop.run_until_complete(cancel_unfinished())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


def open_edge() -> Iterator[Edge]:
    """For a fixture: an edge whose loop is closed, and its unfinished tasks cancelled, after."""
    edge = Edge()
    try:
        yield edge
    finally:
        edge.close()
