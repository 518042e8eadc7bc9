"""Business rules for one user's tasks."""

from generated.documents import Task
from generated.models import TaskInput
from impl.errors import NotFound
from impl.tasks.repository import TaskRepository


class TaskNotFound(NotFound):
    """Also what another user's task looks like: existence is never revealed."""

    def __init__(self) -> None:
        super().__init__("Task not found.")


class TaskService:
    """Everything a user can do with their tasks; it only ever sees `owner_id`'s rows."""

    def __init__(self, repository: TaskRepository, owner_id: str) -> None:
        self._repository = repository
        self._owner_id = owner_id

    async def list(self) -> list[Task]:
        return await self._repository.list(self._owner_id)

    async def create(self, fields: TaskInput) -> Task:
        return await self._repository.add(self._owner_id, fields.title, fields.description)

    async def get(self, task_id: int) -> Task:
        return _found(await self._repository.get(self._owner_id, task_id))

    async def replace(self, task_id: int, fields: TaskInput) -> Task:
        return _found(
            await self._repository.replace(
                self._owner_id, task_id, fields.title, fields.description
            )
        )

    async def toggle_completion(self, task_id: int) -> Task:
        return _found(await self._repository.toggle_completion(self._owner_id, task_id))

    async def delete(self, task_id: int) -> None:
        if not await self._repository.delete(self._owner_id, task_id):
            raise TaskNotFound


def _found(task: Task | None) -> Task:
    if task is None:
        raise TaskNotFound
    return task
