"""The generated `BaseHistoryApi`, implemented: authorize, translate HTTP terms, call the
service."""

from collections.abc import Mapping
from typing import Any

from contract_runtime.answers import Tagged
from contract_runtime.security import Principal
from generated.apis import BaseHistoryApi
from generated.documents import Task, TaskVersionPage
from impl.auth.verifier import require_owner
from impl.history.repository import HistoryRepository
from impl.history.service import HistoryService
from impl.tasks.repository import TaskRepository
from impl.tasks.service import TaskPolicy
from impl.versioned import allowed_versions, entity_tag


class HistoryApi(BaseHistoryApi):
    def __init__(
        self, repository: HistoryRepository, tasks: TaskRepository, policy: TaskPolicy
    ) -> None:
        self._repository = repository
        self._tasks = tasks
        self._policy = policy

    async def authorize(self, principal: Principal, path: Mapping[str, Any]) -> None:
        require_owner(principal, path["user_id"])

    def _history(self, principal: Principal, user_id: str) -> HistoryService:
        owner = require_owner(principal, user_id)
        return HistoryService(self._repository, self._tasks, self._policy, owner)

    async def list_task_versions(
        self,
        *,
        principal: Principal,
        user_id: str,
        task_id: int,
        limit: int,
        cursor: str | None,
    ) -> TaskVersionPage:
        return await self._history(principal, user_id).versions(task_id, cursor, limit)

    async def restore_task_version(
        self,
        *,
        principal: Principal,
        user_id: str,
        task_id: int,
        version: int,
        if_match: str | None,
    ) -> Tagged[Task]:
        service = self._history(principal, user_id)
        task = await service.restore(task_id, version, allowed_versions(if_match))
        return Tagged(body=task, etag=entity_tag(task))

    async def list_activity(
        self, *, principal: Principal, user_id: str, limit: int, cursor: str | None
    ) -> TaskVersionPage:
        return await self._history(principal, user_id).activity(cursor, limit)
