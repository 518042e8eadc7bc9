"""The generated `BaseTasksApi`, implemented: authorize, open a transaction, call the service."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from generated.apis import BaseTasksApi, Created
from generated.models import Task, TaskInput, TaskList
from generated.security import Principal
from impl.auth import require_owner
from impl.db.engine import Database
from impl.tasks.repository import TaskRepository
from impl.tasks.service import TaskService


class TasksApi(BaseTasksApi):
    def __init__(self, database: Database) -> None:
        self._database = database

    @asynccontextmanager
    async def _service(self, principal: Principal, user_id: str) -> AsyncIterator[TaskService]:
        # Authorize before touching the database: a 403 costs no connection.
        owner_id = require_owner(principal, user_id)
        async with self._database.transaction() as session:
            yield TaskService(TaskRepository(session), owner_id)

    async def list_tasks(self, *, principal: Principal, user_id: str) -> TaskList:
        async with self._service(principal, user_id) as tasks:
            return TaskList(items=await tasks.list())

    async def create_task(
        self, *, principal: Principal, user_id: str, body: TaskInput
    ) -> Created[Task]:
        async with self._service(principal, user_id) as tasks:
            task = await tasks.create(body)
        return Created(body=task, location=f"/api/{quote(user_id)}/tasks/{task.id}")

    async def get_task(self, *, principal: Principal, user_id: str, task_id: int) -> Task:
        async with self._service(principal, user_id) as tasks:
            return await tasks.get(task_id)

    async def replace_task(
        self, *, principal: Principal, user_id: str, task_id: int, body: TaskInput
    ) -> Task:
        async with self._service(principal, user_id) as tasks:
            return await tasks.replace(task_id, body)

    async def delete_task(self, *, principal: Principal, user_id: str, task_id: int) -> None:
        async with self._service(principal, user_id) as tasks:
            await tasks.delete(task_id)

    async def toggle_task_completion(
        self, *, principal: Principal, user_id: str, task_id: int
    ) -> Task:
        async with self._service(principal, user_id) as tasks:
            return await tasks.toggle_completion(task_id)
