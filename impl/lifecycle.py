"""Shutting down: when the process was asked to stop, and what that means for requests.

uvicorn turns SIGTERM into a graceful shutdown: it closes the listener, lets the requests in
flight finish for `timeout_graceful_shutdown` seconds, cancels the rest, and only then runs the
lifespan's shutdown, which closes the pool. The app is not told when that starts, so the
lifespan puts a handler of its own in front of uvicorn's (`Lifecycle.watching_signals`): from
the first SIGTERM `/health/ready` answers 503 `shutting_down`, and uvicorn hears of the signal
`drain_seconds` later, the listener serving all along, so that a load balancer has seen the
probe fail and stopped routing here before connections are refused. The request-context
middleware answers the requests the bound cancels.

uvicorn's handler is `Server.handle_exit`, which it installs for SIGTERM and SIGINT before the
lifespan begins (tests/unit/test_uvicorn_internals.py holds it to that). Overriding it in a
Server subclass would reach a single process only: uvicorn's supervisor builds each worker's
Server itself, as a plain `Server`.
"""

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from impl.errors import ApiError, ErrorCode

logger = logging.getLogger(__name__)

# SIGTERM is how orchestrators stop a process (and may be followed by SIGKILL): it drains.
# SIGINT is a person at a terminal: it stops at once.
WATCHED_SIGNALS = (signal.SIGTERM, signal.SIGINT)

SignalHandler = Callable[[int, FrameType | None], Any]


class ShuttingDown(ApiError):
    """The process is stopping: the readiness probe fails, and a request the bound cut short
    says what became of it (`message`)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(ErrorCode.SHUTTING_DOWN, message)


class Lifecycle:
    """Whether the process has been asked to stop: one per app, read by the probe and the guard."""

    def __init__(self, drain_seconds: float) -> None:
        self._drain_seconds = drain_seconds
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # The server's own handler of each signal, called once the drain is over.
        self._server_handlers: dict[int, SignalHandler] = {}
        self._drain_begun = False
        self._drain: asyncio.TimerHandle | None = None
        self._stop_callbacks: list[Callable[[], None]] = []

    @property
    def stopping(self) -> bool:
        return self._stopping

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call `callback` as the server begins to shut down (after the drain), or as the app's
        lifetime ends: what the server would wait for without end (event streams) ends then."""
        self._stop_callbacks.append(callback)

    def _stopped(self) -> None:
        callbacks, self._stop_callbacks = self._stop_callbacks, []
        for callback in callbacks:
            callback()

    @contextmanager
    def watching_signals(self) -> Iterator[None]:
        """For the app's lifetime (inside its lifespan): hear SIGTERM and SIGINT before the server.

        The server's handlers must already be installed, as uvicorn's are when the lifespan
        starts. Handlers can be set from the main thread only: elsewhere (an app run by a test
        client in a thread) nothing is chained, and the app is stopping once its lifespan ends.
        """
        if threading.current_thread() is threading.main_thread():
            self._loop = asyncio.get_running_loop()
            for signum in WATCHED_SIGNALS:
                handler = signal.getsignal(signum)
                if callable(handler):
                    self._server_handlers[signum] = handler
                    signal.signal(signum, self._on_signal)
        try:
            yield
        finally:
            self._stopping = True
            self._stopped()
            if self._drain is not None:
                self._drain.cancel()
                self._drain = None
            for watched, server_handler in self._server_handlers.items():
                signal.signal(watched, server_handler)
            self._server_handlers.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Runs between two bytecodes of the main thread: set the flag, hand the rest to the loop.
        self._stopping = True
        assert self._loop is not None, "installed by watching_signals"
        self._loop.call_soon_threadsafe(self._signalled, signum)

    def _signalled(self, signum: int) -> None:
        if signum == signal.SIGTERM and self._drain_seconds > 0 and not self._drain_begun:
            self._drain_begun = True
            logger.info(
                "SIGTERM: /health/ready answers 503 for %g s, then the listener closes",
                self._drain_seconds,
            )
            assert self._loop is not None
            self._drain = self._loop.call_later(self._drain_seconds, self._stop_server, signum)
            return
        # SIGINT, no drain, or a second SIGTERM: a drain under way ends now.
        if self._drain is not None:
            self._drain.cancel()
        self._stop_server(signum)

    def _stop_server(self, signum: int) -> None:
        self._drain = None
        self._stopped()
        handler = self._server_handlers.get(signum)
        if handler is not None:
            handler(signum, None)
