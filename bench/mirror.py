"""The reference the benchmark compares our service with: the API in plain Starlette + asyncpg.

It answers every operation of openapi.yaml with the minimum the contract requires (the same
401/403/404/413/415/400/422 rules, the same SQL, the same JSON) and nothing more: no framework
layer, no ORM, no validation library. Whatever our service costs beyond this is overhead.

Configured by the environment our service reads: DATABASE_URL, BETTER_AUTH_SECRET and
DB_POOL_SIZE (connections per worker process). Run with `uvicorn bench.mirror:create_app --factory`.
"""

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from jose import jwt
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from impl.runtime import tune_garbage_collector

# The statements of the service, written out: the reference the comparison is made against.
LIST_SQL = (
    "SELECT id, user_id, title, description, completed, created_at, updated_at "
    "FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
)
GET_SQL = (
    "SELECT id, user_id, title, description, completed, created_at, updated_at "
    "FROM tasks WHERE user_id = $1 AND id = $2"
)
CREATE_SQL = (
    "INSERT INTO tasks (user_id, title, description, created_at, updated_at) "
    "SELECT $1, $2, $3, written.at, written.at FROM (SELECT clock_timestamp() AS at) AS written "
    "RETURNING id, user_id, title, description, completed, created_at, updated_at"
)
REPLACE_SQL = (
    "UPDATE tasks SET title = $3, description = $4, updated_at = clock_timestamp() "
    "WHERE user_id = $1 AND id = $2 "
    "RETURNING id, user_id, title, description, completed, created_at, updated_at"
)
TOGGLE_SQL = (
    "UPDATE tasks SET completed = NOT completed, updated_at = clock_timestamp() "
    "WHERE user_id = $1 AND id = $2 "
    "RETURNING id, user_id, title, description, completed, created_at, updated_at"
)
DELETE_SQL = "DELETE FROM tasks WHERE user_id = $1 AND id = $2"

MAX_BODY_BYTES = 64 * 1024
MAX_TASK_ID = 2**63 - 1
USER_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
TASK_ID = re.compile(r"[0-9]{1,19}")
# openapi.yaml's Title and Description patterns, matched against the whole string.
TITLE = re.compile(
    r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*"
)
DESCRIPTION = re.compile(r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*")
INPUT_FIELDS = frozenset({"title", "description"})
JWT_OPTIONS = {"require_exp": True, "require_sub": True, "verify_aud": False}

Endpoint = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    """Answered as the contract's Error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content, option=orjson.OPT_UTC_Z),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def error_response(error: ApiError) -> Response:
    body = {"error": error.code, "message": error.message, "details": error.details}
    return json_response(body, error.status, error.headers)


def unprocessable(location: list[str | int], message: str) -> ApiError:
    details = [{"location": location, "message": message, "type": "invalid"}]
    return ApiError(422, "validation_failed", "The request does not match the schema.", details)


def authorized_user(request: Request) -> str:
    """The URL's user id, once the bearer token proves the caller is that user."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "unauthorized",
            "A bearer token is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        claims = jwt.decode(
            token, request.app.state.secret, algorithms=["HS256"], options=JWT_OPTIONS
        )
        subject = claims.get("sub")
    except Exception:  # python-jose lets non-JWTError exceptions escape on malformed input
        subject = None
    if not isinstance(subject, str) or not subject:
        raise ApiError(
            401,
            "unauthorized",
            "The bearer token is invalid or expired.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    user_id: str = request.path_params["user_id"]
    if subject != user_id:
        raise ApiError(403, "forbidden", "You may only access your own tasks.")
    if USER_ID.fullmatch(user_id) is None:
        raise unprocessable(["path", "user_id"], "must be 1-128 of A-Z a-z 0-9 _ . -")
    return user_id


def task_id(request: Request) -> int:
    raw: str = request.path_params["task_id"]
    if TASK_ID.fullmatch(raw) is None or not 1 <= int(raw) <= MAX_TASK_ID:
        raise unprocessable(["path", "task_id"], "must be an integer from 1 to 2^63-1")
    return int(raw)


async def task_input(request: Request) -> tuple[str, str | None]:
    """The title and description of a TaskInput body, or the contract's 415/413/400/422."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise ApiError(415, "unsupported_media_type", "The request body must be application/json.")
    body = await limited_body(request)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(
            400, "malformed_json", "The request body is not valid JSON.", {"position": error.pos}
        ) from error
    if not isinstance(document, dict):
        raise unprocessable(["body"], "must be an object")
    unknown = sorted(set(document) - INPUT_FIELDS)
    if unknown:
        raise unprocessable(["body", unknown[0]], "unknown property")
    title = document.get("title")
    if not isinstance(title, str) or len(title) > 200 or TITLE.fullmatch(title) is None:
        raise unprocessable(["body", "title"], "must be 1-200 characters, not all whitespace")
    description = document.get("description")
    if description is not None and (
        not isinstance(description, str)
        or len(description) > 1000
        or DESCRIPTION.fullmatch(description) is None
    ):
        raise unprocessable(["body", "description"], "must be null or up to 1000 characters")
    return title, description


async def limited_body(request: Request) -> bytes:
    too_large = ApiError(
        413,
        "content_too_large",
        f"The request body exceeds {MAX_BODY_BYTES} bytes.",
        {"limit_bytes": MAX_BODY_BYTES},
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


def found(row: asyncpg.Record | None) -> Response:
    if row is None:
        raise ApiError(404, "not_found", "No such task.")
    return json_response(dict(row))


async def list_tasks(request: Request) -> Response:
    rows = await request.app.state.pool.fetch(LIST_SQL, authorized_user(request))
    return json_response({"items": [dict(row) for row in rows]})


async def create_task(request: Request) -> Response:
    user_id = authorized_user(request)
    title, description = await task_input(request)
    row = await request.app.state.pool.fetchrow(CREATE_SQL, user_id, title, description)
    location = f"/api/{user_id}/tasks/{row['id']}"
    return json_response(dict(row), 201, {"Location": location})


async def get_task(request: Request) -> Response:
    user_id = authorized_user(request)
    return found(await request.app.state.pool.fetchrow(GET_SQL, user_id, task_id(request)))


async def replace_task(request: Request) -> Response:
    user_id = authorized_user(request)
    identifier = task_id(request)
    title, description = await task_input(request)
    pool = request.app.state.pool
    return found(await pool.fetchrow(REPLACE_SQL, user_id, identifier, title, description))


async def toggle_task_completion(request: Request) -> Response:
    user_id = authorized_user(request)
    return found(await request.app.state.pool.fetchrow(TOGGLE_SQL, user_id, task_id(request)))


async def delete_task(request: Request) -> Response:
    user_id = authorized_user(request)
    status = await request.app.state.pool.execute(DELETE_SQL, user_id, task_id(request))
    if status == "DELETE 0":
        raise ApiError(404, "not_found", "No such task.")
    return Response(status_code=204)


async def check_liveness(request: Request) -> Response:
    return json_response({"status": "ok"})


async def check_readiness(request: Request) -> Response:
    try:
        await request.app.state.pool.fetchval("SELECT 1")
    except (OSError, asyncpg.PostgresError) as error:
        raise ApiError(
            503,
            "service_unavailable",
            "The database is unavailable; retry later.",
            headers={"Retry-After": "5"},
        ) from error
    return json_response({"status": "ok"})


async def api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error)


async def http_error(request: Request, error: Exception) -> Response:
    """Routing's 404 and 405 in the Error shape."""
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return error_response(
        ApiError(error.status_code, code, str(error.detail), headers=dict(error.headers or {}))
    )


def path_route(path: str, **handlers: Endpoint) -> Route:
    """One route per path, so that a 405 names every method the path serves in `Allow`."""

    async def dispatch(request: Request) -> Response:
        return await handlers["GET" if request.method == "HEAD" else request.method](request)

    return Route(path, dispatch, methods=list(handlers))


async def keep_session(connection: asyncpg.Connection) -> None:
    """No RESET ALL round trip on release, as in the service: nothing here sets session state."""


def create_app() -> Starlette:
    secret = os.environ["BETTER_AUTH_SECRET"]
    pool_size = int(os.environ["DB_POOL_SIZE"])

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.secret = secret
        app.state.pool = await asyncpg.create_pool(
            os.environ["DATABASE_URL"],
            min_size=pool_size,
            max_size=pool_size,
            reset=keep_session,
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    # The process runs as the service's does, so that only the code differs.
    tune_garbage_collector()
    tasks = "/api/{user_id}/tasks"
    task = tasks + "/{task_id}"
    return Starlette(
        routes=[
            path_route(tasks, GET=list_tasks, POST=create_task),
            path_route(task, GET=get_task, PUT=replace_task, DELETE=delete_task),
            path_route(task + "/complete", PATCH=toggle_task_completion),
            path_route("/health/live", GET=check_liveness),
            path_route("/health/ready", GET=check_readiness),
        ],
        exception_handlers={ApiError: api_error, HTTPException: http_error},
        lifespan=lifespan,
    )
