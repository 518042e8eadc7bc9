"""The reference the benchmark compares our service with: the API in plain Starlette + asyncpg.

It answers every operation the benchmark drives (list, with its filters, sorts and cursors; get;
create, of a recurring task too; replace; completion, of a recurring task's occurrence too; move;
delete; batches of creates, updates, completions, moves and deletes; and the health probes) with
the minimum the contract requires and nothing more: the same 401/403/404/409/412/413/415/400/422
rules, the same ETag and Location headers, the same JSON for the same rows. It runs the
service's own SQL, imported from `impl.tasks` (the statements are not the overhead being
measured, and importing them keeps the two from drifting), signs and checks cursors with the
service's `TokenSigner` and claims, checks due dates and rules and finds the next occurrence with
the service's `impl.dates` (nor is the rule engine), and does everything else by hand: no
framework layer, no validation library, orjson. Whatever our service costs beyond this is
overhead. PATCH and delta sync are not benchmarked and not served here, nor is `parent_id` in a
create or a move (in a batch, either), nor are reminders, a due date read in the user's zone (a
date alone, a floating time), skipping or listing a recurring task's occurrences, or completing
one in a batch.

Configured by the environment our service reads (DATABASE_URL, BETTER_AUTH_SECRET, DB_POOL_SIZE,
MAX_BODY_BYTES, MAX_TASKS_PER_USER, SYNC_RETENTION, ...), through the service's `Settings`.
Run with `uvicorn bench.mirror:create_app --factory`.
"""

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
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
from impl.dates.due import DateRefused, Due, due_from_body, due_of_instant, stored_due
from impl.dates.series import advance, check_occurs, stored_recurrence
from impl.db.pool import read_json
from impl.errors import Unauthorized
from impl.idempotency import FIND_KEY, FORGET_EXPIRED_KEYS, LOCK_KEY, REMEMBER_KEY
from impl.ordering import NeighbourMissing, Place, already_there
from impl.positions import keys_after, not_its_own
from impl.runtime import tune_garbage_collector
from impl.settings import Settings
from impl.signing import TokenSigner
from impl.tasks.listing import SORT_FIELDS, PageStart, Sort, TaskFilter
from impl.tasks.many import (
    COMPLETE_MANY,
    DELETE_MANY,
    EDITABLE,
    GET_MANY,
    INBOX,
    INSERT_MANY,
    LISTS_OF_TASKS,
    LOCK_COUNT,
    LOCK_LISTS,
    LOCK_TASKS,
    NESTED,
    PLACE_MANY,
    REPLACE_MANY,
    SIBLINGS_AROUND,
    SUBTREES_TO_LIST,
    UPDATE_MANY,
    Beside,
    KnownOrder,
    Named,
    play_moves,
)
from impl.tasks.queries import list_statement
from impl.tasks.repository import (
    DELETE,
    DONE_FROM,
    DONE_SINCE,
    GET,
    HOLD_LISTS,
    INSERT,
    LIST_OF,
    LOCK_LIST,
    LOCK_TASK,
    NAME_CHANGE,
    PLACE,
    RECORD_OCCURRENCE,
    REPLACE,
    RESPACE,
    SUBTASKS,
    TAKE_BATCH_TURN,
    TOGGLE,
    TOP_LEVEL,
    UTC_CLOCK,
    NewFields,
    due_columns,
    stored_changes,
    update_statement,
)
from impl.tasks.service import OCCURRENCE_ATTEMPTS, RecurrenceWithoutDue, create_fingerprint
from impl.tasks.subtasks import SUBTREE_TO_LIST
from impl.tasks.tags import canonical, normalize_tags

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
LOCAL_DATE = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])")
LOCAL_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?")
TIME_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+/-]{0,63}")
RULE = re.compile(r"[!-~]{1,300}")
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
INPUT_FIELDS = frozenset(
    {"title", "description", "priority", "tags", "due_at", "due", "recurrence", "list_id"}
)
DUE_FIELDS = frozenset({"date", "time", "time_zone"})
RECURRENCE_FIELDS = frozenset({"rule", "from"})
RECURRENCE_FROM = frozenset({"due", "completion"})
COMPLETION_FIELDS = frozenset({"completed", "series"})
# The key purposes of the service's signed tokens: the same secret and purpose, the same cursors.
CURSOR_PURPOSE = "paging cursor"

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


SCHEMA_MISMATCH = "The request does not match the schema."


def unprocessable(location: list[str | int], message: str) -> ApiError:
    details = [{"location": location, "message": message, "type": "invalid"}]
    return ApiError(422, "validation_failed", SCHEMA_MISMATCH, details)


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
    return versions_in(request.headers.get("if-match"), ["header", "If-Match"])


def versions_in(header: object, location: list[str | int]) -> list[int] | None:
    """The versions an If-Match (the header, or a batch operation's `if_match`) allows; None
    when it allows any (absent, or `*`)."""
    if header is None:
        return None
    if not isinstance(header, str) or not 1 <= len(header) <= 1024:
        raise unprocessable(location, "must be 1 to 1024 characters")
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


@dataclass(frozen=True, slots=True)
class TaskInput:
    """A TaskInput document that holds to the schema, defaults filled in and tags normalized.
    Its dates are checked when it is stored (`new_task`), as the service checks them after its
    model has read the body: in a batch, that refuses the operation, not the batch."""

    title: str
    description: str | None
    priority: str
    tags: list[str]
    due_at: datetime | None
    list_id: int | None
    # The members of a DueInput (`time` and `time_zone` None when absent) and a RecurrenceInput.
    due: dict[str, Any] | None
    recurrence: dict[str, Any] | None
    # Whether the body names both `due` and `due_at`, one of them not null.
    due_twice: bool


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task as a create or a replace stores it (the service's NewFields, less what the
    mirror does not serve)."""

    title: str
    description: str | None
    priority: str
    tags: list[str]
    due: Due | None
    list_id: int | None
    recurrence: dict[str, Any] | None

    def columns(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """What INSERT binds from $2 to $7 and from $10 on (REPLACE binds both from $4): the
        fields, then the due date's form and when it is overdue, the recurrence, the reminders.
        Every due date the mirror takes has a zone of its own (`new_task`), which the service
        reads without the user's."""
        due, due_at, overdue_at = due_columns(self.due, UTC_CLOCK)
        fields = (self.title, self.description, self.priority, self.tags, due_at, self.list_id)
        return fields, (due, overdue_at, self.recurrence, [])


async def task_input(request: Request) -> NewTask:
    """The task a TaskInput body stores."""
    return new_task(task_fields(await json_body(request), ["body"]))


def task_fields(document: Any, location: list[str | int]) -> TaskInput:
    """The fields of a TaskInput document found at `location`."""
    if not isinstance(document, dict):
        raise unprocessable(location, "must be an object")
    unknown = sorted(set(document) - INPUT_FIELDS)
    if unknown:
        raise unprocessable([*location, unknown[0]], "unknown property")
    title = valid_title(document.get("title"), [*location, "title"])
    description = valid_description(document.get("description"), [*location, "description"])
    priority = valid_priority(document.get("priority", "medium"), [*location, "priority"])
    tags = valid_tags(document.get("tags", []), [*location, "tags"])
    due_at = document.get("due_at")
    if due_at is not None:
        due_at = date_time(due_at, [*location, "due_at"])
    due = document.get("due")
    if due is not None:
        due = due_input(due, [*location, "due"])
    recurrence = document.get("recurrence")
    if recurrence is not None:
        recurrence = recurrence_input(recurrence, [*location, "recurrence"])
    list_id = document.get("list_id")
    if list_id is not None:
        list_id = valid_id(list_id, [*location, "list_id"], "must be a list id")
    due_twice = "due" in document and "due_at" in document and (due, due_at) != (None, None)
    return TaskInput(
        title, description, priority, tags, due_at, list_id, due, recurrence, due_twice
    )


def due_input(document: Any, location: list[str | int]) -> dict[str, Any]:
    """A DueInput document's members, `time` and `time_zone` None when absent."""
    if not isinstance(document, dict):
        raise unprocessable(location, "must be an object")
    unknown = sorted(set(document) - DUE_FIELDS)
    if unknown:
        raise unprocessable([*location, unknown[0]], "unknown property")
    day, time_of_day, zone_name = (document.get(name) for name in ("date", "time", "time_zone"))
    if not isinstance(day, str) or LOCAL_DATE.fullmatch(day) is None:
        raise unprocessable([*location, "date"], "must be a date, YYYY-MM-DD")
    if time_of_day is not None and (
        not isinstance(time_of_day, str) or LOCAL_TIME.fullmatch(time_of_day) is None
    ):
        raise unprocessable([*location, "time"], "must be null or a time of day, HH:MM[:SS]")
    if zone_name is not None and (
        not isinstance(zone_name, str) or TIME_ZONE.fullmatch(zone_name) is None
    ):
        raise unprocessable([*location, "time_zone"], "must be null or a time zone's name")
    return {"date": day, "time": time_of_day, "time_zone": zone_name}


def recurrence_input(document: Any, location: list[str | int]) -> dict[str, Any]:
    """A RecurrenceInput document's members, `from` defaulted."""
    if not isinstance(document, dict):
        raise unprocessable(location, "must be an object")
    unknown = sorted(set(document) - RECURRENCE_FIELDS)
    if unknown:
        raise unprocessable([*location, unknown[0]], "unknown property")
    rule = document.get("rule")
    if not isinstance(rule, str) or RULE.fullmatch(rule) is None:
        raise unprocessable([*location, "rule"], "must be 1 to 300 printable ASCII characters")
    counts_from = document.get("from", "due")
    if not isinstance(counts_from, str) or counts_from not in RECURRENCE_FROM:
        raise unprocessable([*location, "from"], "must be due or completion")
    return {"rule": rule, "from": counts_from}


def new_task(given: TaskInput) -> NewTask:
    """The task `given` stores, its due date and rule checked as the service's `new_fields`
    checks them, with the service's `impl.dates`; a refusal raises as the service words it."""
    try:
        if given.due_twice:
            raise DateRefused(
                ("body", "due_at"), "Set `due` or `due_at`, not both", "due_and_due_at"
            )
        due = None if given.due_at is None else due_of_instant(given.due_at)
        if given.due is not None:
            members = given.due
            due = due_from_body(
                members["date"], members["time"], members["time_zone"], ("body", "due")
            )
        recurrence = None
        if given.recurrence is not None:
            members = given.recurrence
            recurrence = stored_recurrence(members["rule"], members["from"], ("body", "recurrence"))
            if due is None:
                raise RecurrenceWithoutDue
            check_occurs(recurrence, due, UTC_CLOCK, ("body", "recurrence"))
    except DateRefused as refused:
        error = refused.error
        raise ApiError(error.status, error.code, refused.message, refused.details) from None
    if due is not None and due.floats:
        raise unprocessable(["body", "due", "time_zone"], "the mirror takes zoned due dates only")
    return NewTask(
        given.title,
        given.description,
        given.priority,
        given.tags,
        due,
        given.list_id,
        recurrence,
    )


def valid_title(title: object, location: list[str | int]) -> str:
    """The title, as stored (NFC)."""
    if not isinstance(title, str) or len(title) > 200 or TITLE.fullmatch(title) is None:
        raise unprocessable(location, "must be 1-200 characters, not all whitespace")
    return canonical(title)


def valid_description(description: object, location: list[str | int]) -> str | None:
    if description is not None and (
        not isinstance(description, str)
        or len(description) > 1000
        or DESCRIPTION.fullmatch(description) is None
    ):
        raise unprocessable(location, "must be null or up to 1000 characters")
    return None if description is None else canonical(description)


def valid_priority(priority: object, location: list[str | int]) -> str:
    if not isinstance(priority, str) or priority not in PRIORITIES:
        raise unprocessable(location, "must be low, medium, high or urgent")
    return priority


def valid_tags(tags: object, location: list[str | int]) -> list[str]:
    """The tags, normalized."""
    if not isinstance(tags, list) or len(tags) > 20:
        raise unprocessable(location, "must be a list of up to 20 tags")
    for index, tag in enumerate(tags):
        if not isinstance(tag, str) or len(tag) > 100 or TAG_INPUT.fullmatch(tag) is None:
            raise unprocessable([*location, index], "must be a tag")
    return normalize_tags(tags)


def valid_id(value: object, location: list[str | int], message: str) -> int:
    """A task's or a list's id: a JSON integer from 1 to 2^63-1."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TASK_ID:
        raise unprocessable(location, message)
    return value


async def completion_input(request: Request) -> tuple[bool | None, bool]:
    """The `completed` of an optional CompletionInput body (None, no body or no field, toggles)
    and its `series`."""
    if not has_body(request):
        return None, False
    document = await json_body(request)
    if not isinstance(document, dict):
        raise unprocessable(["body"], "must be an object")
    unknown = sorted(set(document) - COMPLETION_FIELDS)
    if unknown:
        raise unprocessable(["body", unknown[0]], "unknown property")
    completed = document.get("completed")
    if "completed" in document and not isinstance(completed, bool):
        raise unprocessable(["body", "completed"], "must be a boolean")
    series = document.get("series", False)
    if not isinstance(series, bool):
        raise unprocessable(["body", "series"], "must be a boolean")
    return completed, series


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
    new = await task_input(request)
    state = request.app.state
    if key is None:
        fields, dates = new.columns()
        row = await state.pool.fetchrow(INSERT, user_id, *fields, state.cap, None, *dates)
        if row is None:
            raise task_limit_reached(state.cap)
        task = dict(row)
        replayed = False
    else:
        task, replayed = await create_once(request, user_id, key, new)
    # User ids are [A-Za-z0-9_.-]: nothing in them needs quoting in a path.
    headers = {"Location": f"/api/{user_id}/tasks/{task['id']}", "ETag": f'"{task["version"]}"'}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(task, 201, headers)


async def create_once(
    request: Request, user_id: str, key: str, new: NewTask
) -> tuple[dict[str, Any], bool]:
    """Create under an Idempotency-Key: (the task, whether it is an earlier answer replayed)."""
    request_hash = fingerprint(new)
    state = request.app.state
    async with state.pool.acquire() as connection, connection.transaction():
        earlier = await stored_answer(connection, state, user_id, key, request_hash)
        if earlier is not None:
            return earlier, True
        fields, dates = new.columns()
        row = await connection.fetchrow(INSERT, user_id, *fields, state.cap, None, *dates)
        if row is None:
            raise task_limit_reached(state.cap)
        task = dict(row)
        response = orjson.dumps(task, option=orjson.OPT_UTC_Z)
        await connection.execute(REMEMBER_KEY, user_id, key, request_hash, response)
    return task, False


def fingerprint(new: NewTask) -> bytes:
    """The service's own hash of a create under a key, of the same fields."""
    return create_fingerprint(
        NewFields(
            title=new.title,
            description=new.description,
            priority=new.priority,
            tags=new.tags,
            due=new.due,
            recurrence=new.recurrence,
            reminders=[],
            list_id=new.list_id,
            parent_id=None,
        )
    )


async def stored_answer(
    connection: asyncpg.Connection, state: Any, user_id: str, key: str, request_hash: bytes
) -> Any:
    """The answer the key holds (None: none yet), once the key is this transaction's alone;
    422 when the key was used with another request."""
    await connection.execute(LOCK_KEY, user_id, key)
    await connection.execute(FORGET_EXPIRED_KEYS, user_id, state.idempotency_key_ttl)
    earlier = await connection.fetchrow(FIND_KEY, user_id, key)
    if earlier is None:
        return None
    if earlier["request_hash"] != request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used with another request body.",
            {"header": "Idempotency-Key"},
        )
    return orjson.loads(earlier["response"])


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
    fields, dates = (await task_input(request)).columns()
    row = await request.app.state.pool.fetchrow(REPLACE, user_id, task, versions, *fields, *dates)
    if row is None:  # nothing written: missing, If-Match failed, or nothing would change
        row = await unchanged(request, user_id, task, versions)
    return tagged(row)


async def toggle_task_completion(request: Request) -> Response:
    """A completion or a toggle, which leaves a pending recurring task alone (the statements
    hold to that); then, as the service's `set_completion` does, the completion of its
    occurrence (`occurrence_done`)."""
    user_id = await authorized_user(request)
    task = task_id(request)
    versions = if_match_versions(request)
    completed, series = await completion_input(request)
    arrived = datetime.now(UTC)
    pool = request.app.state.pool
    if completed is None:
        row = await pool.fetchrow(TOGGLE, user_id, task, versions)
    else:
        sql, arguments = update_statement({"completed": completed})
        row = await pool.fetchrow(sql, user_id, task, versions, *arguments)
    if row is None:
        row = await pool.fetchrow(GET, user_id, task)
        if row is None:
            raise NOT_FOUND
        if versions is not None and row["version"] not in versions:
            # As the service's `_done_before`: If-Match naming the version an occurrence was
            # completed from answers the task as it is.
            completing = completed is not False and row["recurrence"] is not None
            if completing and await pool.fetchval(DONE_FROM, user_id, task, versions, "completed"):
                return tagged(row)
            raise precondition_failed(row)
        if completed is not False and row["recurrence"] is not None and not row["completed"]:
            row = await occurrence_done(pool, user_id, row, versions, series, arrived)
    return tagged(row)


async def occurrence_done(
    pool: asyncpg.Pool,
    user_id: str,
    current: asyncpg.Record,
    versions: list[int] | None,
    series: bool,
    arrived: datetime,
) -> asyncpg.Record:
    """The service's `_done` for a completion: nothing more when an occurrence of the task was
    done since the request `arrived` (the task as that left it); else the next occurrence
    written under the version read, with the current one recorded, in one transaction
    (`advanced`), made again on the task as it is after another write, a few times at most."""
    task = current["id"]
    if await pool.fetchval(DONE_SINCE, user_id, task, arrived):
        row = await pool.fetchrow(GET, user_id, task)
        if row is None:
            raise NOT_FOUND
        return row
    for _ in range(OCCURRENCE_ATTEMPTS):
        async with pool.acquire() as connection, connection.transaction():
            row = await advanced(connection, user_id, current, series)
            if row is not None:
                return row
            fresh = await connection.fetchrow(GET, user_id, task)
        if fresh is None:
            raise NOT_FOUND
        if fresh["due"] != current["due"] or fresh["completed"]:
            return fresh
        if versions is not None and fresh["version"] not in versions:
            raise precondition_failed(fresh)
        if fresh["recurrence"] is None:
            return fresh
        current = fresh
    raise precondition_failed(current)


async def advanced(
    connection: asyncpg.Connection, user_id: str, current: asyncpg.Record, series: bool
) -> asyncpg.Record | None:
    """The service's `TaskWriter.advance` with `_next_of`'s plan for a completion: the task at
    its next occurrence's due date, its rule with it (none left, or the whole `series`: the task
    completed), if it is still at the version read; then the occurrence recorded as it was due.
    Read in the due date's own zone: every due date the mirror stores has one (`new_task`, the
    seed), and for those the service looks up no user's zone either."""
    changes: dict[str, Any] = {"completed": True}
    if not series:
        due = stored_due(current["due"])
        step = advance(due, current["recurrence"], UTC_CLOCK, datetime.now(UTC))
        if step.due is not None:
            changes = {"due": step.due, "recurrence": step.recurrence}
    sql, arguments = update_statement(stored_changes(changes, UTC_CLOCK), advancing=True)
    task = current["id"]
    await connection.execute(NAME_CHANGE, "completed")
    row = await connection.fetchrow(sql, user_id, task, [current["version"]], *arguments)
    if row is not None:
        await connection.execute(
            RECORD_OCCURRENCE,
            user_id,
            task,
            current["due"],
            current["due_at"],
            "completed",
            row["updated_at"],
            current["version"],
        )
    return row


async def move_task(request: Request) -> Response:
    """The service's move on one connection, in one transaction (`moved`)."""
    user_id = await authorized_user(request)
    task = task_id(request)
    versions = if_match_versions(request)
    document = await json_body(request)
    to = move_body(document, ["body"])
    check_neighbours(to, task)
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        row, _ = await moved(connection, user_id, task, versions, to)
    return tagged(row)


@dataclass(frozen=True, slots=True)
class Destination:
    """A TaskMove body: the list (None: the task's own) and the place among its siblings."""

    list_id: int | None
    place: Place

    @property
    def list_only(self) -> bool:
        """Whether the body names only a list (the end of it, then)."""
        return self.list_id is not None and self.place == Place(None, None)

    @property
    def beside_only(self) -> bool:
        """Whether the body names only a neighbour, after or before it (not both)."""
        after, before = self.place.after_id, self.place.before_id
        return self.list_id is None and (after is None) != (before is None)


def move_body(document: Any, location: list[str | int]) -> Destination:
    """A TaskMove document."""
    if not isinstance(document, dict) or set(document) - MOVE_FIELDS:
        raise unprocessable(location, "must be a TaskMove")
    ids = {
        name: valid_id(document[name], [*location, name], f"must be a {noun} id")
        for name, noun in (("list_id", "list"), ("after_id", "task"), ("before_id", "task"))
        if name in document
    }
    return Destination(ids.get("list_id"), Place(ids.get("after_id"), ids.get("before_id")))


def check_neighbours(to: Destination, task: int) -> None:
    """The service's refusals of a move's neighbours before any statement: both, or itself."""
    if to.place.after_id is not None and to.place.before_id is not None:
        raise neighbour_not_there("before_id", "Send after_id or before_id, not both")
    for name, neighbour in (("after_id", to.place.after_id), ("before_id", to.place.before_id)):
        if neighbour == task:
            raise neighbour_not_there(name, "An item is not its own neighbour")


def neighbour_not_there(
    field: str, message: str = "No such neighbour at the new place"
) -> ApiError:
    details = [{"location": ["body", field], "message": message, "type": "neighbour"}]
    return ApiError(422, "validation_failed", SCHEMA_MISMATCH, details)


LIST_NOT_HELD = ApiError(
    422,
    "validation_failed",
    SCHEMA_MISMATCH,
    [{"location": ["body", "list_id"], "message": "No such list", "type": "list_not_found"}],
)


async def moved(
    connection: asyncpg.Connection,
    user_id: str,
    task: int,
    versions: list[int] | None,
    to: Destination,
) -> tuple[asyncpg.Record, bool]:
    """The service's move (impl/tasks/repository.py's TaskWriter.move, without `parent_id`),
    statement for statement: the task's list read, its list and the one it goes to locked in
    one order, the task locked, its neighbours read, then the task placed (its siblings
    respaced first when the gap is too narrow, its subtree taken along to another list).
    Returns the task as it is and whether it was written; a refusal raises."""
    own_list = await connection.fetchval(LIST_OF, user_id, task)
    if own_list is None:
        raise NOT_FOUND
    list_id = to.list_id or own_list
    for locked in sorted({own_list, list_id}):
        if await connection.fetchval(LOCK_LIST, user_id, locked) is None:
            raise LIST_NOT_HELD
    current = await connection.fetchrow(LOCK_TASK, user_id, task)
    if current is None:
        raise NOT_FOUND
    if versions is not None and current["version"] not in versions:
        raise precondition_failed(current)
    stays = current["list_id"] == list_id
    parent = current["parent_id"] if stays else None
    order, group = (SUBTASKS, parent) if parent is not None else (TOP_LEVEL, list_id)
    scope = (user_id, group, task)
    try:
        lower, upper = await order.neighbours(connection, scope, to.place)
    except NeighbourMissing as missing:
        raise neighbour_not_there(missing.field) from None
    if stays and already_there((current["position"], task), lower, upper):
        return current, False
    key, respaced = await order.key_between(connection, scope, lower, upper)
    if not stays and parent is None:
        below = None if lower is None else respaced.get(lower[1], lower[0])
        key = not_its_own(key, current["position"], below)
    if respaced:
        await connection.execute(RESPACE, user_id, list_id, list(respaced), list(respaced.values()))
    placed = await connection.fetchrow(PLACE, user_id, task, list_id, key, parent)
    if not stays:
        await connection.execute(SUBTREE_TO_LIST, user_id, task, list_id)
    return placed, True


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


# --- batches -----------------------------------------------------------------------------------

MAX_BATCH_OPERATIONS = 100
# Per `op`: the members an operation may have, and those it must.
BATCH_MEMBERS = {
    "create": (frozenset({"op", "body"}), ("body",)),
    "update": (frozenset({"op", "task_id", "if_match", "body"}), ("task_id", "body")),
    "complete": (frozenset({"op", "task_id", "if_match", "completed"}), ("task_id", "completed")),
    "move": (frozenset({"op", "task_id", "if_match", "body"}), ("task_id", "body")),
    "delete": (frozenset({"op", "task_id", "if_match"}), ("task_id",)),
}
PATCH_FIELDS = INPUT_FIELDS | {"completed"}
# The fields a run of updates writes together.
EDITABLE_FIELDS = frozenset(EDITABLE)
MOVE_FIELDS = frozenset({"list_id", "after_id", "before_id"})


@dataclass(frozen=True, slots=True)
class BatchOperation:
    """One operation of a batch, as parsed: what its own request would have carried."""

    op: str
    task_id: int = 0
    versions: list[int] | None = None
    fields: TaskInput | None = None  # create
    changes: dict[str, Any] | None = None  # update, complete
    to: Destination | None = None  # move

    @property
    def list_named(self) -> int | None:
        """The list a create or an update writes the task into by its key, if it names one."""
        if self.fields is not None:
            return self.fields.list_id
        if self.op == "update" and self.changes is not None:
            list_id: int | None = self.changes.get("list_id")
            return list_id
        return None


class BatchRolledBack(Exception):
    """Ends an atomic batch's transaction (a rollback) with the answer it still gives."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__("rolled back")
        self.answer = answer


async def batch_tasks(request: Request) -> Response:
    """The service's batch in one transaction: the user's batch turn, the lists the operations
    write into held, then the operations with the service's statements (`run_batch`). With an
    Idempotency-Key, the key's statements first and the answer remembered last, as the service
    does."""
    user_id = await authorized_user(request)
    key = idempotency_key(request)
    document = await json_body(request)
    atomic, operations = batch_input(document)
    state = request.app.state
    try:
        async with state.pool.acquire() as connection, connection.transaction():
            if key is not None:
                request_hash = hashlib.sha256(
                    b"batch\n" + orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
                ).digest()
                earlier = await stored_answer(connection, state, user_id, key, request_hash)
                if earlier is not None:
                    return json_response(earlier, headers={"Idempotent-Replayed": "true"})
            answer = await run_batch(connection, state, user_id, atomic, operations)
            if key is not None:
                response = orjson.dumps(answer, option=orjson.OPT_UTC_Z)
                await connection.execute(REMEMBER_KEY, user_id, key, request_hash, response)
    except BatchRolledBack as rolled_back:
        answer = rolled_back.answer
    return json_response(answer)


def batch_input(document: Any) -> tuple[bool, list[BatchOperation]]:
    """A TaskBatch document: whether it is atomic, and its operations; else the batch's 422."""
    if not isinstance(document, dict):
        raise unprocessable(["body"], "must be an object")
    unknown = sorted(set(document) - {"atomic", "operations"})
    if unknown:
        raise unprocessable(["body", unknown[0]], "unknown property")
    atomic = document.get("atomic", False)
    if not isinstance(atomic, bool):
        raise unprocessable(["body", "atomic"], "must be a boolean")
    operations = document.get("operations")
    if not isinstance(operations, list) or not 1 <= len(operations) <= MAX_BATCH_OPERATIONS:
        raise unprocessable(["body", "operations"], "must be a list of 1 to 100 operations")
    return atomic, [batch_operation(item, index) for index, item in enumerate(operations)]


def batch_operation(document: Any, index: int) -> BatchOperation:
    location: list[str | int] = ["body", "operations", index]
    if not isinstance(document, dict) or document.get("op") not in BATCH_MEMBERS:
        raise unprocessable(location, "must be create, update, complete, move or delete")
    op: str = document["op"]
    allowed, required = BATCH_MEMBERS[op]
    location.append(op)
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise unprocessable([*location, unknown[0]], "unknown property")
    for name in required:
        if name not in document:
            raise unprocessable([*location, name], "required")
    if op == "create":
        return BatchOperation(op, fields=task_fields(document["body"], [*location, "body"]))
    task = valid_id(document["task_id"], [*location, "task_id"], "must be a task id")
    versions = versions_in(document.get("if_match"), [*location, "if_match"])
    match op:
        case "update":
            changes = patch_changes(document["body"], [*location, "body"])
            return BatchOperation(op, task, versions, changes=changes)
        case "complete":
            completed = document["completed"]
            if not isinstance(completed, bool):
                raise unprocessable([*location, "completed"], "must be a boolean")
            return BatchOperation(op, task, versions, changes={"completed": completed})
        case "move":
            to = move_body(document["body"], [*location, "body"])
            return BatchOperation(op, task, versions, to=to)
    return BatchOperation(op, task, versions)


def patch_changes(document: Any, location: list[str | int]) -> dict[str, Any]:
    """A TaskPatch document's changes, as stored (the names of PATCHABLE)."""
    if not isinstance(document, dict):
        raise unprocessable(location, "must be an object")
    unknown = sorted(set(document) - PATCH_FIELDS)
    if unknown:
        raise unprocessable([*location, unknown[0]], "unknown property")
    changes: dict[str, Any] = {}
    for name, value in document.items():
        where = [*location, name]
        match name:
            case "title":
                changes[name] = valid_title(value, where)
            case "description":
                changes[name] = valid_description(value, where)
            case "priority":
                changes[name] = valid_priority(value, where)
            case "tags":
                changes[name] = valid_tags(value, where)
            case "due_at":
                due = None if value is None else due_of_instant(date_time(value, where))
                changes["due"], changes[name], changes["overdue_at"] = due_columns(due, UTC_CLOCK)
            case "completed":
                if not isinstance(value, bool):
                    raise unprocessable(where, "must be a boolean")
                changes[name] = value
            case "list_id":
                changes[name] = valid_id(value, where, "must be a list id")
    return changes


async def run_batch(
    connection: asyncpg.Connection,
    state: Any,
    user_id: str,
    atomic: bool,
    operations: list[BatchOperation],
) -> dict[str, Any]:
    """The operations in order, as the service runs them (impl/tasks/batch.py): a run of
    consecutive operations of one kind that can be written together in a few statements for
    all, else one operation at a time. A refused one is its result, and ends an atomic batch
    (raising BatchRolledBack, which rolls the transaction back)."""
    await connection.execute(TAKE_BATCH_TURN, user_id)
    named_lists = {op.list_named for op in operations} - {None}
    records = await connection.fetch(HOLD_LISTS, user_id, list(named_lists))
    held = {record["id"] for record in records}
    results: list[dict[str, Any]] = []
    while len(results) < len(operations):
        start = len(results)
        run = run_from(operations, start)
        answers = await run_together(connection, state, user_id, run, held)
        if answers is None:
            answers = [await attempted(connection, state, user_id, operations[start], held)]
        for index, answer in enumerate(answers, start):
            if isinstance(answer, ApiError):
                results.append(refused(answer, index, operations[index].op))
                if atomic:
                    raise BatchRolledBack(rolled_back(results, index, len(operations)))
            else:
                results.append(answer)
    return {"applied": True, "results": results}


Answer = dict[str, Any] | ApiError
# The kind of a run of moves each beside a neighbour in the task's own order.
BESIDE = "beside"


def run_kind(operation: BatchOperation) -> tuple[str, int | str | None] | None:
    """What a run of operations written together does; None for one written alone."""
    match operation.op:
        case "complete" | "delete" | "create":
            return operation.op, None
        case "update" if (
            operation.changes is not None and set(operation.changes) <= EDITABLE_FIELDS
        ):
            return operation.op, None
        case "move" if operation.to is not None and operation.to.list_only:
            return operation.op, operation.to.list_id
        case "move" if operation.to is not None and operation.to.beside_only:
            return operation.op, BESIDE
    return None


def run_from(operations: list[BatchOperation], start: int) -> list[BatchOperation]:
    """The operations from `start` of one kind, one after another, each of another task."""
    kind = run_kind(operations[start])
    if kind is None:
        return []
    run: list[BatchOperation] = []
    seen: set[int] = set()
    for operation in operations[start:]:
        if run_kind(operation) != kind or operation.task_id in seen:
            break
        run.append(operation)
        if operation.op != "create":
            seen.add(operation.task_id)
    return run


async def run_together(
    connection: asyncpg.Connection,
    state: Any,
    user_id: str,
    run: list[BatchOperation],
    held: set[int],
) -> list[Answer] | None:
    """The answers of a run written together; None when it cannot be (fewer than two, one
    task under another, a move to a list a task is in already: one at a time then)."""
    if len(run) < 2:
        return None
    if run[0].op == "create":
        return await create_together(connection, state, user_id, run, held)
    if run_kind(run[0]) == ("move", BESIDE):
        return await beside_together(connection, user_id, run)
    named = [(operation.task_id, operation.versions) for operation in run]
    ids = [task for task, _ in named]
    if run[0].op == "update":
        changes = [operation.changes or {} for operation in run]
        columns: list[list[Any]] = []
        for name in EDITABLE:
            columns.append([name in change for change in changes])
            values = [change.get(name) for change in changes]
            if name == "tags":
                values = [None if tags is None else orjson.dumps(tags).decode() for tags in values]
            columns.append(values)
        rows = await connection.fetch(UPDATE_MANY, user_id, *if_matches(named), *columns)
        outcomes = await outcomes_of(connection, user_id, ids, {row["id"]: row for row in rows})
        return [
            written(outcome, versions)
            for outcome, (_, versions) in zip(outcomes, named, strict=True)
        ]
    if await connection.fetchval(NESTED, user_id, ids):
        return None
    match run[0].op:
        case "complete":
            completed = [(operation.changes or {})["completed"] for operation in run]
            rows = await connection.fetch(COMPLETE_MANY, user_id, *if_matches(named), completed)
            outcomes = await outcomes_of(connection, user_id, ids, {row["id"]: row for row in rows})
        case "move":
            to = run[0].to
            assert to is not None
            assert to.list_id is not None
            moved = await move_together(connection, user_id, named, to.list_id)
            if moved is None:
                return None
            outcomes = moved
        case _:
            rows = await connection.fetch(DELETE_MANY, user_id, *if_matches(named))
            gone = dict.fromkeys(row["id"] for row in rows)
            outcomes = await outcomes_of(connection, user_id, ids, gone)
            return [deleted(outcome) for outcome in outcomes]
    return [
        written(outcome, versions) for outcome, (_, versions) in zip(outcomes, named, strict=True)
    ]


# What a write of several tasks found for each: (written, the task as it is), as for one.
Outcome = tuple[bool, asyncpg.Record | None]


def written(outcome: Outcome, versions: list[int] | None) -> Answer:
    """The answer for a task a write named: 200 with it, or why it changed nothing (404, 412,
    or the task as it is)."""
    was_written, current = outcome
    if current is None:
        return NOT_FOUND
    if not was_written and versions is not None and current["version"] not in versions:
        return precondition_failed(current)
    return {"status": 200, "task": dict(current)}


def deleted(outcome: Outcome) -> Answer:
    was_written, current = outcome
    if was_written:
        return {"status": 204}
    return NOT_FOUND if current is None else precondition_failed(current)


def if_matches(
    named: list[tuple[int, list[int] | None]],
) -> tuple[list[int], list[bool], list[int], list[int]]:
    """The task ids, whether each allows any version, and the (task, version) pairs allowed."""
    allowed = [(task, version) for task, versions in named for version in versions or ()]
    return (
        [task for task, _ in named],
        [versions is None for _, versions in named],
        [task for task, _ in allowed],
        [version for _, version in allowed],
    )


async def outcomes_of(
    connection: asyncpg.Connection,
    user_id: str,
    ids: list[int],
    written_rows: dict[int, asyncpg.Record | None],
) -> list[Outcome]:
    """The written tasks' outcomes, and the others' as they are, read in one statement."""
    unwritten = [task for task in ids if task not in written_rows]
    current = {}
    if unwritten:
        current = {row["id"]: row for row in await connection.fetch(GET_MANY, user_id, unwritten)}
    return [
        (True, written_rows[task]) if task in written_rows else (False, current.get(task))
        for task in ids
    ]


async def create_together(
    connection: asyncpg.Connection,
    state: Any,
    user_id: str,
    run: list[BatchOperation],
    held: set[int],
) -> list[Answer]:
    """New tasks at the top level of their lists, last there in the order given: the user's
    count locked, each list's last key read, then one INSERT for all that fit under the cap."""
    prepared = [stored_in(operation, held) for operation in run]
    news = [item for item in prepared if isinstance(item, NewTask)]
    count = await connection.fetchval(LOCK_COUNT, user_id)
    fitting = news[: max(state.cap - count, 0)]
    inbox = 0
    if any(new.list_id is None for new in fitting):
        inbox = await connection.fetchval(INBOX, user_id)
    lists = [inbox if new.list_id is None else new.list_id for new in fitting]
    keys: dict[int, list[str]] = {}
    for list_id in dict.fromkeys(lists):
        last, _ = await TOP_LEVEL.neighbours(connection, (user_id, list_id, 0), Place(None, None))
        after = keys_after(None if last is None else last[0], [""] * lists.count(list_id))
        keys[list_id] = after[::-1]
    placed = [keys[list_id].pop() for list_id in lists]
    columns = [new.columns() for new in fitting]
    rows = await connection.fetch(
        INSERT_MANY,
        user_id,
        [fields[0] for fields, _ in columns],
        [fields[1] for fields, _ in columns],
        [fields[2] for fields, _ in columns],
        [orjson.dumps(fields[3]).decode() for fields, _ in columns],
        [fields[4] for fields, _ in columns],
        lists,
        placed,
        [dates[0] for _, dates in columns],
        [dates[1] for _, dates in columns],
        [dates[2] for _, dates in columns],
        [orjson.dumps(dates[3]).decode() for _, dates in columns],
    )
    added = {(row["list_id"], row["position"]): row for row in rows}
    made = iter([added[place] for place in zip(lists, placed, strict=True)])
    answers: list[Answer] = []
    for item in prepared:
        if isinstance(item, ApiError):
            answers.append(item)
            continue
        row = next(made, None)
        answers.append(
            task_limit_reached(state.cap) if row is None else {"status": 201, "task": dict(row)}
        )
    return answers


def stored_in(operation: BatchOperation, held: set[int]) -> NewTask | ApiError:
    """A batch's create as stored, or why it is refused: its list not held, or its dates."""
    if operation.fields is None or operation.list_named not in (None, *held):
        return LIST_NOT_HELD
    try:
        return new_task(operation.fields)
    except ApiError as error:
        return error


async def move_together(
    connection: asyncpg.Connection,
    user_id: str,
    named: list[tuple[int, list[int] | None]],
    list_id: int,
) -> list[Outcome] | None:
    """Tasks put last in another list, one after another, their subtrees along: their lists
    read, those lists locked, the tasks locked, the list's last key read, then all placed in
    one statement; None, having written nothing, when one is in that list already, or the
    list is not the user's."""
    ids = [task for task, _ in named]
    lists_of = {
        row["id"]: row["list_id"] for row in await connection.fetch(LISTS_OF_TASKS, user_id, ids)
    }
    if list_id in lists_of.values():
        return None
    lists = sorted({list_id, *lists_of.values()})
    locked = {row["id"] for row in await connection.fetch(LOCK_LISTS, user_id, lists)}
    if list_id not in locked:
        return None
    current = {row["id"]: row for row in await connection.fetch(LOCK_TASKS, user_id, ids)}
    if any(row["list_id"] != lists_of.get(task) for task, row in current.items()):
        return None
    moving = [
        task
        for task, versions in named
        if task in current and (versions is None or current[task]["version"] in versions)
    ]
    last, _ = await TOP_LEVEL.neighbours(connection, (user_id, list_id, 0), Place(None, None))
    owns = [current[task]["position"] for task in moving]
    keys = keys_after(None if last is None else last[0], owns)
    placed_rows = await connection.fetch(PLACE_MANY, user_id, list_id, moving, keys)
    placed = {row["id"]: row for row in placed_rows}
    await connection.execute(SUBTREES_TO_LIST, user_id, moving, list_id)
    return [(True, placed[task]) if task in placed else (False, current.get(task)) for task in ids]


async def beside_together(
    connection: asyncpg.Connection, user_id: str, run: list[BatchOperation]
) -> list[Answer] | None:
    """Tasks put right after or before a neighbour in their own order, one after another: their
    lists read, those lists locked, the tasks locked, the order around each neighbour read,
    the moves played on it, then all new keys written in one statement; None, having written
    nothing, when what was read does not tell, or a gap would need respacing."""
    prepared: list[Beside | ApiError] = []
    for operation in run:
        assert operation.to is not None
        try:
            check_neighbours(operation.to, operation.task_id)
        except ApiError as error:
            prepared.append(error)
            continue
        after, before = operation.to.place.after_id, operation.to.place.before_id
        named = Named(operation.task_id, operation.versions)
        prepared.append(Beside(named, after or before or 0, after is not None))
    moves = [item for item in prepared if isinstance(item, Beside)]
    ids = [move.task.task_id for move in moves]
    lists_of = {
        row["id"]: row["list_id"] for row in await connection.fetch(LISTS_OF_TASKS, user_id, ids)
    }
    await connection.fetch(LOCK_LISTS, user_id, sorted(set(lists_of.values())))
    current = {row["id"]: dict(row) for row in await connection.fetch(LOCK_TASKS, user_id, ids)}
    if any(row["list_id"] != lists_of.get(task) for task, row in current.items()):
        return None
    reach = len(moves) + 1
    anchors = sorted({move.neighbour for move in moves})
    rows = await connection.fetch(SIBLINGS_AROUND, user_id, anchors, reach)
    played = play_moves(moves, current, KnownOrder(rows, reach))
    if played is None:
        return None
    keys = {
        move.task.task_id: key
        for move, key in zip(moves, played, strict=True)
        if isinstance(key, str)
    }
    placed = {
        row["id"]: row
        for row in await connection.fetch(REPLACE_MANY, user_id, list(keys), list(keys.values()))
    }
    answers: list[Answer] = []
    for move, outcome in zip(moves, played, strict=True):
        if isinstance(outcome, str):
            answers.append({"status": 200, "task": dict(placed[move.task.task_id])})
        elif isinstance(outcome, NeighbourMissing):
            answers.append(neighbour_not_there(outcome.field))
        else:
            answers.append(written((False, outcome.current), move.task.versions))
    written_answers = iter(answers)
    return [item if isinstance(item, ApiError) else next(written_answers) for item in prepared]


async def attempted(
    connection: asyncpg.Connection,
    state: Any,
    user_id: str,
    operation: BatchOperation,
    held: set[int],
) -> Answer:
    try:
        return await run_operation(connection, state, user_id, operation, held)
    except ApiError as error:
        return error


async def run_operation(
    connection: asyncpg.Connection,
    state: Any,
    user_id: str,
    operation: BatchOperation,
    held: set[int],
) -> dict[str, Any]:
    """The operation's result, as its own request would answer it; a refusal raises."""
    if operation.list_named not in (None, *held):
        raise LIST_NOT_HELD
    task, versions = operation.task_id, operation.versions
    if operation.fields is not None:
        fields, dates = new_task(operation.fields).columns()
        row = await connection.fetchrow(INSERT, user_id, *fields, state.cap, None, *dates)
        if row is None:
            raise task_limit_reached(state.cap)
        return {"status": 201, "task": dict(row)}
    if operation.to is not None:
        check_neighbours(operation.to, task)
        row, _ = await moved(connection, user_id, task, versions, operation.to)
        return {"status": 200, "task": dict(row)}
    if operation.changes is None:  # delete
        deleted = await connection.fetchval(DELETE, user_id, task, versions)
        if deleted == 1:
            return {"status": 204}
        current = await connection.fetchrow(GET, user_id, task)
        if current is None:
            raise NOT_FOUND
        raise precondition_failed(current)
    changes = operation.changes
    row = None
    if changes:
        sql, arguments = update_statement(changes)
        row = await connection.fetchrow(sql, user_id, task, versions, *arguments)
        if row is not None and "list_id" in changes:
            await connection.execute(SUBTREE_TO_LIST, user_id, task, row["list_id"])
    if row is None:  # nothing written: missing, If-Match failed, or nothing would change
        row = await connection.fetchrow(GET, user_id, task)
        if row is None:
            raise NOT_FOUND
        if versions is not None and row["version"] not in versions:
            raise precondition_failed(row)
    return {"status": 200, "task": dict(row)}


def refused(error: ApiError, index: int, op: str) -> dict[str, Any]:
    """An operation's error as its result; locations in its body put under the operation's."""
    details = error.details
    if isinstance(details, list):
        details = [located(detail, index, op) for detail in details]
    document = {"error": error.code, "message": error.message, "details": details}
    return {"status": error.status, "error": document}


def located(detail: Any, index: int, op: str) -> Any:
    location = detail.get("location") if isinstance(detail, dict) else None
    if not location or location[0] != "body":
        return detail
    return {**detail, "location": ["body", "operations", index, op, *location]}


def rolled_back(results: list[dict[str, Any]], failed_index: int, count: int) -> dict[str, Any]:
    """An atomic batch that failed: the failed operation's error, every other one's 424."""
    not_applied = refused(
        ApiError(
            424,
            "not_applied",
            f"Not applied: operation {failed_index} of this atomic batch failed.",
            {"failed_index": failed_index},
        ),
        failed_index,
        "",
    )
    return {
        "applied": False,
        "results": [
            results[failed_index] if index == failed_index else not_applied
            for index in range(count)
        ],
    }


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
            init=read_json,
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
            path_route(tasks + "/batch", POST=batch_tasks),
            path_route(task, GET=get_task, PUT=replace_task, DELETE=delete_task),
            path_route(task + "/complete", PATCH=toggle_task_completion),
            path_route(task + "/move", POST=move_task),
            path_route("/health/live", GET=check_liveness),
            path_route("/health/ready", GET=check_readiness),
        ],
        exception_handlers={ApiError: api_error, HTTPException: http_error},
        lifespan=lifespan,
    )
