"""Business rules for one user's tasks: what each operation means, on top of the repository."""

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

import orjson
from pydantic import MISSING

from generated.documents import (
    Task,
    TaskChanges,
    TaskList,
    TaskOccurrence,
    TaskOccurrencePage,
    TodoList,
)
from generated.models import DueInput, ParentId, RecurrenceInput, TaskInput, TaskMove, TaskPatch
from impl.dates.due import DateRefused, Due, due_from_body, due_of_instant, stored_due
from impl.dates.reminders import moved_reminders, stored_reminders
from impl.dates.series import advance, check_occurs, stored_recurrence
from impl.dates.zones import Clock
from impl.errors import ApiError, ErrorCode, InvalidToken, invalid_cursor
from impl.idempotency import IdempotencyKeyReused
from impl.json import dumps
from impl.moves import NeighbourNotThere, neighbours
from impl.ordering import NeighbourMissing, Place
from impl.signing import TokenSigner
from impl.stored_text import MAX_LENGTHS, LongerInNfc, stored_text
from impl.tasks.listing import PageStart, Sort, TaskFilter
from impl.tasks.queries import TASK_KIND
from impl.tasks.repository import (
    UTC_CLOCK,
    ChangeKey,
    Destination,
    ListMissing,
    NewFields,
    OccurrencePlan,
    ParentIsSubtask,
    ParentMissing,
    Snapshot,
    TaskRepository,
    TooDeep,
)
from impl.tasks.subtasks import MAX_DEPTH
from impl.tasks.tags import normalize_tags
from impl.trash.answers import restored
from impl.trash.repository import TaskLimit, TrashWriter
from impl.versioned import Outcome, Vocabulary, precondition_failed


class TaskNotFound(ApiError):
    """Also what another user's task looks like: existence is never revealed."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.NOT_FOUND, "Task not found.")


class TaskLimitReached(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(ErrorCode.TASK_LIMIT_REACHED, details={"limit": limit})


class SyncTokenExpired(ApiError):
    def __init__(self, retention: timedelta) -> None:
        super().__init__(
            ErrorCode.SYNC_TOKEN_EXPIRED, details={"retention_days": retention / timedelta(days=1)}
        )


class NotRecurring(ApiError):
    def __init__(self) -> None:
        super().__init__(ErrorCode.NOT_RECURRING)


class RecurrenceWithoutDue(DateRefused):
    def __init__(self) -> None:
        super().__init__(("body", "recurrence"), "A recurring task needs a due date", "due_needed")


class ListNotHeld(ApiError):
    """A task written into a list the user does not hold: another user's is no different from
    one that never was."""

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.VALIDATION_FAILED,
            details=[
                {
                    "location": ["body", "list_id"],
                    "message": "No such list",
                    "type": "list_not_found",
                }
            ],
        )


class ParentRefused(ApiError):
    """422 on `parent_id`: not a task of the user (in that list), the task itself or one of its
    subtasks, or nesting deeper than the limit."""

    def __init__(self, message: str) -> None:
        super().__init__(
            ErrorCode.VALIDATION_FAILED,
            details=[{"location": ["body", "parent_id"], "message": message, "type": "parent"}],
        )


def parent_refused(error: Exception) -> ParentRefused:
    match error:
        case TooDeep():
            return ParentRefused(f"Tasks nest at most {MAX_DEPTH} deep")
        case ParentIsSubtask():
            return ParentRefused("A task cannot be under itself or one of its subtasks")
    return ParentRefused("No such task in that list")


TASKS = Vocabulary(not_found=TaskNotFound)
OCCURRENCE_FIELDS = tuple(TaskOccurrence.__annotations__)


@dataclass(frozen=True)
class TaskPolicy:
    """Limits and keys that hold for every user, built once from the settings."""

    max_tasks_per_user: int
    sync_retention: timedelta
    idempotency_key_ttl: timedelta
    cursors: TokenSigner
    sync_tokens: TokenSigner


def sync_token_signer(secret: str) -> TokenSigner:
    """What seals sync tokens: those of `list_task_changes` and of the live events alike."""
    return TokenSigner(secret, "sync token")


def sync_token(signer: TokenSigner, user_id: str, snapshot: Snapshot) -> str:
    """A sync token of the user's that names `snapshot`: the last page of `list_task_changes`
    and the live events issue the same."""
    return signer.sign(user_id, {"s": snapshot.snapshot, "t": snapshot.taken_at.timestamp()})


def task_policy(
    secret: str,
    *,
    max_tasks_per_user: int = 10_000,
    sync_retention: timedelta = timedelta(days=30),
    idempotency_key_ttl: timedelta = timedelta(hours=24),
) -> TaskPolicy:
    """The policy, with the keys of cursors and sync tokens derived from `secret`."""
    return TaskPolicy(
        max_tasks_per_user=max_tasks_per_user,
        sync_retention=sync_retention,
        idempotency_key_ttl=idempotency_key_ttl,
        cursors=TokenSigner(secret, "paging cursor"),
        sync_tokens=sync_token_signer(secret),
    )


@dataclass(frozen=True, slots=True)
class Creation:
    task: Task
    replayed: bool


class TaskWrites(Protocol):
    """Where a service's writes go: each on a connection of its own (`TaskRepository`), or all
    in a caller's transaction (`TaskWriter`)."""

    async def get(self, user_id: str, task_id: int) -> Task | None: ...

    async def add(self, user_id: str, fields: NewFields, cap: int) -> Task | None: ...

    async def replace(
        self, user_id: str, task_id: int, versions: list[int] | None, fields: NewFields
    ) -> Outcome[Task]: ...

    async def update(
        self, user_id: str, task_id: int, versions: list[int] | None, changes: dict[str, Any]
    ) -> Outcome[Task]: ...

    async def toggle_completion(
        self, user_id: str, task_id: int, versions: list[int] | None
    ) -> Outcome[Task]: ...

    async def delete(
        self, user_id: str, task_id: int, versions: list[int] | None
    ) -> Outcome[Task]: ...

    async def move(
        self, user_id: str, task_id: int, versions: list[int] | None, to: Destination
    ) -> Outcome[Task]: ...

    async def advance(self, user_id: str, current: Task, plan: OccurrencePlan) -> Outcome[Task]: ...


# How many times a completion of an occurrence is tried again after another write to the task.
OCCURRENCE_ATTEMPTS = 3


class TaskService:
    """Everything a user can do with their tasks; it only ever sees `owner_id`'s rows.

    Reads and keyed creates go to the repository; writes to `writes` (the repository itself
    unless a caller's transaction holds them).
    """

    def __init__(
        self,
        repository: TaskRepository,
        policy: TaskPolicy,
        owner_id: str,
        writes: TaskWrites | None = None,
        trash: TrashWriter | None = None,
    ) -> None:
        self._repository = repository
        self._writes: TaskWrites = repository if writes is None else writes
        self._trash = trash
        self._policy = policy
        self._owner_id = owner_id

    async def list_page(
        self, task_filter: TaskFilter, sort: Sort, cursor: str | None, limit: int
    ) -> TaskList:
        start = None if cursor is None else self._page_start(cursor, task_filter, sort)
        # One row more than the page tells whether another page follows.
        tasks = await self._repository.list_page(
            self._owner_id, task_filter, sort, start, limit + 1
        )
        if len(tasks) <= limit:
            return {"items": tasks, "next_cursor": None}
        last = tasks[limit - 1]
        key = [last["list_id"], last["position"]] if sort.field == "manual" else last[sort.field]
        claims = {
            "s": str(sort),
            "f": task_filter.fingerprint(),
            "k": _key_claim(key),
            "i": last["id"],
        }
        return {
            "items": tasks[:limit],
            "next_cursor": self._policy.cursors.sign(self._owner_id, claims),
        }

    def _page_start(self, cursor: str, task_filter: TaskFilter, sort: Sort) -> PageStart:
        claims = self._policy.cursors.verify(self._owner_id, cursor)
        if claims is None:
            raise invalid_cursor()
        if claims.get("s") != str(sort) or claims.get("f") != task_filter.fingerprint():
            raise invalid_cursor("The cursor was issued for other filters or another sort.")
        key = claims["k"]
        if sort.field in ("created_at", "updated_at", "due_at") and key is not None:
            key = datetime.fromisoformat(key)
        elif sort.field == "manual":
            key = orjson.dumps(key).decode()
        return PageStart(key, int(claims["i"]))

    async def create(self, body: TaskInput, idempotency_key: str | None) -> Creation:
        try:
            return await self._create(new_fields(body), idempotency_key)
        except ListMissing:
            raise ListNotHeld from None
        except (ParentMissing, TooDeep) as refused:
            raise parent_refused(refused) from None

    async def _create(self, fields: NewFields, idempotency_key: str | None) -> Creation:
        cap = self._policy.max_tasks_per_user
        if idempotency_key is None:
            task = await self._writes.add(self._owner_id, fields, cap)
            return Creation(self._room_was_left(task), replayed=False)
        request_hash = create_fingerprint(fields)
        earlier, task = await self._repository.add_once(
            self._owner_id,
            idempotency_key,
            request_hash,
            fields,
            cap,
            self._policy.idempotency_key_ttl,
            dumps,
        )
        if earlier is None:
            return Creation(self._room_was_left(task), replayed=False)
        if earlier.request_hash != request_hash:
            raise IdempotencyKeyReused
        return Creation(orjson.loads(earlier.response), replayed=True)

    def _room_was_left(self, task: Task | None) -> Task:
        if task is None:
            raise TaskLimitReached(self._policy.max_tasks_per_user)
        return task

    async def get(self, task_id: int) -> Task:
        return TASKS.found(await self._writes.get(self._owner_id, task_id))

    async def replace(self, task_id: int, if_match: list[int] | None, body: TaskInput) -> Task:
        try:
            outcome = await self._writes.replace(
                self._owner_id, task_id, if_match, new_fields(body)
            )
        except ListMissing:
            raise ListNotHeld from None
        return TASKS.answer(outcome, if_match)

    async def update(self, task_id: int, if_match: list[int] | None, patch: TaskPatch) -> Task:
        changes = patched_fields(patch)
        if changes.get("recurrence") is not None and "due" not in changes:
            current = TASKS.found(await self._writes.get(self._owner_id, task_id))
            if current["due"] is not None:
                due = stored_due(cast(dict[str, Any], current["due"]))
                check_occurs(changes["recurrence"], due, UTC_CLOCK, ("body", "recurrence"))
        if not changes:
            unchanged = await self._writes.get(self._owner_id, task_id)
            return TASKS.answer(Outcome(written=False, current=unchanged), if_match)
        arrived = datetime.now(UTC)
        outcome = await self._write_update(task_id, if_match, changes)
        task = outcome.current
        if not outcome.written and changes.get("completed") is True and _occurs(task, if_match):
            # A recurring task: the other changes, then the completion of its occurrence.
            others = {name: value for name, value in changes.items() if name != "completed"}
            recurring = TASKS.found(task)
            if others:
                recurring = await self._update(task_id, if_match, others)
            return await self._done(recurring, [recurring["version"]], "completed", False, arrived)
        if changes.keys() == {"completed"} and await self._done_before(task, if_match, "completed"):
            return cast(Task, task)
        return _updated(outcome, if_match, changes)

    async def _update(
        self, task_id: int, if_match: list[int] | None, changes: dict[str, Any]
    ) -> Task:
        return _updated(await self._write_update(task_id, if_match, changes), if_match, changes)

    async def _write_update(
        self, task_id: int, if_match: list[int] | None, changes: dict[str, Any]
    ) -> Outcome[Task]:
        try:
            return await self._writes.update(self._owner_id, task_id, if_match, changes)
        except ListMissing:
            raise ListNotHeld from None

    async def set_completion(
        self,
        task_id: int,
        if_match: list[int] | None,
        completed: bool | None,
        series: bool = False,
    ) -> Task:
        """`completed` None toggles; a value sets it (a no-op when the task already has it).
        Completing a recurring task completes its occurrence (`series`: the whole series)."""
        arrived = datetime.now(UTC)
        if completed is None:
            outcome = await self._writes.toggle_completion(self._owner_id, task_id, if_match)
        else:
            outcome = await self._writes.update(
                self._owner_id, task_id, if_match, {"completed": completed}
            )
        current = outcome.current
        if not outcome.written and completed is not False:
            if _occurs(current, if_match):
                return await self._done(cast(Task, current), if_match, "completed", series, arrived)
            if await self._done_before(current, if_match, "completed"):
                return cast(Task, current)
        return TASKS.answer(outcome, if_match)

    async def skip(self, task_id: int, if_match: list[int] | None) -> Task:
        """The task moved to its next occurrence, the current one recorded as skipped."""
        arrived = datetime.now(UTC)
        current = TASKS.found(await self._writes.get(self._owner_id, task_id))
        if if_match is not None and current["version"] not in if_match:
            if await self._done_before(current, if_match, "skipped"):
                return current
            raise precondition_failed(current, TASKS.changed)
        if not _occurs(current, if_match):
            raise NotRecurring
        return await self._done(current, if_match, "skipped", False, arrived)

    async def _done_before(
        self, current: Task | None, if_match: list[int] | None, outcome: str
    ) -> bool:
        """Whether the occurrence that the request's If-Match saw was already completed or
        skipped (`outcome`) by another request, such as a double tap or a second tab: the
        request then changes nothing more and is answered with the task as it is."""
        if current is None or current["recurrence"] is None or if_match is None:
            return False
        if current["version"] in if_match:
            return False
        return await self._repository.done_from(self._owner_id, current["id"], if_match, outcome)

    async def _done(
        self,
        current: Task,
        if_match: list[int] | None,
        outcome: str,
        series: bool,
        arrived: datetime,
    ) -> Task:
        """The current occurrence of `current` completed or skipped (`outcome`), the task moved
        to the next one; when there is none, or for the whole `series`, completed.

        A request done at the same time as another's does not do a second occurrence: one done
        after this request `arrived` was done by a request its sender could not have seen, and
        two at once, such as a double tap, mean one. The task is answered as that one left it.
        """
        if await self._repository.done_since(self._owner_id, current["id"], arrived):
            return TASKS.found(await self._writes.get(self._owner_id, current["id"]))
        for _ in range(OCCURRENCE_ATTEMPTS):
            plan = _next_of(current, outcome, series)
            written = await self._writes.advance(self._owner_id, current, plan)
            if written.written:
                return cast(Task, written.current)
            fresh = TASKS.found(written.current)
            if fresh["due"] != current["due"] or fresh["completed"]:
                return fresh
            if not _occurs(fresh, if_match):
                return TASKS.answer(Outcome(written=False, current=fresh), if_match)
            current = fresh
        raise precondition_failed(current, TASKS.changed)

    async def occurrences(self, task_id: int, cursor: str | None, limit: int) -> TaskOccurrencePage:
        after = None
        if cursor is not None:
            claims = self._policy.cursors.verify(self._owner_id, cursor)
            if claims is None or claims.get("t") != task_id or "o" not in claims:
                raise invalid_cursor()
            after = int(claims["o"])
        found = await self._repository.occurrences(self._owner_id, task_id, after, limit + 1)
        if found is None:
            raise TaskNotFound
        page = found[:limit]
        next_cursor = None
        if len(found) > limit:
            claims = {"t": task_id, "o": page[-1]["id"]}
            next_cursor = self._policy.cursors.sign(self._owner_id, claims)
        items = [
            cast(TaskOccurrence, {name: item[name] for name in OCCURRENCE_FIELDS}) for item in page
        ]
        return {"items": items, "next_cursor": next_cursor}

    async def move(self, task_id: int, if_match: list[int] | None, body: TaskMove) -> Task:
        after, before = neighbours(body, task_id)
        list_id = None if body.list_id is MISSING else int(body.list_id)
        parent_named = "parent_id" in body.model_fields_set
        parent = body.parent_id.root if isinstance(body.parent_id, ParentId) else None
        to = Destination(list_id, Place(after, before), parent_named, parent)
        try:
            outcome = await self._writes.move(self._owner_id, task_id, if_match, to)
        except ListMissing:
            raise ListNotHeld from None
        except (ParentMissing, ParentIsSubtask, TooDeep) as refused:
            raise parent_refused(refused) from None
        except NeighbourMissing as missing:
            raise NeighbourNotThere(missing.field) from None
        return TASKS.answer(outcome, if_match)

    async def delete(self, task_id: int, if_match: list[int] | None) -> None:
        TASKS.deleted(await self._writes.delete(self._owner_id, task_id, if_match))

    async def restore(self, task_id: int, if_match: list[int] | None) -> Task:
        """The task back from the trash, with the subtasks deleted with it, by the writer of
        the caller's transaction (a batch's undo of its deletions)."""
        assert self._trash is not None, "a restore writes in a batch's transaction"
        cap = self._policy.max_tasks_per_user
        try:
            outcome = await self._trash.restore_task(self._owner_id, task_id, if_match, cap)
        except TaskLimit:
            raise TaskLimitReached(cap) from None
        return cast(Task, restored(outcome))

    async def changes(self, since: str | None, cursor: str | None, limit: int) -> TaskChanges:
        since_snapshot = None if since is None else self._since(since)
        upper: Snapshot | None = None
        start: ChangeKey | None = None
        if cursor is not None:
            upper, start = self._changes_start(cursor, since_snapshot)
        upper, changes = await self._repository.changes(
            self._owner_id, upper, since_snapshot, start, limit + 1
        )
        page = changes[:limit]
        tasks = [change for change in page if not change.of_a_list]
        lists = [change for change in page if change.of_a_list]
        answer: TaskChanges = {
            "items": [cast(Task, change.item) for change in tasks if change.item is not None],
            "deleted": [change.key.item_id for change in tasks if change.item is None],
            "lists": [cast(TodoList, change.item) for change in lists if change.item is not None],
            "deleted_lists": [change.key.item_id for change in lists if change.item is None],
            "next_cursor": None,
            "sync_token": None,
        }
        if len(changes) <= limit:
            answer["sync_token"] = sync_token(self._policy.sync_tokens, self._owner_id, upper)
            return answer
        last = page[-1].key
        claims = {
            "u": upper.snapshot,
            "t": upper.taken_at.timestamp(),
            "p": since_snapshot,
            "x": last.xid,
            "k": last.kind,
            "i": last.item_id,
        }
        answer["next_cursor"] = self._policy.cursors.sign(self._owner_id, claims)
        return answer

    def _since(self, token: str) -> str:
        claims = self._policy.sync_tokens.verify(self._owner_id, token)
        if claims is None:
            raise InvalidToken(ErrorCode.INVALID_SYNC_TOKEN, "since")
        self._check_age(float(claims["t"]))
        return str(claims["s"])

    def _changes_start(self, cursor: str, since_snapshot: str | None) -> tuple[Snapshot, ChangeKey]:
        claims = self._policy.cursors.verify(self._owner_id, cursor)
        if claims is None or "u" not in claims:
            raise invalid_cursor()
        if claims["p"] != since_snapshot:
            raise invalid_cursor("The cursor was issued for another `since`.")
        taken_at = datetime.fromtimestamp(float(claims["t"]), UTC)
        # A cursor issued before lists existed stood among tasks.
        kind = int(claims.get("k", TASK_KIND))
        start = ChangeKey(str(claims["x"]), kind, int(claims["i"]))
        return Snapshot(str(claims["u"]), taken_at), start

    def _check_age(self, issued_at: float) -> None:
        retention = self._policy.sync_retention
        if time.time() - issued_at > retention.total_seconds():
            raise SyncTokenExpired(retention)


def _key_claim(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def new_fields(body: TaskInput) -> NewFields:
    """The fields of a task as they are stored, from a body of it; refused if one is not."""
    due = body_due(body.due, body.due_at, body.model_fields_set)[1]
    recurrence = body_recurrence(body.recurrence)
    if recurrence is not None:
        if due is None:
            raise RecurrenceWithoutDue
        check_occurs(recurrence, due, UTC_CLOCK, ("body", "recurrence"))
    return NewFields(
        title=stored_text("title", body.title),
        description=None
        if body.description is None
        else stored_text("description", body.description),
        priority=str(body.priority),
        tags=_stored_tags(tag.root for tag in body.tags),
        due=due,
        recurrence=recurrence,
        reminders=stored_reminders(body.reminders, ("body", "reminders")),
        list_id=None if body.list_id is MISSING else body.list_id,
        parent_id=None if body.parent_id is MISSING else body.parent_id,
    )


def patched_fields(patch: TaskPatch) -> dict[str, Any]:
    """The fields a patch sets, by name (of PATCHABLE), as they are stored; refused if one is
    not."""
    changes: dict[str, Any] = {name: getattr(patch, name) for name in patch.model_fields_set}
    sets_due, due = body_due(patch.due, patch.due_at, patch.model_fields_set)
    changes.pop("due_at", None)
    if sets_due:
        changes["due"] = due
    if "title" in changes:
        changes["title"] = stored_text("title", changes["title"])
    if changes.get("description") is not None:
        changes["description"] = stored_text("description", changes["description"])
    if "tags" in changes:
        changes["tags"] = _stored_tags(tag.root for tag in changes["tags"])
    if "priority" in changes:
        changes["priority"] = str(changes["priority"])
    if "list_id" in changes:
        changes["list_id"] = int(changes["list_id"])
    if "recurrence" in changes:
        changes["recurrence"] = body_recurrence(changes["recurrence"])
    if "reminders" in changes:
        changes["reminders"] = stored_reminders(changes["reminders"], ("body", "reminders"))
    if changes.get("recurrence") is not None and changes.get("due", True) is None:
        raise RecurrenceWithoutDue
    if isinstance(changes.get("due"), Due) and changes.get("recurrence") is not None:
        check_occurs(changes["recurrence"], changes["due"], UTC_CLOCK, ("body", "recurrence"))
    return changes


def body_recurrence(recurrence: object) -> dict[str, Any] | None:
    """A `RecurrenceInput` as stored (its rule in canonical form); 422 on a rule outside the
    subset."""
    if not isinstance(recurrence, RecurrenceInput):
        return None
    return stored_recurrence(recurrence.rule, str(recurrence.from_), ("body", "recurrence"))


def _next_of(current: Task, outcome: str, series: bool) -> OccurrencePlan:
    """What doing `current`'s occurrence changes, given the clock of its due date: the next
    occurrence's due date and rule (its `at` reminders moved as much as its due date), or the
    completion of the task when there is none or the whole `series` is done; and the
    occurrence's `outcome`."""

    def plan(clock: Clock) -> tuple[dict[str, Any], str]:
        if series:
            return {"completed": True}, outcome
        due = stored_due(cast(dict[str, Any], current["due"]))
        recurrence = cast(dict[str, Any], current["recurrence"])
        step = advance(due, recurrence, clock, datetime.now(UTC))
        if step.due is None:
            return {"completed": True}, outcome
        changes: dict[str, Any] = {"due": step.due, "recurrence": step.recurrence}
        reminders = current["reminders"]
        if any(reminder["at"] is not None for reminder in reminders):
            by = step.due.instants(clock)[0] - cast(datetime, current["due_at"])
            changes["reminders"] = moved_reminders(reminders, by)
        return changes, outcome

    return plan


def _occurs(task: Task | None, if_match: list[int] | None) -> bool:
    """Whether `task` is a pending recurring task that If-Match allows writing."""
    if task is None or task["recurrence"] is None or task["completed"]:
        return False
    return if_match is None or task["version"] in if_match


def _updated(outcome: Outcome[Task], if_match: list[int] | None, changes: dict[str, Any]) -> Task:
    """The answer to an update's write: 422 if it was not made because it would leave a
    recurring task without a due date, else as any write's."""
    if not outcome.written and outcome.current is not None:
        _keeps_a_due_if_recurring(outcome.current, changes)
    return TASKS.answer(outcome, if_match)


def _keeps_a_due_if_recurring(current: Task, changes: dict[str, Any]) -> None:
    """422 if `changes` would leave `current` recurring without a due date (the write, which
    holds to that, was not made)."""
    recurrence = changes["recurrence"] if "recurrence" in changes else current["recurrence"]
    due = changes["due"] if "due" in changes else current["due"]
    if recurrence is not None and due is None:
        raise RecurrenceWithoutDue


def body_due(due: object, due_at: object, named: set[str]) -> tuple[bool, Due | None]:
    """Whether a body sets the due date (in either of its members), and to what."""
    if "due" in named and "due_at" in named and (due is not None or due_at is not None):
        raise DateRefused(("body", "due_at"), "Set `due` or `due_at`, not both", "due_and_due_at")
    if "due" in named:
        if not isinstance(due, DueInput):
            return True, None
        time_of_day = None if due.time in (None, MISSING) else cast(Any, due.time).root
        zone = None if due.time_zone in (None, MISSING) else cast(Any, due.time_zone).root
        return True, due_from_body(due.date, time_of_day, zone, ("body", "due"))
    if "due_at" in named:
        return True, due_of_instant(due_at) if isinstance(due_at, datetime) else None
    return False, None


def _stored_tags(tags: Iterable[str]) -> list[str]:
    """Tags as stored: normalized, each once, each within the limit of a stored `Tag`."""
    stored = normalize_tags(tags)
    if any(len(tag) > MAX_LENGTHS["tags"] for tag in stored):
        raise LongerInNfc("tags", MAX_LENGTHS["tags"])
    return stored


def create_fingerprint(fields: NewFields) -> bytes:
    """Equal for requests that create the same task, however the body spelled it."""
    due = fields.due
    # A due date as `due_at` hashes as before `due` existed, so that a key's retry matches.
    due_at = None
    if due is not None and due.zone_name == "UTC" and due.time_of_day is not None:
        due_at = due.local().replace(tzinfo=UTC).isoformat()
    canonical: list[Any] = [fields.title, fields.description, fields.priority, fields.tags, due_at]
    if due is not None and due_at is None:
        canonical.append({"due": due.document()})
    if fields.recurrence is not None:
        canonical.append({"recurrence": fields.recurrence})
    if fields.reminders:
        canonical.append({"reminders": fields.reminders})
    # Appended only when named, so that a key stored before lists existed matches its retry.
    if fields.list_id is not None or fields.parent_id is not None:
        canonical.append({"list_id": fields.list_id, "parent_id": fields.parent_id})
    return hashlib.sha256(orjson.dumps(canonical)).digest()
