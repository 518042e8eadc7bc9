"""All SQL for tasks. Every statement is filtered by the owner's user id."""

from typing import Any

from sqlalchemy import Row, delete, func, insert, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from generated.models import Task
from impl.tasks.table import TaskRecord

tasks = SQLModel.metadata.tables[TaskRecord.__tablename__]
TASK_COLUMNS = (
    tasks.c.id,
    tasks.c.user_id,
    tasks.c.title,
    tasks.c.description,
    tasks.c.completed,
    tasks.c.created_at,
    tasks.c.updated_at,
)


def _task(row: Row[*tuple[Any, ...]]) -> Task:
    return Task.model_validate(row._asdict())


class TaskRepository:
    """Reads and writes one user's rows of `tasks` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def list(self, user_id: str) -> list[Task]:
        """Newest first; served by the primary key (user_id, id) read backwards."""
        result = await self._session.execute(
            select(*TASK_COLUMNS).where(tasks.c.user_id == user_id).order_by(tasks.c.id.desc())
        )
        return [_task(row) for row in result]

    async def get(self, user_id: str, task_id: int) -> Task | None:
        result = await self._session.execute(
            select(*TASK_COLUMNS).where(tasks.c.user_id == user_id, tasks.c.id == task_id)
        )
        row = result.one_or_none()
        return None if row is None else _task(row)

    async def add(self, user_id: str, title: str, description: str | None) -> Task:
        result = await self._session.execute(
            insert(tasks)
            .values(user_id=user_id, title=title, description=description)
            .returning(*TASK_COLUMNS)
        )
        return _task(result.one())

    async def replace(
        self, user_id: str, task_id: int, title: str, description: str | None
    ) -> Task | None:
        return await self._update(
            user_id, task_id, title=title, description=description, updated_at=func.now()
        )

    async def toggle_completion(self, user_id: str, task_id: int) -> Task | None:
        """Flips `completed` in one statement, so concurrent toggles never lose an update."""
        return await self._update(
            user_id, task_id, completed=not_(tasks.c.completed), updated_at=func.now()
        )

    async def delete(self, user_id: str, task_id: int) -> bool:
        result = await self._session.execute(
            delete(tasks)
            .where(tasks.c.user_id == user_id, tasks.c.id == task_id)
            .returning(tasks.c.id)
        )
        return result.one_or_none() is not None

    async def _update(self, user_id: str, task_id: int, **values: Any) -> Task | None:
        result = await self._session.execute(
            update(tasks)
            .where(tasks.c.user_id == user_id, tasks.c.id == task_id)
            .values(**values)
            .returning(*TASK_COLUMNS)
        )
        row = result.one_or_none()
        return None if row is None else _task(row)
