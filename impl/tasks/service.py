"""Business rules for one user's tasks: what each operation means, on top of the repository."""

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from generated.documents import Task, TaskChanges, TaskList
from generated.models import Tag, TaskInput, TaskPatch
from impl.errors import ApiError, ErrorCode, InvalidToken
from impl.json import dumps
from impl.signing import TokenSigner
from impl.tasks.listing import PageStart, Sort, TaskFilter
from impl.tasks.repository import NewFields, Outcome, Snapshot, TaskRepository
from impl.tasks.tags import canonical, normalize_tags


class TaskNotFound(ApiError):
    """Also what another user's task looks like: existence is never revealed."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.NOT_FOUND, "Task not found.")


class TaskLimitReached(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(ErrorCode.TASK_LIMIT_REACHED, details={"limit": limit})


class IdempotencyKeyReused(ApiError):
    def __init__(self) -> None:
        super().__init__(ErrorCode.IDEMPOTENCY_KEY_REUSED, details={"header": "Idempotency-Key"})


class LongerInNfc(ApiError):
    """A text within its limit as sent, past it in NFC, as the contract counts its characters.

    A few characters have a longer NFC form (U+FB2C is three code points): the schema's limit,
    checked on what was sent, cannot see it.
    """

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(
            ErrorCode.VALIDATION_FAILED,
            details=[
                {
                    "location": ["body", field],
                    "message": f"String should have at most {limit} characters in Unicode NFC",
                    "type": "string_too_long",
                }
            ],
        )


class SyncTokenExpired(ApiError):
    def __init__(self, retention: timedelta) -> None:
        super().__init__(
            ErrorCode.SYNC_TOKEN_EXPIRED, details={"retention_days": retention / timedelta(days=1)}
        )


def entity_tag(task: Task) -> str:
    """The task's strong ETag: its version, quoted."""
    return f'"{task["version"]}"'


@dataclass(frozen=True)
class TaskPolicy:
    """Limits and keys that hold for every user, built once from the settings."""

    max_tasks_per_user: int
    sync_retention: timedelta
    idempotency_key_ttl: timedelta
    cursors: TokenSigner
    sync_tokens: TokenSigner


def task_policy(
    secret: str,
    *,
    max_tasks_per_user: int = 10_000,
    sync_retention: timedelta = timedelta(days=30),
    idempotency_key_ttl: timedelta = timedelta(hours=24),
) -> TaskPolicy:
    """The policy, with the keys of cursors and sync tokens derived from `secret`."""
    return TaskPolicy(
        max_tasks_per_user=max_tasks_per_user,
        sync_retention=sync_retention,
        idempotency_key_ttl=idempotency_key_ttl,
        cursors=TokenSigner(secret, "paging cursor"),
        sync_tokens=TokenSigner(secret, "sync token"),
    )


@dataclass(frozen=True, slots=True)
class Creation:
    task: Task
    replayed: bool


class TaskService:
    """Everything a user can do with their tasks; it only ever sees `owner_id`'s rows."""

    def __init__(self, repository: TaskRepository, policy: TaskPolicy, owner_id: str) -> None:
        self._repository = repository
        self._policy = policy
        self._owner_id = owner_id

    async def list_page(
        self, task_filter: TaskFilter, sort: Sort, cursor: str | None, limit: int
    ) -> TaskList:
        start = None if cursor is None else self._page_start(cursor, task_filter, sort)
        # One row more than the page tells whether another page follows.
        tasks = await self._repository.list_page(
            self._owner_id, task_filter, sort, start, limit + 1
        )
        if len(tasks) <= limit:
            return {"items": tasks, "next_cursor": None}
        last = tasks[limit - 1]
        claims = {
            "s": str(sort),
            "f": task_filter.fingerprint(),
            "k": _key_claim(last[sort.field]),
            "i": last["id"],
        }
        return {
            "items": tasks[:limit],
            "next_cursor": self._policy.cursors.sign(self._owner_id, claims),
        }

    def _page_start(self, cursor: str, task_filter: TaskFilter, sort: Sort) -> PageStart:
        claims = self._policy.cursors.verify(self._owner_id, cursor)
        if claims is None:
            raise _invalid_cursor()
        if claims.get("s") != str(sort) or claims.get("f") != task_filter.fingerprint():
            raise _invalid_cursor("The cursor was issued for other filters or another sort.")
        key = claims["k"]
        if sort.field in ("created_at", "updated_at", "due_at") and key is not None:
            key = datetime.fromisoformat(key)
        return PageStart(key, int(claims["i"]))

    async def create(self, body: TaskInput, idempotency_key: str | None) -> Creation:
        fields = _new_fields(body)
        cap = self._policy.max_tasks_per_user
        if idempotency_key is None:
            task = await self._repository.add(self._owner_id, fields, cap)
            return Creation(self._room_was_left(task), replayed=False)
        request_hash = _fingerprint(fields)
        earlier, task = await self._repository.add_once(
            self._owner_id,
            idempotency_key,
            request_hash,
            fields,
            cap,
            self._policy.idempotency_key_ttl,
            dumps,
        )
        if earlier is None:
            return Creation(self._room_was_left(task), replayed=False)
        if earlier.request_hash != request_hash:
            raise IdempotencyKeyReused
        return Creation(orjson.loads(earlier.response), replayed=True)

    def _room_was_left(self, task: Task | None) -> Task:
        if task is None:
            raise TaskLimitReached(self._policy.max_tasks_per_user)
        return task

    async def get(self, task_id: int) -> Task:
        return _found(await self._repository.get(self._owner_id, task_id))

    async def replace(self, task_id: int, if_match: list[int] | None, body: TaskInput) -> Task:
        outcome = await self._repository.replace(
            self._owner_id, task_id, if_match, _new_fields(body)
        )
        return _answer(outcome, if_match)

    async def update(self, task_id: int, if_match: list[int] | None, patch: TaskPatch) -> Task:
        changes: dict[str, Any] = {name: getattr(patch, name) for name in patch.model_fields_set}
        if "title" in changes:
            changes["title"] = _stored_text("title", changes["title"])
        if changes.get("description") is not None:
            changes["description"] = _stored_text("description", changes["description"])
        if "tags" in changes:
            changes["tags"] = _stored_tags(tag.root for tag in changes["tags"])
        if "priority" in changes:
            changes["priority"] = str(changes["priority"])
        if not changes:
            current = await self._repository.get(self._owner_id, task_id)
            return _answer(Outcome(written=False, task=current), if_match)
        outcome = await self._repository.update(self._owner_id, task_id, if_match, changes)
        return _answer(outcome, if_match)

    async def set_completion(
        self, task_id: int, if_match: list[int] | None, completed: bool | None
    ) -> Task:
        """`completed` None toggles; a value sets it (a no-op when the task already has it)."""
        if completed is None:
            outcome = await self._repository.toggle_completion(self._owner_id, task_id, if_match)
        else:
            outcome = await self._repository.update(
                self._owner_id, task_id, if_match, {"completed": completed}
            )
        return _answer(outcome, if_match)

    async def delete(self, task_id: int, if_match: list[int] | None) -> None:
        outcome = await self._repository.delete(self._owner_id, task_id, if_match)
        if not outcome.written:
            raise _precondition_failed(_found(outcome.task))

    async def changes(self, since: str | None, cursor: str | None, limit: int) -> TaskChanges:
        since_snapshot = None if since is None else self._since(since)
        upper: Snapshot | None = None
        start: tuple[str, int] | None = None
        if cursor is not None:
            upper, start = self._changes_start(cursor, since_snapshot)
        upper, changes = await self._repository.changes(
            self._owner_id, upper, since_snapshot, start, limit + 1
        )
        page = changes[:limit]
        items = [change.task for change in page if change.task is not None]
        deleted = [change.task_id for change in page if change.task is None]
        if len(changes) <= limit:
            token = self._policy.sync_tokens.sign(
                self._owner_id, {"s": upper.snapshot, "t": upper.taken_at.timestamp()}
            )
            return {"items": items, "deleted": deleted, "next_cursor": None, "sync_token": token}
        claims = {
            "u": upper.snapshot,
            "t": upper.taken_at.timestamp(),
            "p": since_snapshot,
            "x": page[-1].xid,
            "i": page[-1].task_id,
        }
        next_cursor = self._policy.cursors.sign(self._owner_id, claims)
        return {"items": items, "deleted": deleted, "next_cursor": next_cursor, "sync_token": None}

    def _since(self, token: str) -> str:
        claims = self._policy.sync_tokens.verify(self._owner_id, token)
        if claims is None:
            raise InvalidToken(ErrorCode.INVALID_SYNC_TOKEN, "since")
        self._check_age(float(claims["t"]))
        return str(claims["s"])

    def _changes_start(
        self, cursor: str, since_snapshot: str | None
    ) -> tuple[Snapshot, tuple[str, int]]:
        claims = self._policy.cursors.verify(self._owner_id, cursor)
        if claims is None or "u" not in claims:
            raise _invalid_cursor()
        if claims["p"] != since_snapshot:
            raise _invalid_cursor("The cursor was issued for another `since`.")
        taken_at = datetime.fromtimestamp(float(claims["t"]), UTC)
        return Snapshot(str(claims["u"]), taken_at), (str(claims["x"]), int(claims["i"]))

    def _check_age(self, issued_at: float) -> None:
        retention = self._policy.sync_retention
        if time.time() - issued_at > retention.total_seconds():
            raise SyncTokenExpired(retention)


def _answer(outcome: Outcome, if_match: list[int] | None) -> Task:
    """The task a write answers with; when it changed nothing, why: no such task (404),
    If-Match failed (412), or the write would not change it (the task as it is)."""
    if outcome.written:
        return _found(outcome.task)
    current = _found(outcome.task)
    if if_match is not None and current["version"] not in if_match:
        raise _precondition_failed(current)
    return current


def _precondition_failed(current: Task) -> ApiError:
    return ApiError(
        ErrorCode.PRECONDITION_FAILED,
        details={"current": current},
        headers={"ETag": entity_tag(current)},
    )


def _invalid_cursor(message: str | None = None) -> InvalidToken:
    return InvalidToken(ErrorCode.INVALID_CURSOR, "cursor", message)


def _key_claim(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _new_fields(body: TaskInput) -> NewFields:
    return NewFields(
        title=_stored_text("title", body.title),
        description=None
        if body.description is None
        else _stored_text("description", body.description),
        priority=str(body.priority),
        tags=_stored_tags(tag.root for tag in body.tags),
        due_at=body.due_at,
    )


def _max_length(metadata: list[Any]) -> int:
    """The contract's maxLength, as the generated model's field holds it (`MaxLen`)."""
    return int(next(item.max_length for item in metadata if hasattr(item, "max_length")))


# The contract's limits, checked again on the text as stored: NFC may lengthen what passed them.
MAX_LENGTHS = {
    "title": _max_length(TaskInput.model_fields["title"].metadata),
    "description": _max_length(TaskInput.model_fields["description"].metadata),
    "tags": _max_length(Tag.model_fields["root"].metadata),
}


def _stored_text(field: str, text: str) -> str:
    """A title or description as stored: in NFC, within its limit there too."""
    stored = canonical(text)
    if len(stored) > MAX_LENGTHS[field]:
        raise LongerInNfc(field, MAX_LENGTHS[field])
    return stored


def _stored_tags(tags: Iterable[str]) -> list[str]:
    """Tags as stored: normalized, each once, each within the limit of a stored `Tag`."""
    stored = normalize_tags(tags)
    if any(len(tag) > MAX_LENGTHS["tags"] for tag in stored):
        raise LongerInNfc("tags", MAX_LENGTHS["tags"])
    return stored


def _fingerprint(fields: NewFields) -> bytes:
    """Equal for requests that create the same task, however the body spelled it."""
    due_at = None if fields.due_at is None else fields.due_at.astimezone(UTC).isoformat()
    canonical = [fields.title, fields.description, fields.priority, fields.tags, due_at]
    return hashlib.sha256(orjson.dumps(canonical)).digest()


def _found(task: Task | None) -> Task:
    if task is None:
        raise TaskNotFound
    return task
