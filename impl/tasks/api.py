"""The generated `BaseTasksApi`, implemented: authorize, translate HTTP terms, call the service."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from contract_runtime.answers import Created, Replayable, Tagged
from contract_runtime.security import Principal
from generated.apis import BaseTasksApi
from generated.documents import Task, TaskBatchResult, TaskChanges, TaskList, TaskOccurrencePage
from generated.models import (
    CompletionInput,
    Priority,
    TaskBatch,
    TaskInput,
    TaskMove,
    TaskPatch,
)
from impl.auth.verifier import require_owner
from impl.tasks.batch import TaskBatchService
from impl.tasks.listing import Sort, Status, TaskFilter
from impl.tasks.repository import TaskRepository
from impl.tasks.service import TaskPolicy, TaskService
from impl.tasks.tags import normalize_tags
from impl.versioned import allowed_versions, entity_tag


class TasksApi(BaseTasksApi):
    def __init__(self, repository: TaskRepository, policy: TaskPolicy) -> None:
        self._repository = repository
        self._policy = policy

    async def authorize(self, principal: Principal, path: Mapping[str, Any]) -> None:
        # Every tasks path starts with the user it belongs to.
        require_owner(principal, path["user_id"])

    def _tasks(self, principal: Principal, user_id: str) -> TaskService:
        # The route has authorized the caller already; the service is scoped to the owner here
        # too, so that no call reaches another user's tasks, whoever makes it.
        return TaskService(self._repository, self._policy, require_owner(principal, user_id))

    async def list_tasks(
        self,
        *,
        principal: Principal,
        user_id: str,
        list_id: int | None,
        parent_id: int | None,
        top_level: bool | None,
        status: Status,
        priority: list[Priority] | None,
        tag: list[str] | None,
        q: str | None,
        due_before: datetime | None,
        due_after: datetime | None,
        overdue: bool | None,
        # The route has held it to the contract's enum; Sort.parse reads any of its values.
        sort: str,
        limit: int,
        cursor: str | None,
    ) -> TaskList:
        service = self._tasks(principal, user_id)
        task_filter = TaskFilter(
            list_id=list_id,
            parent_id=parent_id,
            top_level=top_level,
            status=status,
            priorities=frozenset(str(p) for p in priority or ()),
            tags=frozenset(normalize_tags(tag or ())),
            text=q,
            due_before=due_before,
            due_after=due_after,
            overdue=overdue,
        )
        return await service.list_page(task_filter, Sort.parse(sort), cursor, limit)

    async def create_task(
        self,
        *,
        principal: Principal,
        user_id: str,
        idempotency_key: str | None,
        body: TaskInput,
    ) -> Created[Task]:
        creation = await self._tasks(principal, user_id).create(body, idempotency_key)
        task = creation.task
        return Created(
            body=task,
            location=f"/api/{quote(user_id)}/tasks/{task['id']}",
            etag=entity_tag(task),
            replayed=creation.replayed,
        )

    async def batch_tasks(
        self,
        *,
        principal: Principal,
        user_id: str,
        idempotency_key: str | None,
        body: TaskBatch,
    ) -> Replayable[TaskBatchResult]:
        owner_id = require_owner(principal, user_id)
        batches = TaskBatchService(self._repository, self._policy, owner_id)
        return await batches.run(body, idempotency_key)

    async def list_task_changes(
        self,
        *,
        principal: Principal,
        user_id: str,
        since: str | None,
        limit: int,
        cursor: str | None,
    ) -> TaskChanges:
        return await self._tasks(principal, user_id).changes(since, cursor, limit)

    async def get_task(self, *, principal: Principal, user_id: str, task_id: int) -> Tagged[Task]:
        return _tagged(await self._tasks(principal, user_id).get(task_id))

    async def replace_task(
        self,
        *,
        principal: Principal,
        user_id: str,
        task_id: int,
        if_match: str | None,
        body: TaskInput,
    ) -> Tagged[Task]:
        service = self._tasks(principal, user_id)
        return _tagged(await service.replace(task_id, allowed_versions(if_match), body))

    async def delete_task(
        self, *, principal: Principal, user_id: str, task_id: int, if_match: str | None
    ) -> None:
        await self._tasks(principal, user_id).delete(task_id, allowed_versions(if_match))

    async def update_task(
        self,
        *,
        principal: Principal,
        user_id: str,
        task_id: int,
        if_match: str | None,
        body: TaskPatch,
    ) -> Tagged[Task]:
        service = self._tasks(principal, user_id)
        return _tagged(await service.update(task_id, allowed_versions(if_match), body))

    async def move_task(
        self,
        *,
        principal: Principal,
        user_id: str,
        task_id: int,
        if_match: str | None,
        body: TaskMove,
    ) -> Tagged[Task]:
        service = self._tasks(principal, user_id)
        return _tagged(await service.move(task_id, allowed_versions(if_match), body))

    async def toggle_task_completion(
        self,
        *,
        principal: Principal,
        user_id: str,
        task_id: int,
        if_match: str | None,
        body: CompletionInput | None,
    ) -> Tagged[Task]:
        service = self._tasks(principal, user_id)
        completed = body.completed if body and isinstance(body.completed, bool) else None
        series = body is not None and body.series
        versions = allowed_versions(if_match)
        return _tagged(await service.set_completion(task_id, versions, completed, series))

    async def skip_task_occurrence(
        self, *, principal: Principal, user_id: str, task_id: int, if_match: str | None
    ) -> Tagged[Task]:
        service = self._tasks(principal, user_id)
        return _tagged(await service.skip(task_id, allowed_versions(if_match)))

    async def list_task_occurrences(
        self, *, principal: Principal, user_id: str, task_id: int, limit: int, cursor: str | None
    ) -> TaskOccurrencePage:
        return await self._tasks(principal, user_id).occurrences(task_id, cursor, limit)


def _tagged(task: Task) -> Tagged[Task]:
    return Tagged(body=task, etag=entity_tag(task))
