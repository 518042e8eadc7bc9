"""Schemathesis hooks: who the fuzzer is, and the check that strangers are always turned away.

Loaded through SCHEMATHESIS_HOOKS by tests/fuzz/run.py. FUZZ_IDENTITY chooses the caller:

- `owner`: a valid token whose `sub` is the `user_id` in the path, so requests reach the business
  logic (a token is minted per user id the fuzzer draws, negative ones included);
- `stranger`: a valid token for a user that is never the one in the path;
- `anonymous`: no token at all.
"""

import collections
import functools
import itertools
import os
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import schemathesis

from contract_runtime.formats import RFC3339_DATE_TIME, within_the_range
from tests.support.tokens import token_for

IDENTITY = os.environ.get("FUZZ_IDENTITY", "owner")
# The stateful phase chains what its scenarios make through the contract's links: there a step
# sends what its links gave (no cursor left out), and an operation on a task, a deletion or a
# list that the owner has none of names one made for it. The stateless passes name only what
# the owner made: making more there fills the users that the stateful pass, which follows them
# on the same service, then works on, and its scenarios end sooner (63 of them, against 138).
STATEFUL = os.environ.get("FUZZ_PHASES") == "stateful"
BASE_URL = os.environ.get("FUZZ_BASE_URL", "")
# The operations on a task's occurrences and versions, which name a task the owner holds.
OF_A_TASK = (
    "skip_task_occurrence",
    "list_task_occurrences",
    "list_task_versions",
    "restore_task_version",
)
# The operations whose success answers the live task, as it now is.
ANSWER_A_TASK = (
    "create_task",
    "get_task",
    "replace_task",
    "update_task",
    "toggle_task_completion",
    "move_task",
    "skip_task_occurrence",
    "restore_task",
    "restore_task_version",
)
# The operations on the trash, which name a task or list the owner deleted.
OF_THE_TRASH = {
    "restore_task": "task_id",
    "delete_trashed_task": "task_id",
    "restore_list": "list_id",
    "delete_trashed_list": "list_id",
}
# The task operations whose body may name a list, and the moves, whose body may name neighbours.
NAMES_A_LIST = ("create_task", "replace_task", "update_task", "move_task")
MOVES = ("move_task", "move_list")
# A batch operation's `body` is the body of the single operation it stands for.
BATCH_OPERATIONS = {"create": "create_task", "update": "update_task", "move": "move_task"}
IDENTITIES = ("owner", "stranger", "anonymous")
PICKED_INSTANT = "2027-01-08T09:00:00Z"
STRANGERS = ("intruder", "intruder_2")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7E]{1,255}")
# What a client picks from: zones at the ends of the offsets and with summer time, and rules of
# every part of the subset, so that writes reach the zone arithmetic and the expansion (a made-up
# zone or rule is 422, pinned by tests/integration/test_due_dates.py and test_recurring_tasks.py).
ZONES = ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Berlin", "America/New_York")
RULES = (
    "FREQ=DAILY",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;WKST=SU",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3",
    "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1",
    "FREQ=DAILY;UNTIL=99981231T235959Z",
)
# A date of every month and of the years a due date may name (0002 to 9998; a day its month
# lacks, or another year, is 422, pinned by tests/integration/test_due_dates.py).
DUE_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# What an entity tag may not hold between its quotes (RFC 9110, 8.8.3), and the contract's
# longest If-Match or If-None-Match, quotes included.
NOT_ETAGC = re.compile(r"[^\x21\x23-\x7E]")
ENTITY_TAG_MAX_LENGTH = 1024
_case_numbers = itertools.count(1)
# How many cases of each operation have been sent.
_turns: collections.defaultdict[str, Iterator[int]] = collections.defaultdict(itertools.count)
# Every pass fuzzes the same service, each in a process of its own that numbers its cases from
# 1: a key made per case also names its process, or a later pass would send an earlier one's key
# with another body.
_KEYS_OF_THIS_PASS = uuid.uuid4().hex[:12]
# What the owner created, per user id in the path: ids a client would name in later requests.
_created_tasks: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
_created_lists: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
# The owner's tasks that have an occurrence to skip (recurring and not completed), as the last
# answer that showed each one said: an update, a completion or the end of its series takes a
# task out, and skipping it then is 409 `not_recurring`.
_skippable_tasks: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
# What the owner deleted and has not restored or removed, per user id and path parameter.
_trashed: collections.defaultdict[tuple[str, str], list[int]] = collections.defaultdict(list)
if IDENTITY not in IDENTITIES:
    raise ValueError(f"FUZZ_IDENTITY must be one of {IDENTITIES}, not {IDENTITY!r}")


def _path_user_id(case: Any) -> str:
    return str((case.path_parameters or {}).get("user_id", ""))


def _subject_for(user_id: str) -> str:
    if IDENTITY == "owner":
        return user_id
    return next(stranger for stranger in STRANGERS if stranger != user_id)


if IDENTITY != "anonymous":

    @schemathesis.auth(cache_by_key=lambda case, ctx: _path_user_id(case))
    class BearerTokenForPathUser:
        """Mints the token the chosen identity would hold for the user in the path."""

        def get(self, case: Any, ctx: Any) -> str:
            return token_for(_subject_for(_path_user_id(case)))

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.check
def rejects_callers_other_than_the_owner(ctx: Any, response: Any, case: Any) -> bool | None:
    """Without the owner's token, no /api operation succeeds; a well-formed request gets 401/403.

    Which of the two is what was sent: the stranger's bearer token is 403; no token, or an
    Authorization that is no bearer token (the fuzzer now and then generates one in place of the
    stranger's), 401; a bearer token beside a stream token, 400 `invalid_request`.
    """
    if IDENTITY == "owner" or not case.operation.path.startswith("/api/"):
        return None
    status = response.status_code
    if 200 <= status < 300:
        raise AssertionError(f"{case.method} {case.path} answered {status} to a {IDENTITY} caller")
    authorization = response.request.headers.get("Authorization", "")
    bearer = authorization.startswith("Bearer ")
    expected = 403 if IDENTITY == "stranger" and bearer else 401
    if (
        authorization[len("Bearer ") :].strip()
        and bearer
        and "stream_token=" in response.request.url
    ):
        # A bearer token and a stream token (the fuzzer fills the API key in now and then):
        # two credentials at once, refused as RFC 6750 says.
        expected = 400
    well_formed = case.meta is None or case.meta.generation.mode.is_positive
    if well_formed and status != expected:
        raise AssertionError(
            f"{case.method} {case.path} answered {status} to a well-formed request "
            f"from a {IDENTITY} caller; expected {expected}"
        )
    return None


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Send headers as a client would: a key per logical create, and entity tags it could hold.

    - The fuzzer reuses one example Idempotency-Key with different bodies, which the service
      rightly refuses (422); each generated create carries its own key instead (replays are
      pinned by tests/integration/test_idempotency.py). A malformed key is left as it is.
    - A client sends back in If-Match and If-None-Match the entity tags it was given: a
      well-formed one becomes an entity tag (the generated text, quoted), as the contract's
      description says it is; its schema says only "a string", and anything else is 400.
    - A made-up If-Match never names a version the service issued, so every such write is a
      412. Every other well-formed one of an operation (its first included) becomes `*` (any
      current version), so that writes with If-Match also reach the database; the others
      still check the 412s.
    - A list id is one the service issued: a well-formed task body that names a list names the
      owner's Inbox, as a client that read the lists would (one that names none is 422, pinned
      by tests/integration/test_lists.py). A neighbour of a move is one too: a well-formed move
      names none, and puts the item last (made-up neighbours are 422, pinned by
      tests/integration/test_manual_order.py); nor a parent (tests/integration/test_subtasks.py).
      The list is the one the owner created last when it still stands (the stateful chain
      create list -> create task in it -> move -> batch), else the Inbox.
    - A batch's operations are held to the same, and act on tasks the owner created.
    - Every other due date with a zone, and recurrence rule, is one a client's picker offers.
    """
    headers = case.headers or {}
    number = next(_case_numbers)
    _as_a_client_spells_integers(case)
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and IDEMPOTENCY_KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"{key[:200]}.{_KEYS_OF_THIS_PASS}.{number}"
    well_formed = case.meta is None or case.meta.generation.mode.is_positive
    for name in ("If-Match", "If-None-Match"):
        value = headers.get(name)
        if isinstance(value, str) and well_formed:
            opaque = NOT_ETAGC.sub("", value)[: ENTITY_TAG_MAX_LENGTH - 2]
            headers[name] = f'"{opaque}"'
    operation = case.operation.definition.raw.get("operationId")
    # Alternating per operation, so that its first case reaches the database.
    turn = number if STATEFUL else next(_turns[operation])
    if "If-Match" in headers and well_formed and turn % 2 == 0:
        headers["If-Match"] = "*"
    body = case.body
    if IDENTITY == "owner" and well_formed and not STATEFUL:
        _as_a_client_pages(case, turn)
    if IDENTITY == "owner" and well_formed and operation in OF_A_TASK:
        _as_a_client_names_its_task(case, operation, number)
    if IDENTITY == "owner" and well_formed and operation in OF_THE_TRASH:
        _as_a_client_names_its_trash(case, OF_THE_TRASH[operation], number)
    if IDENTITY == "owner" and well_formed and operation == "move_list":
        _as_a_client_names_its_list(case, number)
    if IDENTITY != "owner" or not well_formed or not isinstance(body, dict):
        return
    user_id = _path_user_id(case)
    if operation == "batch_tasks":
        _as_a_client_batches(user_id, body, number)
        return
    _as_a_client_names(operation, user_id, body, number)


def _as_a_client_spells_integers(case: Any) -> None:
    """An integer parameter in decimal digits, as a client's generated code writes one: JSON
    Schema counts `436.0` as an integer, and the fuzzer sends it so, but each resource and
    filter has one spelling (another is 422, pinned by tests/integration/test_bad_input.py)."""
    for parameters in (case.path_parameters, case.query):
        for name, value in (parameters or {}).items():
            if isinstance(value, float) and value.is_integer():
                parameters[name] = int(value)


def _as_a_client_names(operation: str, user_id: str, body: dict[str, Any], number: int) -> None:
    _as_a_client_dates(body, number)
    if operation == "update_settings" and isinstance(body.get("time_zone"), str):
        body["time_zone"] = ZONES[number % len(ZONES)]
    if operation in NAMES_A_LIST and "list_id" in body:
        body["list_id"] = _list_to_write_into(user_id)
    if operation in MOVES:
        body.pop("after_id", None)
        body.pop("before_id", None)
    # A parent is a task the client read; the fuzzer has none it knows of: top level.
    if operation in ("create_task", "move_task") and body.get("parent_id") is not None:
        body.pop("parent_id")


def _as_a_client_pages(case: Any, turn: int) -> None:
    """A made-up cursor never names a page the service issued: every other well-formed one of
    an operation (its first included) is left out, so that the reads reach the database; the
    others still check the 400s (pinned by tests/integration/test_paging.py and the tests of
    each paged operation)."""
    if case.query and "cursor" in case.query and turn % 2 == 0:
        del case.query["cursor"]


def _as_a_client_names_its_task(case: Any, operation: str, number: int) -> None:
    """A task the owner holds, as a client skips, or reads the occurrences or versions of, one
    it holds (one with an occurrence to skip), and its first version, which every task has. In
    the stateful phase one is made when the owner holds none, and in every phase a recurring one
    when the owner holds none to skip: the fuzzer's writes complete tasks and end their series.
    A made-up id is 404, and a task with nothing to skip 409, pinned by
    tests/integration/test_recurring_tasks.py and test_history.py."""
    user_id = _path_user_id(case)
    recurring = operation == "skip_task_occurrence"
    own = (_skippable_tasks if recurring else _created_tasks)[user_id]
    if not own and (STATEFUL or recurring):
        own.append(_new_task(user_id, recurring))
    if own and case.path_parameters is not None:
        case.path_parameters["task_id"] = own[number % len(own)]
        if "version" in case.path_parameters:
            case.path_parameters["version"] = 1


def _as_a_client_names_its_trash(case: Any, parameter: str, number: int) -> None:
    """A task or list the owner deleted, as a client restores one from its trash view; in the
    stateful phase, one is made and deleted when there is none. A made-up id is 404, pinned by
    tests/integration/test_trash.py."""
    user_id = _path_user_id(case)
    trashed = _trashed[(user_id, parameter)]
    if not trashed and STATEFUL:
        trashed.append(_deleted(user_id, "tasks" if parameter == "task_id" else "lists"))
    if trashed and case.path_parameters is not None:
        case.path_parameters[parameter] = trashed[number % len(trashed)]


def _as_a_client_names_its_list(case: Any, number: int) -> None:
    """A list the owner made (in the stateful phase, one is made when it has none), as a client
    moves one it holds; a made-up id is 404, pinned by tests/integration/test_manual_order.py."""
    user_id = _path_user_id(case)
    made = _created_lists[user_id]
    if not made and STATEFUL:
        made.append(_made(user_id, "lists", {"name": "to move"}))
    if made and case.path_parameters is not None:
        case.path_parameters["list_id"] = made[number % len(made)]


def _as_a_client_dates(body: dict[str, Any], number: int) -> None:
    """Dates as a client's pickers make them: a day of the calendar, a zone and a rule it
    offers, a zone only with a time, one of `due` and `due_at`, a repeat only with a due date
    (and gone with it). Each made-up one is 422, pinned by tests/integration/test_due_dates.py
    and test_recurring_tasks.py."""
    due, recurrence = body.get("due"), body.get("recurrence")
    if "due" in body and "due_at" in body:
        body.pop("due_at")
    if body.get("due_at") is not None:
        body["due_at"] = _pickable(body["due_at"])
    if isinstance(due, dict):
        if isinstance(due.get("date"), str) and (found := DUE_DATE.fullmatch(due["date"])):
            year, month, _ = found.groups()
            due["date"] = f"{min(max(int(year), 2), 9998):04d}-{month}-{int(found[3]) % 28 + 1:02d}"
        if due.get("time") is None:
            due.pop("time_zone", None)
        elif isinstance(due.get("time_zone"), str):
            due["time_zone"] = ZONES[number % len(ZONES)]
    if isinstance(recurrence, dict):
        if isinstance(recurrence.get("rule"), str):
            recurrence["rule"] = RULES[number % len(RULES)]
        if due is None and body.get("due_at") is None:
            body.pop("due_at", None)
            body["due"] = {"date": "2027-01-08"}
    cleared = ("due" in body and body["due"] is None) or (
        "due_at" in body and body["due_at"] is None
    )
    if cleared:
        body["recurrence"] = None
    reminders = body.get("reminders")
    if isinstance(reminders, list):
        body["reminders"] = [_as_a_client_reminds(reminder) for reminder in reminders]


def _pickable(instant: Any) -> Any:
    """An instant a client's picker offers: within the years every layer holds, as the
    contract's `DateTime` says (the two ends and beyond are 422, pinned by
    tests/integration/test_date_times.py); another spelling is left as it is."""
    try:
        within_the_range(datetime.fromisoformat(instant))
    except (TypeError, ValueError):
        return PICKED_INSTANT if RFC3339_DATE_TIME.fullmatch(str(instant)) else instant
    return instant


def _as_a_client_reminds(reminder: Any) -> Any:
    """A reminder as a client's picker makes one: at an instant or some minutes before, one of
    the two. One with both or neither is 422, pinned by tests/integration/test_reminders.py."""
    if not isinstance(reminder, dict):
        return reminder
    if reminder.get("at") is not None:
        return {"at": _pickable(reminder["at"])}
    minutes = reminder.get("minutes_before")
    return {"minutes_before": 30 if minutes is None else minutes}


def _as_a_client_batches(user_id: str, body: dict[str, Any], number: int) -> None:
    """A batch's operations name what a client would: its lists as above, and its own tasks
    (those it created, when there are any), so that the operations reach them.

    A deletion names a task made for it, not one the stateful phase may still follow a link
    to: Schemathesis knows of a DELETE on a task's path, not of a batch's, and would take the
    task's absence afterwards for a task lost. One a batch, so that the users' tasks stay far
    below the cap; its other deletions name what the fuzzer drew. A restore names one the
    owner deleted.
    """
    own = _created_tasks[user_id]
    trashed = _trashed[(user_id, "task_id")]
    deletes_made = False
    for index, operation in enumerate(body.get("operations") or []):
        if not isinstance(operation, dict):
            continue
        inner = operation.get("body")
        if isinstance(inner, dict):
            single = BATCH_OPERATIONS.get(str(operation.get("op")), "")
            _as_a_client_names(single, user_id, inner, number + index)
        if "task_id" not in operation:
            continue
        if operation.get("op") == "delete":
            if not deletes_made:
                operation["task_id"] = _task_to_delete(user_id)
                deletes_made = True
        elif operation.get("op") == "restore":
            if trashed:
                operation["task_id"] = trashed[(number + index) % len(trashed)]
        elif own:
            operation["task_id"] = own[(number + index) % len(own)]


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    """Remember the tasks and lists the owner created, deleted, restored and removed for good,
    as a client knows its own."""
    if IDENTITY != "owner":
        return
    user_id = _path_user_id(case)
    operation = case.operation.definition.raw.get("operationId")
    status = response.status_code
    if operation == "create_task" and status == 201:
        _created_tasks[user_id].append(response.json()["id"])
    if operation in ANSWER_A_TASK and status in (200, 201):
        _remember_whether_skippable(user_id, response.json())
    elif operation == "skip_task_occurrence" and status == 409:
        _forget_skippable(user_id, int((case.path_parameters or {})["task_id"]))
    if operation == "create_list" and status == 201:
        _created_lists[user_id].append(response.json()["id"])
    elif operation == "delete_list" and status == 204:
        # A path parameter is sent as the text the fuzzer generated or a link gave.
        list_id = int((case.path_parameters or {})["list_id"])
        if list_id in _created_lists[user_id]:
            _created_lists[user_id].remove(list_id)
    if operation in ("delete_task", "delete_list") and status == 204:
        parameter = "task_id" if operation == "delete_task" else "list_id"
        _trashed[(user_id, parameter)].append(int((case.path_parameters or {})[parameter]))
        if operation == "delete_task":
            _forget_skippable(user_id, int((case.path_parameters or {})["task_id"]))
    elif operation in OF_THE_TRASH and status in (200, 204):
        parameter = OF_THE_TRASH[operation]
        item = int((case.path_parameters or {})[parameter])
        if item in _trashed[(user_id, parameter)]:
            _trashed[(user_id, parameter)].remove(item)
    elif operation == "empty_trash" and status == 204:
        for parameter in ("task_id", "list_id"):
            _trashed[(user_id, parameter)].clear()


def _remember_whether_skippable(user_id: str, task: dict[str, Any]) -> None:
    """Whether the task, as an answer shows it, has an occurrence to skip."""
    if task["recurrence"] is not None and not task["completed"]:
        if task["id"] not in _skippable_tasks[user_id]:
            _skippable_tasks[user_id].append(task["id"])
    else:
        _forget_skippable(user_id, task["id"])


def _forget_skippable(user_id: str, task_id: int) -> None:
    if task_id in _skippable_tasks[user_id]:
        _skippable_tasks[user_id].remove(task_id)


def _list_to_write_into(user_id: str) -> int:
    """The list the owner made last, if it still stands; else its Inbox."""
    made = _created_lists[user_id]
    return made[-1] if made else _inbox_of(user_id)


def _task_to_delete(user_id: str) -> int:
    """A task of the user's made for a batch to delete (one request)."""
    return _made(user_id, "tasks", {"title": "to delete"})


def _new_task(user_id: str, recurring: bool) -> int:
    """A task of the user's made for an operation to name, recurring if asked."""
    body: dict[str, Any] = {"title": "to name"}
    if recurring:
        body |= {"due": {"date": "2027-01-08"}, "recurrence": {"rule": RULES[0]}}
    return _made(user_id, "tasks", body)


def _deleted(user_id: str, collection: str) -> int:
    """A task or list of the user's made and deleted, for a restore or removal to name."""
    made = _made(user_id, collection, {"title" if collection == "tasks" else "name": "deleted"})
    query = "" if collection == "tasks" else "?tasks=delete"
    response = httpx.delete(
        f"{BASE_URL}/api/{user_id}/{collection}/{made}{query}",
        headers={"Authorization": f"Bearer {token_for(user_id)}"},
        timeout=10,
    )
    response.raise_for_status()
    return made


def _made(user_id: str, collection: str, body: dict[str, Any]) -> int:
    """The id of a task or list made for the user (`collection`: tasks or lists)."""
    response = httpx.post(
        f"{BASE_URL}/api/{user_id}/{collection}",
        headers={"Authorization": f"Bearer {token_for(user_id)}"},
        json=body,
        timeout=10,
    )
    response.raise_for_status()
    made: int = response.json()["id"]
    return made


@functools.cache
def _inbox_of(user_id: str) -> int:
    """The id of the user's Inbox, as the service lists it (one request per user)."""
    response = httpx.get(
        f"{BASE_URL}/api/{user_id}/lists",
        headers={"Authorization": f"Bearer {token_for(user_id)}"},
        timeout=10,
    )
    response.raise_for_status()
    inbox: int = next(item["id"] for item in response.json()["items"] if item["is_inbox"])
    return inbox
