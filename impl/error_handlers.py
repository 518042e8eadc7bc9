"""One error shape for every failure: `{"error", "message", "details"}` with the right status."""

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route

from contract_runtime.routing import UnreadableRequest
from contract_runtime.security import RepeatedCredentials
from impl.db.pool import DatabaseTimeout, DatabaseUnavailable, PoolExhausted
from impl.errors import ApiError, ContentTooLarge, RequestTimeout, Unauthorized
from impl.json import dumps
from impl.observability.observer import Observer

logger = logging.getLogger(__name__)

# A database outage lasts a while; a full pool drains within a request's time.
RETRY_AFTER_UNAVAILABLE_SECONDS = 5
RETRY_AFTER_BUSY_SECONDS = 1
INTERNAL_ERROR_MESSAGE = "An unexpected error occurred."
# The statuses that say "not now" rather than "not this": counted by cause.
UNAVAILABLE_STATUSES = frozenset({503, 504})
# Codes for the statuses the framework raises itself (routing, content type).
HTTP_ERROR_CODES = {
    400: ("bad_request", "The request could not be read."),
    404: ("not_found", "No resource lives at this path."),
    405: ("method_not_allowed", "This method is not allowed on this path."),
    415: ("unsupported_media_type", "The request body must be application/json."),
}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: dict[str, Any] | list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The contract's `Error` body; `details` may hold documents (timestamps included)."""
    return Response(
        dumps({"error": code, "message": message, "details": details}),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


def content_too_large_response(limit_bytes: int) -> Response:
    return error_response(
        413,
        "content_too_large",
        f"The request body exceeds {limit_bytes} bytes.",
        {"limit_bytes": limit_bytes},
    )


def request_timeout_response(timeout_seconds: float) -> Response:
    return error_response(
        408,
        "request_timeout",
        f"The request body was not received within {timeout_seconds:g} seconds.",
        {"timeout_seconds": timeout_seconds},
    )


def unsupported_transfer_coding_response(codings: bytes) -> Response:
    return error_response(
        501,
        "not_implemented",
        f"Transfer-Encoding {codings.decode('latin-1')} is not supported: "
        "send the body with Content-Length, or chunked alone.",
        None,
        {"Connection": "close"},
    )


def internal_error_response(request_id: str) -> Response:
    return error_response(500, "internal_error", INTERNAL_ERROR_MESSAGE, {"request_id": request_id})


def _api_error_handler(observer: Observer) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        if isinstance(error, Unauthorized):
            observer.token_rejected(error.reason)
        elif error.status_code in UNAVAILABLE_STATUSES:
            observer.unavailable(error.code)
        return error_response(
            error.status_code, error.code, error.message, error.details, error.headers or None
        )

    return handle


async def _repeated_credentials(request: Request, error: Exception) -> Response:
    return error_response(
        400,
        "invalid_request",
        "Send one Authorization header, not several.",
        None,
        {"WWW-Authenticate": 'Bearer error="invalid_request"'},
    )


async def _unreadable_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, UnreadableRequest)
    details = {"header": error.header} if error.header is not None else None
    return error_response(400, "bad_request", error.message, details)


async def _content_too_large(request: Request, error: Exception) -> Response:
    assert isinstance(error, ContentTooLarge)
    return content_too_large_response(error.limit_bytes)


async def _request_timeout(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestTimeout)
    return request_timeout_response(error.timeout_seconds)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    malformed = next((p for p in problems if p["type"] == "json_invalid"), None)
    if malformed is not None:
        position = malformed["loc"][-1]
        return error_response(
            400,
            "malformed_json",
            "The request body is not valid JSON.",
            {"position": position if isinstance(position, int) else None},
        )
    return error_response(
        422,
        "validation_failed",
        "The request does not match the schema.",
        [{"location": list(p["loc"]), "message": p["msg"], "type": p["type"]} for p in problems],
    )


class AllowedMethods:
    """Which methods each path serves, for a truthful `Allow` header on 405.

    Starlette's own 405 names only the methods of the first route matching the path.
    """

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self._routes = [
            (route.path_regex, frozenset(route.methods))
            for route in routes
            if isinstance(route, Route) and route.methods
        ]

    def for_path(self, path: str) -> list[str]:
        return sorted({m for regex, methods in self._routes if regex.match(path) for m in methods})


def _http_error_handler(
    allowed_methods: AllowedMethods,
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        code, message = HTTP_ERROR_CODES.get(
            error.status_code, ("http_error", "The request could not be served.")
        )
        if isinstance(error.detail, str) and error.detail != HTTPStatus(error.status_code).phrase:
            # Raised with a sentence of its own (the generated routes' 415s say what to send).
            message = error.detail
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods.for_path(request.url.path))
        return error_response(error.status_code, code, message, None, headers or None)

    return handle


@dataclass(frozen=True)
class OperationalAnswer:
    """How one operational failure is answered, and whether it is logged here."""

    status_code: int
    code: str
    message: str
    retry_after_seconds: int
    # None: whoever raised it has logged it.
    log_message: str | None


OPERATIONAL_ANSWERS: dict[type[Exception], OperationalAnswer] = {
    DatabaseUnavailable: OperationalAnswer(
        503,
        "service_unavailable",
        "The database is unavailable; retry later.",
        RETRY_AFTER_UNAVAILABLE_SECONDS,
        "database unavailable",
    ),
    PoolExhausted: OperationalAnswer(
        503,
        "service_busy",
        "The service is busy; retry shortly.",
        RETRY_AFTER_BUSY_SECONDS,
        None,
    ),
    DatabaseTimeout: OperationalAnswer(
        504,
        "database_timeout",
        "The database did not answer in time; retry later.",
        RETRY_AFTER_BUSY_SECONDS,
        "database statement timed out",
    ),
}


def _operational_error_handler(
    answer: OperationalAnswer, observer: Observer
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, error: Exception) -> Response:
        if answer.log_message is not None:
            request_id = str(getattr(request.state, "request_id", ""))
            logger.warning("%s (request id %s): %s", answer.log_message, request_id, error)
        observer.unavailable(answer.code)
        return error_response(
            answer.status_code,
            answer.code,
            answer.message,
            None,
            {"Retry-After": str(answer.retry_after_seconds)},
        )

    return handle


def register_error_handlers(app: FastAPI, routes: Iterable[BaseRoute], observer: Observer) -> None:
    """Map every error to the `Error` shape; `routes` are all the app serves, for 405s."""
    app.add_exception_handler(ApiError, _api_error_handler(observer))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error_handler(AllowedMethods(routes)))
    app.add_exception_handler(ContentTooLarge, _content_too_large)
    app.add_exception_handler(RequestTimeout, _request_timeout)
    app.add_exception_handler(RepeatedCredentials, _repeated_credentials)
    app.add_exception_handler(UnreadableRequest, _unreadable_request)
    for error_type, answer in OPERATIONAL_ANSWERS.items():
        app.add_exception_handler(error_type, _operational_error_handler(answer, observer))
