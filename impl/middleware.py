"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per request)."""

import asyncio
import logging
import os
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.error_handlers import (
    error_response,
    internal_error_response,
    unsupported_transfer_coding_response,
)
from impl.errors import ContentTooLarge, ErrorCode, RequestTimeout
from impl.lifecycle import Lifecycle, ShuttingDown
from impl.observability.naming import route_template
from impl.observability.observer import Observer

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = b"x-request-id"
ACCEPTED_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID), tells the observer how it went, turns
    any unhandled error into a 500, and a request the shutdown cut short into a 503.

    The id is always the server's own; a well-formed X-Request-ID from the client is kept beside
    it as the correlation id. The 500 body names the request id and nothing else; the stack
    trace goes to the log, under the route's template: the path itself holds the user id.

    uvicorn cancels what still runs `timeout_graceful_shutdown` seconds after its listener
    closed; left to uvicorn, each such request would be logged with a stack trace and answered
    a plain-text 500. Its database work is whole or absent either way: a statement is atomic,
    the idempotent create is one transaction, and the pool has the server cancel an interrupted
    statement. It is answered 503 `shutting_down`, with its request id, logged and counted.
    """

    def __init__(self, app: ASGIApp, observer: Observer, lifecycle: Lifecycle) -> None:
        self.app = app
        self.observer = observer
        self.lifecycle = lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # As random as uuid4's 122 bits, without building a UUID object on every request.
        request_id = os.urandom(16).hex()
        correlation_id = _correlation_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 0
        exchange = self.observer.request_started(scope)

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except asyncio.CancelledError:
            if not self.lifecycle.stopping:
                raise
            # The cancellation ends here, answered: withdrawn from the task, as asyncio requires
            # of code that does not re-raise it. Left pending, a timeout around this call in the
            # same task would take its own expiry for a cancellation from outside.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            logger.warning(
                "%s %s cancelled: still running when the graceful shutdown's time ran out",
                scope["method"],
                route_template(scope),
            )
            # Half an answer already sent cannot be taken back: the server closes the connection.
            if not status:
                error = ShuttingDown(
                    "The service shut down before this request finished; "
                    "a write may or may not have been applied."
                )
                self.observer.unavailable(error.error.code)
                await error_response(error.error, error.message, None, error.headers)(
                    scope, receive, send_with_request_id
                )
        except Exception:
            logger.exception(
                "unhandled error in %s %s (request id %s)",
                scope["method"],
                route_template(scope),
                request_id,
            )
            if status:
                raise
            await internal_error_response(request_id)(scope, receive, send_with_request_id)
        finally:
            self.observer.request_finished(exchange, scope, status, request_id, correlation_id)


def _correlation_id(scope: Scope) -> str | None:
    offered = _header(scope, REQUEST_ID_HEADER)
    if offered is not None and ACCEPTED_REQUEST_ID.match(offered.decode("latin-1")):
        return offered.decode("latin-1")
    return None


class EncodedSlashMiddleware:
    """Answers 404 to a path with an encoded slash (`%2F`) in it.

    Starlette routes the decoded path, so `/tasks/2%2Fcomplete` would run `/tasks/2/complete`:
    the route that runs would not be the one a proxy or a log sees in the raw path. No segment of
    the contract (a user id, a task id) can hold a slash, so no such path names a resource.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path") if scope["type"] == "http" else None
        if raw_path is not None and b"%2f" in raw_path.lower():
            await error_response(ErrorCode.NOT_FOUND)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RequestBodyMiddleware:
    """How a request's body is read: in a framing the service implements, within
    `max_body_bytes` (413) and `body_timeout_seconds` from the head (408), and not at all by an
    operation that takes none.

    The limits apply as the route reads the body, so an operation without one answers
    whatever was sent with it, of any size. A body left unread closes the connection after the
    answer: the rest of it would otherwise be read as the next request.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        transfer_coding = _header(scope, b"transfer-encoding")
        declared = _content_length(scope)
        if transfer_coding is None and not declared:
            await self.app(scope, receive, send)
            return
        if transfer_coding is not None and transfer_coding.strip().lower() != b"chunked":
            await unsupported_transfer_coding_response(transfer_coding)(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.body_timeout_seconds
        received = 0
        complete = False

        async def receive_within_limits() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            if declared is not None and declared > self.max_body_bytes:
                raise ContentTooLarge(self.max_body_bytes)
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(self.body_timeout_seconds) from None
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                # Raised while the route reads its body; the error handlers answer 413.
                raise ContentTooLarge(self.max_body_bytes)
            complete = not message.get("more_body", False)
            return message

        async def send_closing_if_unread(message: Message) -> None:
            if message["type"] == "http.response.start" and not complete:
                MutableHeaders(scope=message).append("Connection", "close")
            await send(message)

        await self.app(scope, receive_within_limits, send_closing_if_unread)


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header `name` (lower-case, as ASGI delivers names)."""
    key: bytes
    value: bytes
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


class CorsMiddleware(CORSMiddleware):
    """Starlette's CORS, answering a refused preflight in the Error shape instead of plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        kept = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        }
        reason = bytes(response.body).decode()
        return error_response(ErrorCode.CORS_PREFLIGHT_REJECTED, reason, None, kept)
