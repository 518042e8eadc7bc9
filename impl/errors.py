"""The service's error vocabulary: each code it answers with, its status, what it says and the
headers it carries; and the exceptions that raise one.

The code is the `error` of the contract's `Error` body, the one a client branches on. Every
answer with a code comes from here, whoever writes it (the edge, before the application; the
middleware; the error handlers), so a code has one status and one set of headers wherever it is
answered. Its message is what it says unless the case has a sentence of its own; `{name}` in it
stands for `details[name]`. tests/unit/test_error_catalog.py holds the catalog to openapi.yaml.
"""

from collections.abc import Mapping
from enum import Enum, unique
from typing import Any

from starlette.exceptions import HTTPException

from impl.auth.refusals import Refusal

Details = dict[str, Any] | list[Any] | None

# A database outage lasts a while, as does a key set the auth server has not answered with; a
# full pool drains within a request's time, and a stopping instance's clients should go to
# another one at once.
RETRY_LATER = {"Retry-After": "5"}
RETRY_SHORTLY = {"Retry-After": "1"}


@unique
class ErrorCode(Enum):
    """Each code, as `status, message[, headers]`; the code is the member's name in lower case."""

    BAD_REQUEST = 400, "The request is not valid HTTP/1.1."
    MALFORMED_JSON = 400, "The request body is not valid JSON."
    INVALID_REQUEST = (
        400,
        "Send one Authorization header, not several.",
        {"WWW-Authenticate": 'Bearer error="invalid_request"'},
    )
    INVALID_CURSOR = 400, "The cursor is not one this service issued for this user."
    INVALID_SYNC_TOKEN = 400, "The sync token is not one this service issued for this user."
    CORS_PREFLIGHT_REJECTED = 400, "The CORS preflight request is not allowed."
    # RFC 6750: a request that presented no token gets the scheme alone; a refused token's
    # challenge says why (Unauthorized).
    UNAUTHORIZED = 401, "A bearer token is required.", {"WWW-Authenticate": "Bearer"}
    FORBIDDEN = 403, "You may only access your own tasks."
    NOT_FOUND = 404, "No resource lives at this path."
    METHOD_NOT_ALLOWED = 405, "This method is not allowed on this path."
    REQUEST_TIMEOUT = 408, "The request did not arrive in full within {timeout_seconds:g} seconds."
    TASK_LIMIT_REACHED = 409, "A user may hold at most {limit} tasks."
    LIST_LIMIT_REACHED = 409, "A user may hold at most {limit} lists."
    INBOX_PROTECTED = 409, "The Inbox cannot be deleted or archived."
    NOT_RECURRING = 409, "The task has no occurrence to skip."
    SYNC_TOKEN_EXPIRED = 410, "The sync token has expired; sync again without since."
    PRECONDITION_FAILED = 412, "The task has changed since the version named in If-Match."
    CONTENT_TOO_LARGE = 413, "The request body exceeds {limit_bytes} bytes."
    URI_TOO_LONG = 414, "The request target is longer than {limit_bytes} bytes."
    UNSUPPORTED_MEDIA_TYPE = 415, "The request body must be application/json."
    VALIDATION_FAILED = 422, "The request does not match the schema."
    IDEMPOTENCY_KEY_REUSED = 422, "This Idempotency-Key was used with another request body."
    # Only ever an operation's result in an atomic batch that failed, never a response.
    NOT_APPLIED = 424, "Not applied: another operation of this atomic batch failed."
    HEADER_FIELDS_TOO_LARGE = (
        431,
        "The request's header fields are larger than {limit_bytes} bytes in all.",
    )
    INTERNAL_ERROR = 500, "An unexpected error occurred."
    NOT_IMPLEMENTED = 501, "The request method is not one the service implements."
    SERVICE_UNAVAILABLE = 503, "The database is unavailable; retry later.", RETRY_LATER
    SERVICE_BUSY = 503, "The service is busy; retry shortly.", RETRY_SHORTLY
    AUTH_UNAVAILABLE = (
        503,
        "The keys that verify bearer tokens cannot be fetched; retry later.",
        RETRY_LATER,
    )
    SHUTTING_DOWN = (
        503,
        "The service is shutting down; send requests to another instance.",
        RETRY_SHORTLY,
    )
    # No Retry-After: the bundles stay missing until someone installs them.
    DOCS_UNAVAILABLE = 503, "Swagger UI and ReDoc are not installed."
    DATABASE_TIMEOUT = 504, "The database did not answer in time; retry later.", RETRY_SHORTLY

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.message = message
        self.headers: Mapping[str, str] = headers or {}

    @property
    def code(self) -> str:
        return self.name.lower()

    def describe(self, details: Details = None) -> str:
        """The message, naming what `details` holds where it says so."""
        return self.message.format_map(details) if isinstance(details, dict) else self.message

    def document(self, message: str | None = None, details: Details = None) -> dict[str, Any]:
        """The contract's `Error` body; `message` None for the code's own."""
        return {
            "error": self.code,
            "message": self.describe(details) if message is None else message,
            "details": details,
        }


class ApiError(Exception):
    """An error the client caused or can act on: answered as its code says, with the message,
    details and headers of the case."""

    def __init__(
        self,
        error: ErrorCode,
        message: str | None = None,
        *,
        details: Details = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.error = error
        self.message = error.describe(details) if message is None else message
        super().__init__(self.message)
        self.details = details
        self.headers = {**error.headers, **(headers or {})}


class Unauthorized(ApiError):
    """No bearer token (`refusal` None), or one refused: the client is told which, and why."""

    def __init__(self, refusal: Refusal | None = None) -> None:
        if refusal is None:
            super().__init__(ErrorCode.UNAUTHORIZED)
            self.reason = "missing"
            return
        # The refusal's sentence holds neither '"' nor '\\' (impl.auth.refusals).
        challenge = f'Bearer error="invalid_token", error_description="{refusal.description}"'
        super().__init__(
            ErrorCode.UNAUTHORIZED,
            refusal.description,
            details={"reason": refusal.value},
            headers={"WWW-Authenticate": challenge},
        )
        self.reason = refusal.value


class InvalidToken(ApiError):
    """A paging cursor or sync token that is not one we issued for this request."""

    def __init__(self, error: ErrorCode, parameter: str, message: str | None = None) -> None:
        super().__init__(error, message, details={"parameter": parameter})


def invalid_cursor(message: str | None = None) -> InvalidToken:
    """400 on a `cursor` parameter that is not one we issued for this request."""
    return InvalidToken(ErrorCode.INVALID_CURSOR, "cursor", message)


class ContentTooLarge(HTTPException):
    """A request body read past the limit.

    An HTTPException, not an ApiError: FastAPI turns any other error raised while it reads a
    body into a 400.
    """

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(status_code=ErrorCode.CONTENT_TOO_LARGE.status)
        self.limit_bytes = limit_bytes


class RequestTimeout(HTTPException):
    """A request body that did not arrive in time; an HTTPException, as ContentTooLarge is."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__(status_code=ErrorCode.REQUEST_TIMEOUT.status)
        self.timeout_seconds = timeout_seconds
