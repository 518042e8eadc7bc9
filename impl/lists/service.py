"""Business rules for one user's task lists, on top of the repository."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson

from generated.documents import TodoList, TodoListPage
from generated.models import ListMove, TodoListInput, TodoListPatch
from impl.errors import ApiError, ErrorCode, invalid_cursor
from impl.idempotency import IdempotencyKeyReused, KeyedRequest
from impl.json import dumps
from impl.lists.repository import ListPageStart, ListRepository, ListSortField, NewList
from impl.moves import NeighbourNotThere, neighbours
from impl.ordering import NeighbourMissing, Place
from impl.signing import TokenSigner
from impl.stored_text import stored_text
from impl.versioned import Outcome, Vocabulary, precondition_failed

TasksOnDelete = Literal["delete", "move_to_inbox"]
LIST_SORT_FIELDS: tuple[ListSortField, ...] = ("manual", "name", "created_at")


class ListNotFound(ApiError):
    """Also what another user's list looks like: existence is never revealed."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.NOT_FOUND, "List not found.")


class ListLimitReached(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(ErrorCode.LIST_LIMIT_REACHED, details={"limit": limit})


class InboxProtected(ApiError):
    def __init__(self) -> None:
        super().__init__(ErrorCode.INBOX_PROTECTED)


LISTS = Vocabulary(
    not_found=ListNotFound, changed="The list has changed since the version named in If-Match."
)


@dataclass(frozen=True)
class ListPolicy:
    """Limits and keys that hold for every user, built once from the settings."""

    max_lists_per_user: int
    idempotency_key_ttl: timedelta
    cursors: TokenSigner


def list_policy(
    secret: str,
    *,
    max_lists_per_user: int = 1_000,
    idempotency_key_ttl: timedelta = timedelta(hours=24),
) -> ListPolicy:
    return ListPolicy(
        max_lists_per_user=max_lists_per_user,
        idempotency_key_ttl=idempotency_key_ttl,
        cursors=TokenSigner(secret, "list paging cursor"),
    )


@dataclass(frozen=True, slots=True)
class ListCreation:
    todo_list: TodoList
    replayed: bool


class ListService:
    """Everything a user can do with their lists; it only ever sees `owner_id`'s rows."""

    def __init__(self, repository: ListRepository, policy: ListPolicy, owner_id: str) -> None:
        self._repository = repository
        self._policy = policy
        self._owner_id = owner_id

    async def list_page(
        self, archived: bool | None, sort: str, cursor: str | None, limit: int
    ) -> TodoListPage:
        field = next(f for f in LIST_SORT_FIELDS if f == sort.removeprefix("-"))
        descending = sort.startswith("-")
        start = None if cursor is None else self._page_start(cursor, archived, sort)
        lists = await self._repository.list_page(
            self._owner_id, archived, field, descending, start, limit + 1
        )
        if len(lists) <= limit:
            return {"items": lists, "next_cursor": None}
        last = lists[limit - 1]
        key = last["position"] if field == "manual" else last[field]
        claims = {
            "s": sort,
            "a": archived,
            "k": key.isoformat() if isinstance(key, datetime) else key,
            "i": last["id"],
        }
        return {
            "items": lists[:limit],
            "next_cursor": self._policy.cursors.sign(self._owner_id, claims),
        }

    def _page_start(self, cursor: str, archived: bool | None, sort: str) -> ListPageStart:
        claims = self._policy.cursors.verify(self._owner_id, cursor)
        if claims is None:
            raise invalid_cursor()
        if claims.get("s") != sort or claims.get("a") != archived:
            raise invalid_cursor("The cursor was issued for other filters or another sort.")
        key = claims["k"]
        if sort.removeprefix("-") == "created_at":
            key = datetime.fromisoformat(key)
        return ListPageStart(key, int(claims["i"]))

    async def create(self, body: TodoListInput, idempotency_key: str | None) -> ListCreation:
        fields = _new_list(body)
        keyed = None
        request_hash = _fingerprint(fields)
        if idempotency_key is not None:
            keyed = KeyedRequest(
                idempotency_key, request_hash, self._policy.idempotency_key_ttl, dumps
            )
        creation = await self._repository.add(
            self._owner_id, fields, self._policy.max_lists_per_user, keyed
        )
        if creation.created is not None:
            return ListCreation(creation.created, replayed=False)
        if creation.earlier is None:
            raise ListLimitReached(self._policy.max_lists_per_user)
        if creation.earlier.request_hash != request_hash:
            raise IdempotencyKeyReused
        return ListCreation(orjson.loads(creation.earlier.response), replayed=True)

    async def get(self, list_id: int) -> TodoList:
        return LISTS.found(await self._repository.get(self._owner_id, list_id))

    async def replace(
        self, list_id: int, if_match: list[int] | None, body: TodoListInput
    ) -> TodoList:
        fields = _new_list(body)
        outcome = await self._repository.replace(self._owner_id, list_id, if_match, fields)
        return _answer(outcome, if_match, archiving=fields.archived)

    async def update(
        self, list_id: int, if_match: list[int] | None, patch: TodoListPatch
    ) -> TodoList:
        changes: dict[str, Any] = {name: getattr(patch, name) for name in patch.model_fields_set}
        if "name" in changes:
            changes["name"] = stored_text("name", changes["name"])
        if changes.get("color") is not None:
            changes["color"] = changes["color"].lower()
        if not changes:
            current = await self._repository.get(self._owner_id, list_id)
            return LISTS.answer(Outcome(written=False, current=current), if_match)
        outcome = await self._repository.update(self._owner_id, list_id, if_match, changes)
        return _answer(outcome, if_match, archiving=changes.get("archived") is True)

    async def move(self, list_id: int, if_match: list[int] | None, body: ListMove) -> TodoList:
        after, before = neighbours(body, list_id)
        try:
            outcome = await self._repository.move(
                self._owner_id, list_id, if_match, Place(after, before)
            )
        except NeighbourMissing as missing:
            raise NeighbourNotThere(missing.field) from None
        return LISTS.answer(outcome, if_match)

    async def delete(self, list_id: int, if_match: list[int] | None, tasks: TasksOnDelete) -> None:
        def allowed(current: TodoList) -> bool:
            if current["is_inbox"]:
                raise InboxProtected
            if if_match is not None and current["version"] not in if_match:
                raise precondition_failed(current, LISTS.changed)
            return True

        deletion = await self._repository.delete(
            self._owner_id, list_id, allowed, move_tasks_to_inbox=tasks == "move_to_inbox"
        )
        if not deletion.deleted:
            LISTS.found(deletion.current)


def _answer(outcome: Outcome[TodoList], if_match: list[int] | None, *, archiving: bool) -> TodoList:
    """As any versioned write answers; a write that would archive the Inbox is 409."""
    if not outcome.written and archiving:
        current = LISTS.found(outcome.current)
        if current["is_inbox"]:
            raise InboxProtected
    return LISTS.answer(outcome, if_match)


def _new_list(body: TodoListInput) -> NewList:
    return NewList(
        name=stored_text("name", body.name),
        color=None if body.color is None else body.color.lower(),
        archived=body.archived,
    )


def _fingerprint(fields: NewList) -> bytes:
    """Equal for requests that create the same list; never equal to a task's."""
    canonical = ["list", fields.name, fields.color, fields.archived]
    return hashlib.sha256(orjson.dumps(canonical)).digest()
