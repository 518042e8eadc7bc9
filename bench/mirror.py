"""The reference the benchmark compares our service with: the API in plain Starlette + asyncpg.

It answers every operation the benchmark drives (list, with its filters, sorts and cursors; get;
create; replace; completion; delete; and the health probes) with the minimum the contract
requires and nothing more: the same 401/403/404/409/412/413/415/400/422 rules, the same ETag
and Location headers, the same JSON for the same rows. It runs the service's own SQL, imported
from `impl.tasks` (the statements are not the overhead being measured, and importing them keeps
the two from drifting), signs and checks cursors with the service's `TokenSigner` and claims,
and does everything else by hand: no framework layer, no validation library, orjson.
Whatever our service costs beyond this is overhead. PATCH and delta sync are not benchmarked
and not served here.

Configured by the environment our service reads (DATABASE_URL, BETTER_AUTH_SECRET, DB_POOL_SIZE,
MAX_BODY_BYTES, MAX_TASKS_PER_USER, SYNC_RETENTION, ...), through the service's `Settings`.
Run with `uvicorn bench.mirror:create_app --factory`.
"""

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contract_runtime.conditional import parse_entity_tags
from impl.auth.configured import configured_authenticator
from impl.errors import Unauthorized
from impl.idempotency import FIND_KEY, FORGET_EXPIRED_KEYS, LOCK_KEY, REMEMBER_KEY
from impl.ordering import NeighbourMissing, Place, already_there
from impl.runtime import tune_garbage_collector
from impl.settings import Settings
from impl.signing import TokenSigner
from impl.tasks.listing import SORT_FIELDS, PageStart, Sort, TaskFilter
from impl.tasks.queries import list_statement
from impl.tasks.repository import (
    DELETE,
    GET,
    INSERT,
    LIST_OF,
    LOCK_LIST,
    LOCK_TASK,
    PLACE,
    REPLACE,
    RESPACE,
    TOGGLE,
    TOP_LEVEL,
    update_statement,
)
from impl.tasks.tags import normalize_tags

MAX_TASK_ID = 2**63 - 1
USER_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
TASK_ID = re.compile(r"[0-9]{1,19}")
# openapi.yaml's patterns, matched against the whole string.
TITLE = re.compile(
    r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*"
)
DESCRIPTION = re.compile(r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*")
_SPACE = r"\t\n\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF"
_EDGE = r"[^\x00-\x20\x7F-\x9F\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
TAG_INPUT = re.compile(
    rf"[{_SPACE}]*{_EDGE}(?:[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]{{0,48}}{_EDGE})?[{_SPACE}]*"
)
DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
TEXT_QUERY = re.compile(r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*")
TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,1024}")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7E]{1,255}")
PRIORITIES = frozenset({"low", "medium", "high", "urgent"})
STATUSES = frozenset({"all", "pending", "completed"})
SORTS = frozenset({*SORT_FIELDS, *(f"-{name}" for name in SORT_FIELDS)})
TIME_SORTS = frozenset({"created_at", "updated_at", "due_at"})
# What a query string may spell a boolean as (the service's parser reads these too).
TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
FALSE = frozenset({"false", "0", "no", "off", "f", "n"})
INPUT_FIELDS = frozenset({"title", "description", "priority", "tags", "due_at", "list_id"})
# The key purposes of the service's signed tokens: the same secret and purpose, the same cursors.
CURSOR_PURPOSE = "paging cursor"

Endpoint = Callable[[Request], Awaitable[Response]]
Fields = tuple[str, str | None, str, list[str], datetime | None, int | None]


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


NOT_FOUND = ApiError(404, "not_found", "Task not found.")


async def authorized_user(request: Request) -> str:
    """The URL's user id, once the bearer token proves the caller is that user.

    The token is verified by the service's own verifier: its checks are the contract's, and the
    comparison is about everything around them.
    """
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    try:
        subject = (await request.app.state.authenticator.authenticate(token or None)).user_id
    except Unauthorized as refusal:
        raise ApiError(401, "unauthorized", refusal.message, headers=refusal.headers) from None
    user_id: str = request.path_params["user_id"]
    if USER_ID.fullmatch(user_id) is None:
        raise unprocessable(["path", "user_id"], "must be 1-128 of A-Z a-z 0-9 _ . -")
    if subject != user_id:
        raise ApiError(403, "forbidden", "You may only access your own tasks.")
    return user_id


def task_id(request: Request) -> int:
    raw: str = request.path_params["task_id"]
    if TASK_ID.fullmatch(raw) is None or not 1 <= int(raw) <= MAX_TASK_ID:
        raise unprocessable(["path", "task_id"], "must be an integer from 1 to 2^63-1")
    return int(raw)


def date_time(value: object, location: list[str | int]) -> datetime:
    """An RFC 3339 date-time with a zone, as the contract's DateTime means it."""
    if isinstance(value, str) and DATE_TIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value.upper())
        except ValueError:
            pass
    raise unprocessable(location, "must be an RFC 3339 date-time with a time zone")


def if_match_versions(request: Request) -> list[int] | None:
    """The versions If-Match allows; None when it allows any (absent, or `*`)."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    if not 1 <= len(header) <= 1024:
        raise unprocessable(["header", "If-Match"], "must be 1 to 1024 characters")
    tags = parse_entity_tags(header)
    if tags.any:
        return None
    versions = []
    for tag in tags.strong:
        digits = tag[1:-1]
        if digits.isascii() and digits.isdigit() and digits[0] != "0" and int(digits) <= 2**63 - 1:
            versions.append(int(digits))
    return versions


def tagged(row: asyncpg.Record | dict[str, Any], status: int = 200) -> Response:
    task = dict(row)
    return json_response(task, status, {"ETag": f'"{task["version"]}"'})


async def unchanged(request: Request, user_id: str, task: int, versions: list[int] | None) -> Any:
    """Why a write changed nothing: no such task (404), If-Match failed (412), or a no-op."""
    row = await request.app.state.pool.fetchrow(GET, user_id, task)
    if row is None:
        raise NOT_FOUND
    if versions is not None and row["version"] not in versions:
        raise precondition_failed(row)
    return row


def precondition_failed(current: asyncpg.Record) -> ApiError:
    return ApiError(
        412,
        "precondition_failed",
        "The task has changed since the version named in If-Match.",
        {"current": dict(current)},
        {"ETag": f'"{current["version"]}"'},
    )


# --- the list ----------------------------------------------------------------------------------


def list_query(query: QueryParams) -> tuple[TaskFilter, Sort, int, str | None]:
    """The filters, sort, limit and cursor of a list request, by the contract's rules."""
    status = query.get("status", "all")
    if status not in STATUSES:
        raise unprocessable(["query", "status"], "must be all, pending or completed")
    priorities = query.getlist("priority")
    if len(priorities) > 4 or not PRIORITIES.issuperset(priorities):
        raise unprocessable(["query", "priority"], "at most 4 of low, medium, high, urgent")
    tags = query.getlist("tag")
    if len(tags) > 20:
        raise unprocessable(["query", "tag"], "at most 20 tags")
    for index, tag in enumerate(tags):
        if len(tag) > 100 or TAG_INPUT.fullmatch(tag) is None:
            raise unprocessable(["query", "tag", index], "must be a tag")
    text = query.get("q")
    if text is not None and (not 1 <= len(text) <= 200 or TEXT_QUERY.fullmatch(text) is None):
        raise unprocessable(["query", "q"], "must be 1 to 200 characters, no control characters")
    due_before = query.get("due_before")
    due_after = query.get("due_after")
    overdue = query.get("overdue")
    overdue_value = None
    if overdue is not None:
        if overdue.lower() in TRUE:
            overdue_value = True
        elif overdue.lower() in FALSE:
            overdue_value = False
        else:
            raise unprocessable(["query", "overdue"], "must be a boolean")
    sort = query.get("sort", "-created_at")
    if sort not in SORTS:
        raise unprocessable(["query", "sort"], "must be one of the sort orders")
    raw_limit = query.get("limit")
    limit = 50 if raw_limit is None else integer(raw_limit)
    if not 1 <= limit <= 100:
        raise unprocessable(["query", "limit"], "must be an integer from 1 to 100")
    cursor = query.get("cursor")
    if cursor is not None and TOKEN.fullmatch(cursor) is None:
        raise unprocessable(["query", "cursor"], "must be 1 to 1024 of A-Z a-z 0-9 _ . -")
    raw_list_id = query.get("list_id")
    list_id = None if raw_list_id is None else integer(raw_list_id)
    if list_id is not None and not 1 <= list_id <= MAX_TASK_ID:
        raise unprocessable(["query", "list_id"], "must be a list id")
    task_filter = TaskFilter(
        list_id=list_id,
        status=status,  # type: ignore[arg-type]  # checked against STATUSES above
        priorities=frozenset(priorities),
        tags=frozenset(normalize_tags(tags)),
        text=text,
        due_before=None if due_before is None else date_time(due_before, ["query", "due_before"]),
        due_after=None if due_after is None else date_time(due_after, ["query", "due_after"]),
        overdue=overdue_value,
    )
    return task_filter, Sort.parse(sort), limit, cursor


def integer(text: str) -> int:
    """An integer as a query string writes one (`5`, also `5.0`, which JSON Schema calls one).

    0 when it is none: 0 is out of every range this is used for.
    """
    whole, dot, fraction = text.strip().partition(".")
    if not whole.isascii() or (dot and (not fraction or fraction.strip("0"))):
        return 0
    try:
        return int(whole)
    except ValueError:
        return 0


def invalid_cursor(message: str) -> ApiError:
    return ApiError(400, "invalid_cursor", message, {"parameter": "cursor"})


def page_start(
    signer: TokenSigner, user_id: str, cursor: str, task_filter: TaskFilter, sort: Sort
) -> PageStart:
    claims = signer.verify(user_id, cursor)
    if claims is None:
        raise invalid_cursor("The cursor is not one this service issued for this user.")
    if claims.get("s") != str(sort) or claims.get("f") != task_filter.fingerprint():
        raise invalid_cursor("The cursor was issued for other filters or another sort.")
    key = claims["k"]
    if sort.field in TIME_SORTS and key is not None:
        key = datetime.fromisoformat(key)
    elif sort.field == "manual":
        key = orjson.dumps(key).decode()
    return PageStart(key, int(claims["i"]))


async def list_tasks(request: Request) -> Response:
    user_id = await authorized_user(request)
    task_filter, sort, limit, cursor = list_query(request.query_params)
    signer: TokenSigner = request.app.state.cursors
    start = None if cursor is None else page_start(signer, user_id, cursor, task_filter, sort)
    # One row more than the page tells whether another page follows.
    sql, arguments = list_statement(user_id, task_filter, sort, start, limit + 1)
    rows = await request.app.state.pool.fetch(sql, *arguments)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        key = [last["list_id"], last["position"]] if sort.field == "manual" else last[sort.field]
        claims = {
            "s": str(sort),
            "f": task_filter.fingerprint(),
            "k": key.isoformat() if isinstance(key, datetime) else key,
            "i": last["id"],
        }
        next_cursor = signer.sign(user_id, claims)
    return json_response({"items": [dict(row) for row in rows], "next_cursor": next_cursor})


# --- bodies ------------------------------------------------------------------------------------


def has_body(request: Request) -> bool:
    return request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )


async def json_body(request: Request) -> Any:
    """The request's JSON document, or the contract's 422 (no body), 415, 413 or 400."""
    if not has_body(request):
        raise unprocessable(["body"], "a body is required")
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            "The request body must be application/json.",
            {"supported": ["application/json"]},
        )
    body = await limited_body(request)
    if not body:
        raise unprocessable(["body"], "a body is required")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(
            400, "malformed_json", "The request body is not valid JSON.", {"position": error.pos}
        ) from error


async def limited_body(request: Request) -> bytes:
    limit: int = request.app.state.max_body_bytes
    too_large = ApiError(
        413,
        "content_too_large",
        f"The request body exceeds {limit} bytes.",
        {"limit_bytes": limit},
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def task_input(request: Request) -> Fields:
    """The fields of a TaskInput body, defaults filled in and tags normalized."""
    document = await json_body(request)
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
    priority = document.get("priority", "medium")
    if not isinstance(priority, str) or priority not in PRIORITIES:
        raise unprocessable(["body", "priority"], "must be low, medium, high or urgent")
    tags = document.get("tags", [])
    if not isinstance(tags, list) or len(tags) > 20:
        raise unprocessable(["body", "tags"], "must be a list of up to 20 tags")
    for index, tag in enumerate(tags):
        if not isinstance(tag, str) or len(tag) > 100 or TAG_INPUT.fullmatch(tag) is None:
            raise unprocessable(["body", "tags", index], "must be a tag")
    due_at = document.get("due_at")
    if due_at is not None:
        due_at = date_time(due_at, ["body", "due_at"])
    list_id = document.get("list_id")
    if list_id is not None and (
        isinstance(list_id, bool) or not isinstance(list_id, int) or not 1 <= list_id <= MAX_TASK_ID
    ):
        raise unprocessable(["body", "list_id"], "must be a list id")
    return title, description, priority, normalize_tags(tags), due_at, list_id


async def completion_input(request: Request) -> bool | None:
    """The `completed` of an optional CompletionInput body; None (no body, no field) toggles."""
    if not has_body(request):
        return None
    document = await json_body(request)
    if not isinstance(document, dict):
        raise unprocessable(["body"], "must be an object")
    if set(document) - {"completed"}:
        raise unprocessable(["body", sorted(set(document) - {"completed"})[0]], "unknown property")
    completed = document.get("completed")
    if "completed" in document and not isinstance(completed, bool):
        raise unprocessable(["body", "completed"], "must be a boolean")
    return completed


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise unprocessable(["header", "Idempotency-Key"], "must be 1-255 printable ASCII")
    return key


# --- operations --------------------------------------------------------------------------------


def task_limit_reached(cap: int) -> ApiError:
    return ApiError(
        409, "task_limit_reached", f"A user may hold at most {cap} tasks.", {"limit": cap}
    )


async def create_task(request: Request) -> Response:
    user_id = await authorized_user(request)
    key = idempotency_key(request)
    fields = await task_input(request)
    state = request.app.state
    if key is None:
        row = await state.pool.fetchrow(INSERT, user_id, *fields, state.cap, None)
        if row is None:
            raise task_limit_reached(state.cap)
        task = dict(row)
        replayed = False
    else:
        task, replayed = await create_once(request, user_id, key, fields)
    # User ids are [A-Za-z0-9_.-]: nothing in them needs quoting in a path.
    headers = {"Location": f"/api/{user_id}/tasks/{task['id']}", "ETag": f'"{task["version"]}"'}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(task, 201, headers)


async def create_once(
    request: Request, user_id: str, key: str, fields: Fields
) -> tuple[dict[str, Any], bool]:
    """Create under an Idempotency-Key: (the task, whether it is an earlier answer replayed)."""
    title, description, priority, tags, due_at, list_id = fields
    due = None if due_at is None else due_at.astimezone(UTC).isoformat()
    canonical: list[Any] = [title, description, priority, tags, due]
    if list_id is not None:
        canonical.append({"list_id": list_id, "parent_id": None})
    request_hash = hashlib.sha256(orjson.dumps(canonical)).digest()
    state = request.app.state
    async with state.pool.acquire() as connection, connection.transaction():
        await connection.execute(LOCK_KEY, user_id, key)
        await connection.execute(FORGET_EXPIRED_KEYS, user_id, state.idempotency_key_ttl)
        earlier = await connection.fetchrow(FIND_KEY, user_id, key)
        if earlier is not None:
            if earlier["request_hash"] != request_hash:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used with another request body.",
                    {"header": "Idempotency-Key"},
                )
            return orjson.loads(earlier["response"]), True
        row = await connection.fetchrow(INSERT, user_id, *fields, state.cap, None)
        if row is None:
            raise task_limit_reached(state.cap)
        task = dict(row)
        response = orjson.dumps(task, option=orjson.OPT_UTC_Z)
        await connection.execute(REMEMBER_KEY, user_id, key, request_hash, response)
    return task, False


async def get_task(request: Request) -> Response:
    user_id = await authorized_user(request)
    task = task_id(request)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and not 1 <= len(if_none_match) <= 1024:
        raise unprocessable(["header", "If-None-Match"], "must be 1 to 1024 characters")
    row = await request.app.state.pool.fetchrow(GET, user_id, task)
    if row is None:
        raise NOT_FOUND
    etag = f'"{row["version"]}"'
    if if_none_match is not None and parse_entity_tags(if_none_match).match_weakly(etag):
        return Response(status_code=304, headers={"ETag": etag})
    return json_response(dict(row), 200, {"ETag": etag})


async def replace_task(request: Request) -> Response:
    user_id = await authorized_user(request)
    task = task_id(request)
    versions = if_match_versions(request)
    fields = await task_input(request)
    row = await request.app.state.pool.fetchrow(REPLACE, user_id, task, versions, *fields)
    if row is None:  # nothing written: missing, If-Match failed, or nothing would change
        row = await unchanged(request, user_id, task, versions)
    return tagged(row)


async def toggle_task_completion(request: Request) -> Response:
    user_id = await authorized_user(request)
    task = task_id(request)
    versions = if_match_versions(request)
    completed = await completion_input(request)
    pool = request.app.state.pool
    if completed is None:
        row = await pool.fetchrow(TOGGLE, user_id, task, versions)
    else:
        sql, arguments = update_statement({"completed": completed})
        row = await pool.fetchrow(sql, user_id, task, versions, *arguments)
    if row is None:
        row = await unchanged(request, user_id, task, versions)
    return tagged(row)


async def move_task(request: Request) -> Response:
    """The service's move, statement for statement (impl/tasks/repository.py), on one
    connection: the list locked, the task locked, its neighbours read, then the task placed."""
    user_id = await authorized_user(request)
    task = task_id(request)
    versions = if_match_versions(request)
    document = await json_body(request)
    if not isinstance(document, dict) or set(document) - {"list_id", "after_id", "before_id"}:
        raise unprocessable(["body"], "must be a TaskMove")
    if "after_id" in document and "before_id" in document:
        raise unprocessable(["body", "before_id"], "send after_id or before_id, not both")
    place = Place(document.get("after_id"), document.get("before_id"))
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        list_id = document.get("list_id") or await connection.fetchval(LIST_OF, user_id, task)
        if list_id is None:
            raise NOT_FOUND
        if await connection.fetchval(LOCK_LIST, user_id, list_id) is None:
            raise unprocessable(["body", "list_id"], "no such list")
        current = await connection.fetchrow(LOCK_TASK, user_id, task)
        if current is None:
            raise NOT_FOUND
        if versions is not None and current["version"] not in versions:
            raise precondition_failed(current)
        scope = (user_id, list_id, task)
        try:
            lower, upper = await TOP_LEVEL.neighbours(connection, scope, place)
        except NeighbourMissing as missing:
            raise unprocessable(["body", missing.field], "no such neighbour") from None
        if current["list_id"] == list_id and already_there(
            (current["position"], task), lower, upper
        ):
            return tagged(current)
        key, moved = await TOP_LEVEL.key_between(connection, scope, lower, upper)
        if moved:
            await connection.execute(RESPACE, user_id, list_id, list(moved), list(moved.values()))
        placed = await connection.fetchrow(PLACE, user_id, task, list_id, key, None)
        return tagged(placed)


async def delete_task(request: Request) -> Response:
    user_id = await authorized_user(request)
    task = task_id(request)
    versions = if_match_versions(request)
    state = request.app.state
    deleted = await state.pool.fetchval(DELETE, user_id, task, versions)
    if deleted == 1:
        return Response(status_code=204)
    current = None if versions is None else await state.pool.fetchrow(GET, user_id, task)
    if current is None:
        raise NOT_FOUND
    raise precondition_failed(current)


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
    settings = Settings()
    secret = settings.token_signing_secret
    assert settings.database_url is not None, "DATABASE_URL is required"
    database_url = settings.database_url.get_secret_value()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.authenticator, _ = configured_authenticator(settings)
        app.state.cursors = TokenSigner(secret, CURSOR_PURPOSE)
        app.state.cap = settings.max_tasks_per_user
        app.state.idempotency_key_ttl = settings.idempotency_key_ttl
        app.state.max_body_bytes = settings.max_body_bytes
        app.state.pool = await asyncpg.create_pool(
            database_url,
            min_size=settings.db_pool_size,
            max_size=settings.db_pool_size,
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
            path_route(task + "/move", POST=move_task),
            path_route("/health/live", GET=check_liveness),
            path_route("/health/ready", GET=check_readiness),
        ],
        exception_handlers={ApiError: api_error, HTTPException: http_error},
        lifespan=lifespan,
    )
