"""uvicorn's httptools protocol, with limits on a request's head and the edge's own answers."""

import asyncio
import logging
import socket
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from impl.edge import EDGE_OBSERVER_STATE, EdgeObserver, refusals
from impl.edge.config import EdgeConfig
from impl.edge.refusals import Refusal

logger = logging.getLogger(__name__)

# ": " and CRLF around each header field, as sent.
HEADER_FIELD_OVERHEAD = 4
# The most of a request line, its target aside, that a read continuing a head can hold: the
# longest method the parser knows, the spaces, the version and CRLF. Counted as if it were header
# fields, it must not make a head within the limit look larger than it.
REQUEST_LINE_BYTES = len(b"UNSUBSCRIBE  HTTP/1.1\r\n")
# The most of an answer the kernel holds unsent for a connection (TCP_NOTSENT_LOWAT); the rest
# waits in the transport, where a reader that stalls makes writing pause, and the send timeout
# start. Without it the kernel's autotuned buffer takes megabytes for a client that reads
# nothing. What is in flight is not counted: throughput to a fast reader is unchanged.
NOT_SENT_LOW_WATER_BYTES = 32 * 1024
# After refusing, what the client still sends is read and dropped this long before closing: a
# close with unread data resets the connection, and the client would lose the answer with it.
LINGER_SECONDS = 2.0


class _Refused(Exception):
    """Stops the parser from within a callback; the refusal is kept on the protocol."""


class EdgeProtocol(HttpToolsProtocol):
    """Reads each request's head within the limits, and answers in the Error shape what the
    application never sees: a head too big or too slow, and what is not HTTP/1.1.

    - The request target may hold `max_url_bytes` (414) and the header fields
      `max_header_bytes` in all (431). Both are counted as the bytes arrive, so a head that
      never ends is refused when it passes the limit, not buffered.
    - A head must arrive within `header_timeout_seconds` of its first byte (408), however
      slowly its bytes trickle in. A connection that sends nothing is closed after the
      keep-alive timeout, as between requests.
    - Whatever the parser refuses is 400 `bad_request` naming its reason, or 501 for a method
      it does not know. So is what it reads but HTTP/1.1 does not allow: a version other than
      1.0 or 1.1, and a Host missing (from HTTP/1.1), repeated or invalid (RFC 9112 §3.2).
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if not isinstance(config, EdgeConfig):
            raise TypeError("EdgeProtocol is configured by an EdgeConfig")
        self.limits = config.edge_limits
        observer = app_state.get(EDGE_OBSERVER_STATE)
        self.observer = observer if isinstance(observer, EdgeObserver) else None
        self.reading_head = False
        self.head_began_in_this_read = False
        self.head_bytes = 0
        self.header_bytes = 0
        self.head_deadline: asyncio.TimerHandle | None = None
        self.refusal: Refusal | None = None
        self.lingering = False
        self.send_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        connection = transport.get_extra_info("socket")
        if connection is not None and hasattr(socket, "TCP_NOTSENT_LOWAT"):
            connection.setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT, NOT_SENT_LOW_WATER_BYTES
            )
        # uvicorn arms its idle timer only after a response; a connection that never sends a
        # byte would be held forever.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        self._cancel_send_deadline()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        """The client has not taken what was sent (its buffers and ours are full): unless it
        takes some within the send timeout, the connection is dropped, and with it what is
        buffered for it, rather than buffered on for a reader who may never read."""
        super().pause_writing()
        if self.send_deadline is None:
            self.send_deadline = self.loop.call_later(
                self.limits.send_timeout_seconds, self._drop_slow_reader
            )

    def resume_writing(self) -> None:
        self._cancel_send_deadline()
        super().resume_writing()

    def _cancel_send_deadline(self) -> None:
        if self.send_deadline is not None:
            self.send_deadline.cancel()
            self.send_deadline = None

    def _drop_slow_reader(self) -> None:
        self.send_deadline = None
        logger.info(
            "dropped a connection whose client read nothing for %g s",
            self.limits.send_timeout_seconds,
        )
        if self.observer is not None:
            self.observer.slow_reader_dropped()
        # abort, not close: close would wait to send what the client is not reading.
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as error:
            self._refuse(self.refusal or refusals.unreadable(error, data))
            return
        if self.reading_head:
            self._count_unfinished_head(len(data))
        self.head_began_in_this_read = False

    def _count_unfinished_head(self, read_bytes: int) -> None:
        """The parser buffers an unfinished header field unseen, so what arrives while the head
        is unfinished is counted as it comes: a field that never ends is refused at the limit.

        A read that began the head may also hold the end of an earlier request: of it, only the
        target and the fields the parser has passed on are counted, exactly. What the parser
        keeps of its last field is less than one read, and is counted from the next read on.
        A later read is counted whole, and may still hold the rest of the request line: the count
        may pass the limit by that much before the head is refused. Whether a head that ends is
        within the limit is decided exactly, field by field (`on_header`).
        """
        if self.head_began_in_this_read:
            self.head_bytes = len(self.url) + self.header_bytes
        else:
            self.head_bytes += read_bytes
        fields_so_far = self.head_bytes - len(self.url)
        if fields_so_far > self.limits.max_header_bytes + REQUEST_LINE_BYTES:
            self._refuse(refusals.header_too_large(self.limits.max_header_bytes))

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head = True
        self.head_began_in_this_read = True
        self.head_bytes = 0
        self.header_bytes = 0
        self._cancel_head_deadline()
        self.head_deadline = self.loop.call_later(
            self.limits.header_timeout_seconds, self._head_too_slow
        )

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.max_url_bytes:
            self.refusal = refusals.url_too_long(self.limits.max_url_bytes)
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + HEADER_FIELD_OVERHEAD
        if self.header_bytes > self.limits.max_header_bytes:
            self.refusal = refusals.header_too_large(self.limits.max_header_bytes)
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self._cancel_head_deadline()
        version = self.parser.get_http_version()
        refusal = refusals.unserved_version(version) or refusals.host_problem(version, self.headers)
        if refusal is not None:
            self.refusal = refusal
            raise _Refused
        if self.parser.should_upgrade() and self._declares_body():
            # The parser hands everything after an upgrade request's head to the new protocol,
            # which the service does not speak: the body would be lost, and the request read
            # as one without it.
            self.refusal = refusals.upgrade_with_body()
            raise _Refused
        super().on_headers_complete()

    def _declares_body(self) -> bool:
        return any(
            name == b"transfer-encoding" or (name == b"content-length" and value.strip(b"0 "))
            for name, value in self.headers
        )

    # The edge's own answers

    def _head_too_slow(self) -> None:
        self.head_deadline = None
        if self.reading_head:
            self._refuse(refusals.header_too_slow(self.limits.header_timeout_seconds))

    def _refuse(self, refusal: Refusal) -> None:
        """Answer `refusal` and close, unless an answer to an earlier request is still being
        written: then close after that one (the refusal cannot go in the middle of it)."""
        self.reading_head = False
        self._cancel_head_deadline()
        if self.transport.is_closing():
            return
        logger.info("refused a request: %s %s", refusal.error.status, refusal.error.code)
        if self.observer is not None:
            self.observer.edge_refused(refusal.error.status, refusal.error.code)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started or not cycle.more_body:
                cycle.keep_alive = False
                self.flow.pause_reading()
                return
            # The request whose body could not be read: the application, still reading it,
            # is told the client has gone, and what it may answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.write(refusal.encode(self.server_state.default_headers))
        self._close_after_lingering()

    def _close_after_lingering(self) -> None:
        self.lingering = True
        self._unset_keepalive_if_required()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _cancel_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None
