"""Every task operation as data, so one test can be asked of all of them."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    suffix: str  # after /api/{user_id}/tasks; "{id}" stands for a task id
    body: dict[str, Any] | None = None

    def path(self, user_id: str, task_id: int | str = 1) -> str:
        return f"/api/{user_id}/tasks" + self.suffix.replace("{id}", str(task_id))

    @property
    def names_a_task(self) -> bool:
        return "{id}" in self.suffix


OPERATIONS = (
    Operation("list_tasks", "GET", ""),
    Operation("create_task", "POST", "", {"title": "t"}),
    Operation("get_task", "GET", "/{id}"),
    Operation("replace_task", "PUT", "/{id}", {"title": "t"}),
    Operation("delete_task", "DELETE", "/{id}"),
    Operation("toggle_task_completion", "PATCH", "/{id}/complete"),
)
TASK_OPERATIONS = tuple(op for op in OPERATIONS if op.names_a_task)
BODY_OPERATIONS = tuple(op for op in OPERATIONS if op.body is not None)


def ids(operation: Operation) -> str:
    return operation.operation_id
