"""The generated `BaseTrashApi`, implemented: authorize, translate HTTP terms, call the service."""

from collections.abc import Mapping
from typing import Any

from contract_runtime.answers import Tagged
from contract_runtime.security import Principal
from generated.apis import BaseTrashApi
from generated.documents import Task, TodoList, TrashPage
from impl.auth.verifier import require_owner
from impl.trash.repository import TrashRepository
from impl.trash.service import TrashPolicy, TrashService
from impl.versioned import allowed_versions, entity_tag


class TrashApi(BaseTrashApi):
    def __init__(self, repository: TrashRepository, policy: TrashPolicy) -> None:
        self._repository = repository
        self._policy = policy

    async def authorize(self, principal: Principal, path: Mapping[str, Any]) -> None:
        require_owner(principal, path["user_id"])

    def _trash(self, principal: Principal, user_id: str) -> TrashService:
        return TrashService(self._repository, self._policy, require_owner(principal, user_id))

    async def list_trash(
        self, *, principal: Principal, user_id: str, limit: int, cursor: str | None
    ) -> TrashPage:
        return await self._trash(principal, user_id).page(cursor, limit)

    async def empty_trash(self, *, principal: Principal, user_id: str) -> None:
        await self._trash(principal, user_id).empty()

    async def delete_trashed_task(
        self, *, principal: Principal, user_id: str, task_id: int, if_match: str | None
    ) -> None:
        await self._trash(principal, user_id).remove("task", task_id, allowed_versions(if_match))

    async def restore_task(
        self, *, principal: Principal, user_id: str, task_id: int, if_match: str | None
    ) -> Tagged[Task]:
        service = self._trash(principal, user_id)
        task = await service.restore_task(task_id, allowed_versions(if_match))
        return Tagged(body=task, etag=entity_tag(task))

    async def delete_trashed_list(
        self, *, principal: Principal, user_id: str, list_id: int, if_match: str | None
    ) -> None:
        await self._trash(principal, user_id).remove("list", list_id, allowed_versions(if_match))

    async def restore_list(
        self, *, principal: Principal, user_id: str, list_id: int, if_match: str | None
    ) -> Tagged[TodoList]:
        service = self._trash(principal, user_id)
        todo_list = await service.restore_list(list_id, allowed_versions(if_match))
        return Tagged(body=todo_list, etag=entity_tag(todo_list))
