"""A user's history of tasks: a task's versions, the user's activity, a version made current."""

from datetime import datetime
from typing import Any, cast

from contract_runtime.formats import LATEST
from generated.documents import Task, TaskVersion, TaskVersionPage
from generated.models import TaskPatch
from impl.errors import ApiError, ErrorCode, invalid_cursor
from impl.history.repository import Entry, HistoryRepository, Position
from impl.tasks.repository import TaskRepository
from impl.tasks.service import TaskNotFound, TaskPolicy, TaskService

# Before every entry, newest first.
FIRST = Position(LATEST, 2**63 - 1, 2**63 - 1, 0)
# What making a version current sets: the task's content, not its place.
CONTENT = ("title", "description", "priority", "tags", "due", "recurrence", "reminders")


class VersionNotFound(ApiError):
    def __init__(self) -> None:
        super().__init__(ErrorCode.NOT_FOUND, "No such version of the task.")


class HistoryService:
    def __init__(
        self,
        repository: HistoryRepository,
        tasks: TaskRepository,
        policy: TaskPolicy,
        owner_id: str,
    ) -> None:
        self._repository = repository
        self._tasks = tasks
        self._policy = policy
        self._owner_id = owner_id

    async def versions(self, task_id: int, cursor: str | None, limit: int) -> TaskVersionPage:
        start = FIRST
        if cursor is not None:
            claims = self._verified(cursor, {"t", "v", "d"})
            if claims["t"] != task_id:
                raise invalid_cursor("The cursor was issued for another task.")
            start = Position(LATEST, task_id, int(claims["v"]), int(claims["d"]))
        found = await self._repository.versions(self._owner_id, task_id, start, limit + 1)
        if found is None:
            raise TaskNotFound
        return self._page(
            found, limit, lambda last: {"t": task_id, "v": last.version, "d": last.deleted}
        )

    async def activity(self, cursor: str | None, limit: int) -> TaskVersionPage:
        start = FIRST
        if cursor is not None:
            claims = self._verified(cursor, {"a", "t", "v", "d"})
            start = Position(
                datetime.fromisoformat(str(claims["a"])),
                int(claims["t"]),
                int(claims["v"]),
                int(claims["d"]),
            )
        found = await self._repository.activity(self._owner_id, start, limit + 1)
        return self._page(
            found,
            limit,
            lambda last: {
                "a": last.recorded_at.isoformat(),
                "t": last.task_id,
                "v": last.version,
                "d": last.deleted,
            },
        )

    async def restore(self, task_id: int, version: int, if_match: list[int] | None) -> Task:
        """The task's content as it was at `version`, written as any edit is."""
        old = await self._repository.version(self._owner_id, task_id, version)
        if old is None:
            raise VersionNotFound
        stored: dict[str, Any] = dict(old)
        content = {name: stored[name] for name in CONTENT}
        # A reminder is sent as its rule: the server computes when it fires.
        content["reminders"] = [
            {key: value for key, value in rule.items() if key != "fires_at" and value is not None}
            for rule in stored["reminders"]
        ]
        if stored["recurrence"] is None:
            content["completed"] = stored["completed"]
        tasks = TaskService(self._tasks, self._policy, self._owner_id)
        return await tasks.update(task_id, if_match, TaskPatch.model_validate(content))

    def _verified(self, cursor: str, keys: set[str]) -> dict[str, Any]:
        claims = self._policy.cursors.verify(self._owner_id, cursor)
        if claims is None or claims.keys() != keys:
            raise invalid_cursor()
        return claims

    def _page(self, found: list[Entry], limit: int, claims_of: Any) -> TaskVersionPage:
        page = found[:limit]
        next_cursor = None
        if len(found) > limit:
            next_cursor = self._policy.cursors.sign(self._owner_id, claims_of(page[-1].position))
        items = [
            cast(
                TaskVersion,
                {
                    "version": entry.position.version,
                    "change": entry.change,
                    "changed": entry.changed,
                    "recorded_at": entry.position.recorded_at,
                    "task": entry.task,
                },
            )
            for entry in page
        ]
        return {"items": items, "next_cursor": next_cursor}
