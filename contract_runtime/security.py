"""The security schemes: who the caller is, and the port that establishes it."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

from starlette.requests import Request

BEARER_PREFIX = "bearer "


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: the subject of a verified bearer token."""

    user_id: str


class BaseAuthenticator(ABC):
    """Turns a request's credentials into a Principal, or raises the error to answer with."""

    @abstractmethod
    async def authenticate(self, token: str | None) -> Principal:
        """`token` is None when the request carries no bearer credentials."""

    @abstractmethod
    async def authenticate_key(self, scheme: str, key: str) -> Principal:
        """The caller of an operation that accepts an API key of security scheme `scheme` (its
        name in the contract) instead of a bearer token, and was sent `key`."""


class RepeatedCredentials(Exception):
    """More than one credential: which one counts would depend on who reads the request.

    Two `Authorization` headers: a proxy that takes the last one and a server that takes the
    first would authenticate two different callers for one request; a bearer token and an API
    key: two methods at once. Neither is taken (RFC 6750 `invalid_request`). `message` says
    which, when it is not the repeated header.
    """

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)
        self.message = message


def bearer_token(request: Request) -> str | None:
    """The credentials of an `Authorization: Bearer <token>` header, if there is one."""
    headers = request.headers.getlist("authorization")
    if len(headers) > 1:
        raise RepeatedCredentials
    if not headers or headers[0][: len(BEARER_PREFIX)].lower() != BEARER_PREFIX:
        return None
    return headers[0][len(BEARER_PREFIX) :].strip() or None
