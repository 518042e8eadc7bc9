"""The lifecycle hears SIGTERM before the server does; the guard answers what the bound cancels.

Real signals, raised in this process while a stand-in for uvicorn's handler is installed, as it
is when the app's lifespan starts; the originals are put back after each test.
"""

import asyncio
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest
from starlette.types import Message, Receive, Scope, Send

from impl.lifecycle import Lifecycle
from impl.middleware import RequestContextMiddleware
from impl.observability.observer import Observer

LONG_DRAIN_SECONDS = 3600
WAIT_SECONDS = 5


class StandInServer:
    """Records the signals that reached "uvicorn"."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.stopped = asyncio.Event()

    def handle_exit(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        self.stopped.set()


@pytest.fixture(autouse=True)
def _original_handlers() -> Iterator[None]:
    originals = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in originals.items():
        signal.signal(signum, handler)


def serving(server: StandInServer) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, server.handle_exit)


def test_without_a_drain_sigterm_stops_at_once_and_reaches_the_server() -> None:
    async def scenario() -> tuple[bool, list[int]]:
        server = StandInServer()
        serving(server)
        lifecycle = Lifecycle(drain_seconds=0)
        with lifecycle.watching_signals():
            signal.raise_signal(signal.SIGTERM)
            stopping = lifecycle.stopping
            await asyncio.wait_for(server.stopped.wait(), WAIT_SECONDS)
        return stopping, server.received

    stopping, received = asyncio.run(scenario())

    assert stopping
    assert received == [signal.SIGTERM]


def test_during_the_drain_the_server_has_not_heard_and_a_second_sigterm_ends_it() -> None:
    async def scenario() -> tuple[bool, list[int], list[int]]:
        server = StandInServer()
        serving(server)
        lifecycle = Lifecycle(drain_seconds=LONG_DRAIN_SECONDS)
        with lifecycle.watching_signals():
            signal.raise_signal(signal.SIGTERM)
            # Long enough for the loop to have run the handler's hand-over twice over.
            for _ in range(10):
                await asyncio.sleep(0)
            during_drain = list(server.received)
            signal.raise_signal(signal.SIGTERM)
            await asyncio.wait_for(server.stopped.wait(), WAIT_SECONDS)
            stopping = lifecycle.stopping
        return stopping, during_drain, server.received

    stopping, during_drain, received = asyncio.run(scenario())

    assert stopping
    assert during_drain == []
    assert received == [signal.SIGTERM]


def test_sigint_skips_the_drain() -> None:
    async def scenario() -> list[int]:
        server = StandInServer()
        serving(server)
        with Lifecycle(drain_seconds=LONG_DRAIN_SECONDS).watching_signals():
            signal.raise_signal(signal.SIGINT)
            await asyncio.wait_for(server.stopped.wait(), WAIT_SECONDS)
        return server.received

    assert asyncio.run(scenario()) == [signal.SIGINT]


def test_the_servers_handlers_are_back_once_the_app_has_stopped() -> None:
    server = StandInServer()

    async def scenario() -> bool:
        serving(server)
        lifecycle = Lifecycle(drain_seconds=0)
        with lifecycle.watching_signals():
            assert signal.getsignal(signal.SIGTERM) != server.handle_exit
        return lifecycle.stopping

    stopping = asyncio.run(scenario())

    assert stopping, "an app whose lifespan has ended is stopping"
    assert signal.getsignal(signal.SIGTERM) == server.handle_exit
    assert signal.getsignal(signal.SIGINT) == server.handle_exit


def test_outside_the_main_thread_nothing_is_chained() -> None:
    server = StandInServer()
    serving(server)
    seen: list[object] = []

    def in_a_thread() -> None:
        async def scenario() -> None:
            with Lifecycle(drain_seconds=0).watching_signals():
                seen.append(signal.getsignal(signal.SIGTERM))

        asyncio.run(scenario())

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()

    assert seen == [server.handle_exit]


async def hanging_app(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.Event().wait()


async def guarded_request_cancelled(lifecycle: Lifecycle) -> tuple[list[Message], bool]:
    """Run a request that never ends through the middleware, cancel it as uvicorn's bound does."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "PATCH", "path": "/api/u/tasks/1", "headers": []}
    guard = RequestContextMiddleware(hanging_app, Observer(None, None, None), lifecycle)
    request = asyncio.create_task(guard(scope, receive, send))
    await asyncio.sleep(0)
    request.cancel()
    await asyncio.wait([request])
    return sent, request.cancelled()


def test_a_request_cancelled_during_shutdown_is_answered_503_shutting_down() -> None:
    async def scenario() -> tuple[list[Message], bool]:
        lifecycle = Lifecycle(drain_seconds=0)
        with lifecycle.watching_signals():
            pass  # the app has stopped: what runs now is cut short by the bound
        return await guarded_request_cancelled(lifecycle)

    sent, cancelled = asyncio.run(scenario())

    assert not cancelled
    start, body = sent
    assert start["status"] == 503
    assert (b"retry-after", b"1") in start["headers"]
    assert b'"error":"shutting_down"' in body["body"]


def test_a_request_cancelled_while_serving_stays_cancelled() -> None:
    sent, cancelled = asyncio.run(guarded_request_cancelled(Lifecycle(drain_seconds=0)))

    assert cancelled
    assert sent == []
