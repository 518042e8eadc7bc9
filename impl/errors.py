"""Operational errors: each one knows the status, code and headers it is answered with."""

from typing import Any

from starlette.exceptions import HTTPException


class ApiError(Exception):
    """An error the client caused or can act on; mapped to the contract's `Error` body."""

    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str, *, reason: str) -> None:
        """`reason`: `missing` (no token), else the code of why the token was refused, and
        `message` its fixed sentence (impl.auth.refusals): the client is told both."""
        if reason == "missing":
            # RFC 6750: a request that presented no token gets the scheme alone.
            super().__init__(message, headers={"WWW-Authenticate": "Bearer"})
        else:
            challenge = f'Bearer error="invalid_token", error_description="{message}"'
            super().__init__(
                message, details={"reason": reason}, headers={"WWW-Authenticate": challenge}
            )
        self.reason = reason


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class ContentTooLarge(HTTPException):
    """A request body read past the limit.

    An HTTPException, not an ApiError: FastAPI turns any other error raised while it reads a
    body into a 400.
    """

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(status_code=413)
        self.limit_bytes = limit_bytes


class RequestTimeout(HTTPException):
    """A request body that did not arrive in time; an HTTPException, as ContentTooLarge is."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__(status_code=408)
        self.timeout_seconds = timeout_seconds


class InvalidToken(ApiError):
    """A paging cursor or sync token that is not one we issued for this request."""

    status_code = 400

    def __init__(self, code: str, parameter: str, message: str) -> None:
        super().__init__(message, details={"parameter": parameter})
        self.code = code


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class Gone(ApiError):
    status_code = 410
    code = "gone"


class PreconditionFailed(ApiError):
    status_code = 412
    code = "precondition_failed"


class UnprocessableContent(ApiError):
    status_code = 422
    code = "unprocessable_content"
