"""A user's trash: what they deleted, newest first; restoring an item, or removing it for good."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from contract_runtime.formats import LATEST
from generated.documents import Task, TodoList, TrashItem, TrashPage
from impl.errors import invalid_cursor
from impl.lists.service import ListLimitReached
from impl.signing import TokenSigner
from impl.tasks.service import TaskLimitReached
from impl.trash.answers import refusal, restored
from impl.trash.repository import Kind, ListLimit, Position, TaskLimit, TrashRepository

# Before every item, newest first: every item was trashed before the last instant.
FIRST = Position(LATEST, "list", 0)


@dataclass(frozen=True)
class TrashPolicy:
    """Limits and keys that hold for every user, built once from the settings."""

    retention: timedelta
    max_tasks_per_user: int
    max_lists_per_user: int
    cursors: TokenSigner


class TrashService:
    def __init__(self, repository: TrashRepository, policy: TrashPolicy, owner_id: str) -> None:
        self._repository = repository
        self._policy = policy
        self._owner_id = owner_id

    async def page(self, cursor: str | None, limit: int) -> TrashPage:
        """One page of `limit` items, newest first, from `cursor` on."""
        start = FIRST if cursor is None else self._start(cursor)
        found = await self._repository.page(self._owner_id, start, limit + 1)
        page = found[:limit]
        next_cursor = None
        if len(found) > limit:
            last = page[-1].position
            claims = {"a": last.trashed_at.isoformat(), "k": last.kind, "i": last.item_id}
            next_cursor = self._policy.cursors.sign(self._owner_id, claims)
        items: list[TrashItem] = []
        for item in page:
            document: dict[str, Any] = {
                "kind": item.position.kind,
                "id": item.position.item_id,
                "version": item.version,
                "trashed_at": item.position.trashed_at,
                "purge_at": item.position.trashed_at + self._policy.retention,
                "task_count": item.task_count,
            }
            if item.task is not None:
                document["task"] = item.task
            if item.list is not None:
                document["list"] = item.list
            items.append(cast(TrashItem, document))
        return {"items": items, "next_cursor": next_cursor}

    def _start(self, cursor: str) -> Position:
        claims = self._policy.cursors.verify(self._owner_id, cursor)
        if claims is None or not {"a", "k", "i"} <= claims.keys() or claims["k"] not in KINDS:
            raise invalid_cursor()
        return Position(datetime.fromisoformat(claims["a"]), claims["k"], int(claims["i"]))

    async def restore_task(self, task_id: int, if_match: list[int] | None) -> Task:
        cap = self._policy.max_tasks_per_user
        try:
            outcome = await self._repository.restore_task(self._owner_id, task_id, if_match, cap)
        except TaskLimit:
            raise TaskLimitReached(cap) from None
        return cast(Task, restored(outcome))

    async def restore_list(self, list_id: int, if_match: list[int] | None) -> TodoList:
        try:
            outcome = await self._repository.restore_list(
                self._owner_id,
                list_id,
                if_match,
                self._policy.max_lists_per_user,
                self._policy.max_tasks_per_user,
            )
        except ListLimit:
            raise ListLimitReached(self._policy.max_lists_per_user) from None
        except TaskLimit:
            raise TaskLimitReached(self._policy.max_tasks_per_user) from None
        return cast(TodoList, restored(outcome))

    async def remove(self, kind: Kind, item_id: int, if_match: list[int] | None) -> None:
        """The item gone for good, with what would have come back with it."""
        taken = await self._repository.remove(self._owner_id, kind, item_id, if_match)
        if taken is not None:
            raise refusal(taken)

    async def empty(self) -> None:
        await self._repository.empty(self._owner_id)


KINDS = ("task", "list")
