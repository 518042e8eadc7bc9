"""Several task operations in one request and one transaction (`POST /tasks/batch`, ADR 0017).

Each operation means what its own request means: it goes through the same `TaskService`, whose
writes go to the batch's transaction. A refused operation changes nothing (a write raises
before it writes), so without `atomic` the others are kept; with it, the first refusal rolls
everything back. Consecutive operations of one kind that cannot interact are written together,
one statement for the run (impl/tasks/many.py), and answered as one at a time would answer.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

import orjson
from pydantic import MISSING

from contract_runtime.answers import Replayable
from generated.documents import Task, TaskBatchOperationResult, TaskBatchResult
from generated.models import (
    BatchComplete,
    BatchCreate,
    BatchDelete,
    BatchMove,
    BatchRestore,
    BatchUpdate,
    TaskBatch,
    TaskPatch,
)
from impl.errors import ApiError, ErrorCode
from impl.idempotency import IdempotencyKeyReused, KeyedRequest
from impl.json import dumps
from impl.moves import NeighbourNotThere, neighbours
from impl.ordering import NeighbourMissing
from impl.tasks.many import EDITABLE, Beside, Named
from impl.tasks.repository import NewFields, TaskRepository, TaskWriter
from impl.tasks.service import (
    TASKS,
    ListNotHeld,
    TaskLimitReached,
    TaskPolicy,
    TaskService,
    new_fields,
    patched_fields,
)
from impl.trash.repository import TrashWriter
from impl.versioned import Outcome, allowed_versions

Operation = BatchCreate | BatchUpdate | BatchComplete | BatchMove | BatchDelete | BatchRestore
# The kind of a run of moves each right after or before a neighbour in the task's own order.
BESIDE = "beside"
T = TypeVar("T")


class NotApplied(ApiError):
    """An operation of an atomic batch that another operation's failure rolled back, or that
    never ran because of it."""

    def __init__(self, failed_index: int) -> None:
        super().__init__(
            ErrorCode.NOT_APPLIED,
            f"Not applied: operation {failed_index} of this atomic batch failed.",
            details={"failed_index": failed_index},
        )


class TaskBatchService:
    """Runs one user's batches: `owner_id`'s tasks only, as `TaskService` is scoped."""

    def __init__(self, repository: TaskRepository, policy: TaskPolicy, owner_id: str) -> None:
        self._repository = repository
        self._policy = policy
        self._owner_id = owner_id

    async def run(
        self, batch: TaskBatch, idempotency_key: str | None
    ) -> Replayable[TaskBatchResult]:
        keyed = None
        if idempotency_key is not None:
            lifetime = self._policy.idempotency_key_ttl
            keyed = KeyedRequest(idempotency_key, _fingerprint(batch), lifetime, dumps)

        async def apply(writer: TaskWriter) -> tuple[TaskBatchResult, bool]:
            answer = await self._apply(batch, writer)
            return answer, answer["applied"]

        earlier, answer = await self._repository.in_one_transaction(self._owner_id, apply, keyed)
        if earlier is None:
            return Replayable(answer)
        assert keyed is not None, "only a key holds an earlier answer"
        if earlier.request_hash != keyed.request_hash:
            raise IdempotencyKeyReused
        return Replayable(orjson.loads(earlier.response), replayed=True)

    async def _apply(self, batch: TaskBatch, writer: TaskWriter) -> TaskBatchResult:
        await writer.take_batch_turn(self._owner_id)
        operations = batch.operations
        held = await writer.hold_lists(self._owner_id, set(_lists_written_into(operations)))
        trash = TrashWriter(writer.connection)
        tasks = TaskService(
            self._repository, self._policy, self._owner_id, writes=writer, trash=trash
        )
        results: list[TaskBatchOperationResult] = []
        while len(results) < len(operations):
            start = len(results)
            answers = await self._apply_as_one(tasks, writer, _run_from(operations, start), held)
            if answers is None:
                answers = [await _attempt(tasks, operations[start], held)]
            for index, answer in enumerate(answers, start):
                if isinstance(answer, ApiError):
                    results.append(_refused(answer, index, operations[index].op))
                    if batch.atomic:
                        return _rolled_back(results, index, len(operations))
                else:
                    results.append(answer)
        return {"applied": True, "results": results}

    async def _create_all(
        self, writer: TaskWriter, run: list[Operation], held: set[int]
    ) -> list[TaskBatchOperationResult | ApiError] | None:
        prepared = [_or_refusal(_new_fields, operation, held) for operation in run]
        fields = [item for item in prepared if isinstance(item, NewFields)]
        cap = self._policy.max_tasks_per_user
        created = await writer.add_all(self._owner_id, fields, cap)
        if created is None:
            return None
        answers: list[TaskBatchOperationResult | ApiError] = [
            TaskLimitReached(cap) if task is None else {"status": 201, "task": task}
            for task in created
        ]
        return _in_place(prepared, answers)

    async def _update_all(
        self, writer: TaskWriter, run: list[Operation]
    ) -> list[TaskBatchOperationResult | ApiError]:
        prepared = [_or_refusal(_named_changes, operation) for operation in run]
        valid = [item for item in prepared if not isinstance(item, ApiError)]
        named = [task for task, _ in valid]
        outcomes = await writer.update_all(self._owner_id, named, [changes for _, changes in valid])
        answers = [
            _or_refusal(_written, outcome, task)
            for outcome, task in zip(outcomes, named, strict=True)
        ]
        return _in_place(prepared, answers)

    async def _move_all_beside(
        self, writer: TaskWriter, run: list[Operation]
    ) -> list[TaskBatchOperationResult | ApiError] | None:
        prepared = [_or_refusal(_beside, operation) for operation in run]
        valid = [item for item in prepared if isinstance(item, Beside)]
        moved = await writer.move_all_beside(self._owner_id, valid)
        if moved is None:
            return None
        answers = [
            NeighbourNotThere(outcome.field)
            if isinstance(outcome, NeighbourMissing)
            else _or_refusal(_written, outcome, move.task)
            for outcome, move in zip(moved, valid, strict=True)
        ]
        return _in_place(prepared, answers)

    async def _apply_as_one(
        self, tasks: TaskService, writer: TaskWriter, run: list[Operation], held: set[int]
    ) -> list[TaskBatchOperationResult | ApiError] | None:
        """The answers of a run of completions, deletions or moves to the end of a list,
        written together; None when they cannot be (fewer than two, one task under another, a
        task in that list already: one at a time then)."""
        if len(run) < 2:
            return None
        if isinstance(run[0], BatchCreate):
            return await self._create_all(writer, run, held)
        if isinstance(run[0], BatchUpdate):
            return await self._update_all(writer, run)
        if _kind(run[0]) == ("move", BESIDE):
            return await self._move_all_beside(writer, run)
        named = [Named(operation.task_id, _versions(operation)) for operation in _acting(run)]
        if await writer.nested(self._owner_id, [task.task_id for task in named]):
            return None
        match run[0]:
            case BatchComplete():
                completions = [op for op in run if isinstance(op, BatchComplete)]
                completed = [op.completed for op in completions]
                outcomes = await writer.set_completions(self._owner_id, named, completed)
                # A recurring task is left alone: its occurrence is completed one at a time.
                return [
                    await _attempt(tasks, operation, held)
                    if _left_to_recur(outcome, operation)
                    else _or_refusal(_written, outcome, task)
                    for outcome, task, operation in zip(outcomes, named, completions, strict=True)
                ]
            case BatchMove(body=body) if isinstance(body.list_id, int):
                moved = await writer.move_all_to_list(self._owner_id, named, body.list_id)
                if moved is None:
                    return None
                outcomes = moved
            case _:
                deleted = await writer.delete_all(self._owner_id, named)
                return [_or_refusal(_deleted, outcome) for outcome in deleted]
        return [
            _or_refusal(_written, outcome, task)
            for outcome, task in zip(outcomes, named, strict=True)
        ]


async def _attempt(
    tasks: TaskService, operation: Operation, held: set[int]
) -> TaskBatchOperationResult | ApiError:
    try:
        return await _apply_one(tasks, operation, held)
    except ApiError as error:
        return error


def _or_refusal(function: Callable[..., T], *arguments: Any) -> T | ApiError:
    """What `function` gives, or the refusal it raises."""
    try:
        return function(*arguments)
    except ApiError as error:
        return error


def _in_place(
    prepared: Sequence[object], answers: Iterable[TaskBatchOperationResult | ApiError]
) -> list[TaskBatchOperationResult | ApiError]:
    """The answers of the operations that were written, in order, with each operation refused
    before (its `prepared` item a refusal) answered by its refusal in its own place."""
    written = iter(answers)
    return [item if isinstance(item, ApiError) else next(written) for item in prepared]


def _named_changes(operation: Operation) -> tuple[Named, dict[str, Any]]:
    assert isinstance(operation, BatchUpdate)
    return Named(operation.task_id, _versions(operation)), patched_fields(operation.body)


def _beside(operation: Operation) -> Beside:
    assert isinstance(operation, BatchMove)
    after, before = neighbours(operation.body, operation.task_id)
    named = Named(operation.task_id, _versions(operation))
    return Beside(named, cast(int, after or before), after is not None)


def _written(outcome: Outcome[Task], task: Named) -> TaskBatchOperationResult:
    return {"status": 200, "task": TASKS.answer(outcome, task.versions)}


def _deleted(outcome: Outcome[Task]) -> TaskBatchOperationResult:
    TASKS.deleted(outcome)
    return {"status": 204}


def _run_from(operations: list[Operation], start: int) -> list[Operation]:
    """The operations from `start` that can be written together, one after another:
    creations at the top level, changes of fields other than the list and the completion,
    completions, deletions, moves to the end of one list, or moves beside a neighbour in the
    task's own order (nothing else in their bodies), each of another task."""
    kind = _kind(operations[start])
    if kind is None:
        return []
    run: list[Operation] = []
    seen: set[int] = set()
    for operation in operations[start:]:
        task_id = getattr(operation, "task_id", None)
        if _kind(operation) != kind or task_id in seen:
            break
        run.append(operation)
        if task_id is not None:
            seen.add(task_id)
    return run


def _kind(operation: Operation) -> tuple[str, int | str | None] | None:
    """What a run of operations written together does; None for one that is written alone."""
    match operation:
        case BatchComplete() | BatchDelete():
            return operation.op, None
        case BatchCreate(body=body) if body.parent_id is MISSING or body.parent_id is None:
            return operation.op, None
        case BatchUpdate(body=body) if body.model_fields_set <= set(EDITABLE) and not (
            _clears_the_due(body)
        ):
            return operation.op, None
        case BatchMove(body=body) if body.model_fields_set == {"list_id"} and isinstance(
            body.list_id, int
        ):
            return operation.op, body.list_id
        case BatchMove(body=body) if body.model_fields_set in ({"after_id"}, {"before_id"}):
            return operation.op, BESIDE
    return None


def _left_to_recur(outcome: Outcome[Task], operation: BatchComplete) -> bool:
    """Whether a completion in a run was not written because its task recurs."""
    current = outcome.current
    return (
        not outcome.written
        and operation.completed
        and current is not None
        and current["recurrence"] is not None
        and not current["completed"]
    )


def _clears_the_due(body: TaskPatch) -> bool:
    """Whether a patch takes the due date away, which a recurring task refuses: written alone,
    where the refusal is answered as its own request would be."""
    named = body.model_fields_set
    return ("due" in named and body.due is None) or ("due_at" in named and body.due_at is None)


def _new_fields(operation: Operation, held: set[int]) -> NewFields:
    """A creation's task as stored; refused if its list is not the user's or a field is not."""
    assert isinstance(operation, BatchCreate)
    if _list_named(operation) not in (None, *held):
        raise ListNotHeld
    return new_fields(operation.body)


def _acting(run: list[Operation]) -> list[BatchComplete | BatchDelete | BatchMove]:
    return [
        operation
        for operation in run
        if isinstance(operation, BatchComplete | BatchDelete | BatchMove)
    ]


async def _apply_one(
    tasks: TaskService, operation: Operation, held: set[int]
) -> TaskBatchOperationResult:
    """The operation's result, as its own request would answer it; a refusal raises."""
    if _list_named(operation) not in (None, *held):
        raise ListNotHeld
    match operation:
        case BatchCreate(body=body):
            creation = await tasks.create(body, None)
            return {"status": 201, "task": creation.task}
        case BatchUpdate(task_id=task_id, body=body):
            task = await tasks.update(task_id, _versions(operation), body)
        case BatchComplete(task_id=task_id, completed=completed):
            task = await tasks.set_completion(task_id, _versions(operation), completed)
        case BatchMove(task_id=task_id, body=body):
            task = await tasks.move(task_id, _versions(operation), body)
        case BatchDelete(task_id=task_id):
            await tasks.delete(task_id, _versions(operation))
            return {"status": 204}
        case BatchRestore(task_id=task_id):
            task = await tasks.restore(task_id, _versions(operation))
    return {"status": 200, "task": task}


def _versions(
    operation: BatchUpdate | BatchComplete | BatchMove | BatchDelete | BatchRestore,
) -> list[int] | None:
    return allowed_versions(None if operation.if_match is MISSING else operation.if_match)


def _list_named(operation: Operation) -> int | None:
    """The list a create or an update writes the task into by its key, if it names one."""
    match operation:
        case BatchCreate(body=body) if body.list_id is not MISSING:
            return int(body.list_id)
        case BatchUpdate(body=body) if isinstance(body.list_id, int):
            return body.list_id
    return None


def _lists_written_into(operations: Iterable[Operation]) -> Iterable[int]:
    for operation in operations:
        list_id = _list_named(operation)
        if list_id is not None:
            yield list_id


def _refused(error: ApiError, index: int, op: str) -> TaskBatchOperationResult:
    """The operation's error, its locations in the body put under the operation's own, as a
    malformed batch's are: its index, then its `op`."""
    details = error.details
    if isinstance(details, list):
        details = [_located(detail, index, op) for detail in details]
    document: Any = error.error.document(error.message, details)
    status: Any = error.error.status
    return {"status": status, "error": document}


def _located(detail: Any, index: int, op: str) -> Any:
    location = detail.get("location") if isinstance(detail, dict) else None
    if not location or location[0] != "body":
        return detail
    return {**detail, "location": ["body", "operations", index, op, *location]}


def _rolled_back(
    results: list[TaskBatchOperationResult], failed_index: int, count: int
) -> TaskBatchResult:
    not_applied = _refused(NotApplied(failed_index), failed_index, "")
    return {
        "applied": False,
        "results": [
            result if index == failed_index else not_applied
            for index, result in enumerate([*results, *[not_applied] * (count - len(results))])
        ],
    }


def _fingerprint(batch: TaskBatch) -> bytes:
    """Equal for batches that ask the same, whatever order their JSON members came in."""
    canonical = batch.model_dump(mode="json", exclude_unset=True)
    return hashlib.sha256(
        b"batch\n" + orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
    ).digest()
