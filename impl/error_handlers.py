"""One error shape for every failure: `{"error", "message", "details"}`, as its code says."""

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route

from contract_runtime.routing import UnreadableRequest, UnsupportedMediaType
from contract_runtime.security import RepeatedCredentials
from impl.db.pool import DatabaseTimeout, DatabaseUnavailable, PoolExhausted
from impl.errors import (
    ApiError,
    ContentTooLarge,
    Details,
    ErrorCode,
    RequestTimeout,
    Unauthorized,
)
from impl.json import dumps
from impl.observability.observer import Observer

logger = logging.getLogger(__name__)

# The statuses that say "not now" rather than "not this": counted by cause.
UNAVAILABLE_STATUSES = frozenset({503, 504})
# The codes of the statuses the framework raises itself (routing, reading a body).
FRAMEWORK_ERRORS = {
    error.status: error
    for error in (ErrorCode.BAD_REQUEST, ErrorCode.NOT_FOUND, ErrorCode.METHOD_NOT_ALLOWED)
}


def error_response(
    error: ErrorCode,
    message: str | None = None,
    details: Details = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The contract's `Error` body with the code's status and headers, and the case's `headers`;
    `message` None for the code's own. `details` may hold documents (timestamps included)."""
    return Response(
        dumps(error.document(message, details)),
        status_code=error.status,
        headers={**error.headers, **(headers or {})},
        media_type="application/json",
    )


def content_too_large_response(limit_bytes: int) -> Response:
    return error_response(ErrorCode.CONTENT_TOO_LARGE, details={"limit_bytes": limit_bytes})


def request_timeout_response(timeout_seconds: float) -> Response:
    return error_response(ErrorCode.REQUEST_TIMEOUT, details={"timeout_seconds": timeout_seconds})


def unsupported_transfer_coding_response(codings: bytes) -> Response:
    return error_response(
        ErrorCode.NOT_IMPLEMENTED,
        f"Transfer-Encoding {codings.decode('latin-1')} is not supported: "
        "send the body with Content-Length, or chunked alone.",
        # The body's framing is unknown: what follows the head cannot be read as a next request.
        headers={"Connection": "close"},
    )


def internal_error_response(request_id: str) -> Response:
    return error_response(ErrorCode.INTERNAL_ERROR, details={"request_id": request_id})


def _api_error_handler(observer: Observer) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        if isinstance(error, Unauthorized):
            observer.token_rejected(error.reason)
        elif error.error.status in UNAVAILABLE_STATUSES:
            observer.unavailable(error.error.code)
        return error_response(error.error, error.message, error.details, error.headers)

    return handle


async def _repeated_credentials(request: Request, error: Exception) -> Response:
    assert isinstance(error, RepeatedCredentials)
    return error_response(ErrorCode.INVALID_REQUEST, error.message)


async def _unreadable_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, UnreadableRequest)
    details = {"header": error.header} if error.header is not None else None
    return error_response(ErrorCode.BAD_REQUEST, error.message, details)


async def _unsupported_media_type(request: Request, error: Exception) -> Response:
    assert isinstance(error, UnsupportedMediaType)
    return error_response(ErrorCode.UNSUPPORTED_MEDIA_TYPE, error.message)


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
            ErrorCode.MALFORMED_JSON,
            details={"position": position if isinstance(position, int) else None},
        )
    return error_response(
        ErrorCode.VALIDATION_FAILED,
        details=[
            {"location": list(p["loc"]), "message": p["msg"], "type": p["type"]} for p in problems
        ],
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
        answer = FRAMEWORK_ERRORS.get(error.status_code)
        if answer is None:
            # A status the catalog has no code for: the contract documents none either.
            request_id = str(getattr(request.state, "request_id", ""))
            logger.error(
                "unexpected HTTP %s from the framework (request id %s): %s",
                error.status_code,
                request_id,
                error.detail,
            )
            return internal_error_response(request_id)
        message = None
        if isinstance(error.detail, str) and error.detail != HTTPStatus(error.status_code).phrase:
            # Raised with a sentence of its own (FastAPI's, for a body it could not read).
            message = error.detail
        headers = dict(error.headers or {})
        if answer is ErrorCode.METHOD_NOT_ALLOWED:
            headers["Allow"] = ", ".join(allowed_methods.for_path(request.url.path))
        return error_response(answer, message, None, headers)

    return handle


@dataclass(frozen=True)
class OperationalAnswer:
    """How one operational failure is answered, and whether it is logged here."""

    error: ErrorCode
    # None: whoever raised it has logged it.
    log_message: str | None


OPERATIONAL_ANSWERS: dict[type[Exception], OperationalAnswer] = {
    DatabaseUnavailable: OperationalAnswer(ErrorCode.SERVICE_UNAVAILABLE, "database unavailable"),
    PoolExhausted: OperationalAnswer(ErrorCode.SERVICE_BUSY, None),
    DatabaseTimeout: OperationalAnswer(ErrorCode.DATABASE_TIMEOUT, "database statement timed out"),
}


def _operational_error_handler(
    answer: OperationalAnswer, observer: Observer
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, error: Exception) -> Response:
        if answer.log_message is not None:
            request_id = str(getattr(request.state, "request_id", ""))
            logger.warning("%s (request id %s): %s", answer.log_message, request_id, error)
        observer.unavailable(answer.error.code)
        return error_response(answer.error)

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
    app.add_exception_handler(UnsupportedMediaType, _unsupported_media_type)
    for error_type, answer in OPERATIONAL_ANSWERS.items():
        app.add_exception_handler(error_type, _operational_error_handler(answer, observer))
