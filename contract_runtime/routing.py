"""What every generated route runs: the caller admitted before FastAPI reads the request, its
query and headers read strictly, its body's media type and coding checked, the answer serialized
once. The generated `create_router` says, per operation, which of these apply and with what."""

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.convertors import StringConvertor
from starlette.types import Receive, Scope, Send

from contract_runtime.answers import EventStream
from contract_runtime.conditional import parse_entity_tags
from contract_runtime.security import (
    BaseAuthenticator,
    Principal,
    RepeatedCredentials,
    bearer_token,
)

NOT_AN_OBJECT = {
    "type": "model_type",
    "loc": ("body",),
    "msg": "Input should be an object",
    "input": None,
}

# The preconditions of RFC 9110 (13.1) that an operation evaluates only if it declares them, and
# refuses otherwise: ignoring one would answer as if it held, and a client that sends
# `If-None-Match: *` to a PUT, or `If-Match` to a GET, counts on nothing happening unless it does.
# The service sends no Last-Modified, so it has no date for If-Unmodified-Since to compare.
# If-Modified-Since and If-Range are ignored, as RFC 9110 requires of a resource without
# modification dates or range requests (13.1.3, 13.1.5): the full answer is a correct one to both.
PRECONDITIONS = ("If-Match", "If-None-Match", "If-Unmodified-Since")
# A `%` that does not start an escape: RFC 3986 gives it no meaning in a query.
STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
UNREADABLE_QUERY = "The query string must be UTF-8, percent-encoded (RFC 3986)."

EndpointT = TypeVar("EndpointT", bound=Callable[..., Coroutine[Any, Any, Response]])


class UnreadableRequest(Exception):
    """A request whose query or headers cannot be read as the contract declares them: 400
    `bad_request`. `header` names the header field at fault, if one is."""

    def __init__(self, message: str, header: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.header = header


class UnsupportedMediaType(Exception):
    """A request body the operation cannot read as sent: 415 `unsupported_media_type`, and
    `message` says what to send instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Admission:
    """Who the caller is (from the request's credentials), and whether they may call an
    operation at a path (from its validated parameters); each raises the error to answer."""

    authenticate: Callable[[Request], Awaitable[Principal]]
    authorize: Callable[[Principal, Mapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Operation:
    """What a route settles before FastAPI reads the request: whether the caller may call it,
    and whether its query and headers say one thing each."""

    # None for an operation anyone may call.
    admission: Admission | None
    # Query parameters that take one value (the others are arrays, sent once per item).
    single_query: tuple[str, ...]
    # Header parameters that take one value; and those that are entity-tag lists.
    single_headers: tuple[str, ...]
    entity_tag_headers: tuple[str, ...]

    def scope_to_read(self, request: Request) -> Scope:
        """The request's scope, with each entity-tag list in one field, once its query and
        headers hold; else raise the error to answer."""
        read_query(request, self.single_query)
        headers = request.headers
        for name in PRECONDITIONS:
            if name not in self.entity_tag_headers and name in headers:
                raise UnreadableRequest(
                    f"This operation does not evaluate {name}; nothing was done.", name
                )
        for name in self.single_headers:
            # A proxy that takes the last of two fields and a server that takes the first would
            # read two different requests; neither is taken (RFC 9110, 5.3).
            if len(headers.getlist(name)) > 1:
                raise UnreadableRequest(f"Send one {name} header, not several.", name)
        combined: dict[bytes, bytes] = {}
        for name in self.entity_tag_headers:
            fields = headers.getlist(name)
            if not fields:
                continue
            value = ", ".join(fields)
            try:
                parse_entity_tags(value)
            except ValueError:
                raise UnreadableRequest(
                    f'{name} must be * or a comma-separated list of entity tags, such as "3".',
                    name,
                ) from None
            combined[name.lower().encode("latin-1")] = value.encode("latin-1")
        if not combined:
            return request.scope
        kept = [(key, value) for key, value in request.scope["headers"] if key not in combined]
        return {**request.scope, "headers": kept + list(combined.items())}


def read_query(request: Request, single_query: tuple[str, ...]) -> None:
    """Raise unless the query string is percent-encoded UTF-8 with each of `single_query` once.

    Starlette would read a byte that is not UTF-8 as U+FFFD and a repeated parameter as its last
    value: answers to a question the client did not ask.
    """
    query = request.scope["query_string"]
    if not query:
        return
    try:
        text = query.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise UnreadableRequest(UNREADABLE_QUERY) from None
    if STRAY_PERCENT.search(text):
        raise UnreadableRequest(UNREADABLE_QUERY)
    counts = Counter(name for name, _ in pairs)
    repeated = [
        {
            "type": "repeated_parameter",
            "loc": ("query", name),
            "msg": f"Send {name} once, not {counts[name]} times",
            "input": None,
        }
        for name in single_query
        if counts[name] > 1
    ]
    if repeated:
        raise RequestValidationError(repeated)


class ContractRequest(Request):
    """A request whose JSON body is read as RFC 8259 defines JSON, by orjson: UTF-8 only (a
    `charset` parameter changes nothing), no `NaN` or `Infinity`, nesting and numbers bounded.
    Anything else raises a JSONDecodeError, which FastAPI turns into a `json_invalid` error."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class ContractRoute(APIRoute):
    """A route whose handler is given a ContractRequest, once its `operation` has admitted the
    caller and read its query and headers, and a body it could not read (one with a content
    coding) is refused.

    FastAPI reads and parses the body before it runs any dependency: the caller is admitted
    here, before FastAPI, so that a caller who may not call the operation learns nothing of how
    the body would have been read, and has none of it read.
    """

    operation: ClassVar[Operation]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None
        operation = self.operation

        async def handle(request: Request) -> Response:
            if operation.admission is not None:
                principal = await operation.admission.authenticate(request)
                # The path is checked before the owner: a malformed one is 422 to any caller,
                # which tells them nothing the contract does not.
                path, errors = request_params_to_args(
                    self.dependant.path_params, request.path_params
                )
                if errors:
                    raise RequestValidationError(errors)
                await operation.admission.authorize(principal, path)
            scope = operation.scope_to_read(request)
            if takes_body and declares_body(request):
                refuse_content_coding(request)
            return await handler(ContractRequest(scope, request.receive))

        return handle


def route_class(checks: Operation) -> type[ContractRoute]:
    """A ContractRoute for one operation: FastAPI hands a route class no data of ours, so each
    operation's class carries its own."""

    class OperationRoute(ContractRoute):
        operation = checks

    return OperationRoute


def route(
    router: APIRouter, path: str, operation: Operation, **options: Any
) -> Callable[[EndpointT], EndpointT]:
    """A decorator that adds its endpoint to `router` at `path`, read as `operation` says, with
    FastAPI's `add_api_route` options; the endpoint answers with a Response of its own."""

    def register(endpoint: EndpointT) -> EndpointT:
        router.add_api_route(
            path,
            endpoint,
            response_class=Response,
            route_class_override=route_class(operation),
            **options,
        )
        return endpoint

    return register


def authentication(
    authenticator: BaseAuthenticator, query_credential: tuple[str, str] | None = None
) -> Callable[[Request], Awaitable[Principal]]:
    """An Admission's `authenticate`: the request's bearer token, as `authenticator` reads it;
    or, where the operation accepts one (`query_credential`: its security scheme and query
    parameter), an API key in the query instead. Both at once, or the key twice, are refused:
    which one would count is not for the server to guess. An `Authorization` that holds no
    bearer token is no credential of this API's, and does not count."""

    async def authenticate(request: Request) -> Principal:
        token = bearer_token(request)
        keys = [] if query_credential is None else request.query_params.getlist(query_credential[1])
        if keys:
            assert query_credential is not None
            if len(keys) > 1 or token is not None:
                raise RepeatedCredentials(
                    f"Send a bearer token or one {query_credential[1]}, not both or several."
                )
            principal = await authenticator.authenticate_key(query_credential[0], keys[0])
        else:
            principal = await authenticator.authenticate(token)
        # Kept in the request's state for the route and for what observes the request (logs).
        request.state.principal = principal
        return principal

    return authenticate


async def admitted(request: Request) -> Principal:
    """The caller the route admitted before FastAPI read the request."""
    principal: Principal = request.state.principal
    return principal


PrincipalDep = Annotated[Principal, Depends(admitted)]


def refuse_content_coding(request: Request) -> None:
    """Refuse a body sent with a `Content-Encoding` (gzip, br, ...): nothing here decodes one,
    and reading the coded bytes as JSON would answer for a body the client did not send."""
    codings = [c.strip().lower() for c in request.headers.get("content-encoding", "").split(",")]
    unsupported = [c for c in codings if c not in ("", "identity")]
    if unsupported:
        raise UnsupportedMediaType(
            f"Content-Encoding {', '.join(unsupported)} is not supported: send the body uncoded."
        )


def segment_except(*literals: str) -> StringConvertor:
    """A path parameter's segment that is none of the literal segments of a sibling path."""

    class SegmentExcept(StringConvertor):
        regex = "(?!(?:" + "|".join(map(re.escape, literals)) + ")(?:/|$))[^/]+"

    return SegmentExcept()


def declares_body(request: Request) -> bool:
    """Whether the request's head announces a body, of any length but zero."""
    return (
        request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    )


def body_media_types(*accepted: str) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency: a request body must be declared as one of `accepted`.

    A request without a body passes: a missing body the operation requires is a validation
    error (422). `async`, so FastAPI runs it on the event loop rather than in a worker thread.
    """

    async def require_media_type(request: Request) -> None:
        if not declares_body(request):
            return
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type not in accepted:
            raise UnsupportedMediaType(f"The request body must be {' or '.join(accepted)}.")

    return require_media_type


async def refuse_null_body(body: object, request: Request) -> None:
    """422 for an optional body sent as `null`, which FastAPI hands over as no body at all."""
    if body is None and declares_body(request) and await request.body():
        raise RequestValidationError([NOT_AN_OBJECT])


def json_response(
    document: Mapping[str, object], status_code: int, headers: dict[str, str] | None = None
) -> Response:
    """The implementation's document as JSON, serialized once (timestamps in UTC, as `Z`).

    The document is not validated again here: the tests and the contract fuzzer check every
    answer against openapi.yaml.
    """
    return Response(
        orjson.dumps(document, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


# An event stream's answer is never stored (it is live), and never held back by a proxy.
EVENT_STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class EventStreamResponse(Response):
    """Sends an EventStream's bytes as they come, until the stream ends or the client goes away,
    then closes the stream. A HEAD gets the head alone."""

    media_type = "text/event-stream"

    def __init__(self, stream: EventStream) -> None:
        # Not Response.__init__, which would declare the length of an empty body.
        self.status_code = 200
        self.background = None
        self.init_headers(EVENT_STREAM_HEADERS)
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            if scope["method"] != "HEAD":
                await _until_disconnected(self.stream.events(), receive, send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.stream.close()


async def _until_disconnected(chunks: AsyncIterator[bytes], receive: Receive, send: Send) -> None:
    """Send `chunks` until they end or the client disconnects, whichever comes first."""

    async def send_all() -> None:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    sending = asyncio.ensure_future(send_all())
    listening = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({sending, listening}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sending, listening):
            task.cancel()
        await asyncio.gather(sending, listening, return_exceptions=True)
    if sending.done() and not sending.cancelled() and sending.exception() is not None:
        raise sending.exception()  # type: ignore[misc]


def event_stream_response(stream: EventStream) -> Response:
    """The implementation's EventStream as a `text/event-stream` answer."""
    return EventStreamResponse(stream)
