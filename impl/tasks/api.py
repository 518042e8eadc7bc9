"""The generated `BaseTasksApi`, implemented: authorize, then call the owner's service."""

from urllib.parse import quote

from generated.apis import BaseTasksApi, Created
from generated.documents import Task, TaskList
from generated.models import TaskInput
from generated.security import Principal
from impl.auth import require_owner
from impl.tasks.repository import TaskRepository
from impl.tasks.service import TaskService


class TasksApi(BaseTasksApi):
    def __init__(self, repository: TaskRepository) -> None:
        self._repository = repository

    def _tasks(self, principal: Principal, user_id: str) -> TaskService:
        # Authorize before touching the database: a 403 costs no connection.
        return TaskService(self._repository, require_owner(principal, user_id))

    async def list_tasks(self, *, principal: Principal, user_id: str) -> TaskList:
        return {"items": await self._tasks(principal, user_id).list()}

    async def create_task(
        self, *, principal: Principal, user_id: str, body: TaskInput
    ) -> Created[Task]:
        task = await self._tasks(principal, user_id).create(body)
        return Created(body=task, location=f"/api/{quote(user_id)}/tasks/{task['id']}")

    async def get_task(self, *, principal: Principal, user_id: str, task_id: int) -> Task:
        return await self._tasks(principal, user_id).get(task_id)

    async def replace_task(
        self, *, principal: Principal, user_id: str, task_id: int, body: TaskInput
    ) -> Task:
        return await self._tasks(principal, user_id).replace(task_id, body)

    async def delete_task(self, *, principal: Principal, user_id: str, task_id: int) -> None:
        await self._tasks(principal, user_id).delete(task_id)

    async def toggle_task_completion(
        self, *, principal: Principal, user_id: str, task_id: int
    ) -> Task:
        return await self._tasks(principal, user_id).toggle_completion(task_id)
