"""The list operation's filters and sorts computed in Python, to compare the service against.

`Filters.matches` and `reference_order` restate the rules of GET /api/{user_id}/tasks over task
documents the service returned; `seed_tasks` creates varied tasks through the API (ASCII words only,
so that a word split in Python agrees with PostgreSQL's 'simple' text search).
"""

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from itertools import cycle
from typing import Any
from urllib.parse import urlencode

from tests.conftest import Api, User

Task = dict[str, Any]
Params = list[tuple[str, str]]

SORTS = (
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "due_at",
    "-due_at",
    "priority",
    "-priority",
    "title",
    "-title",
)
PRIORITIES = ("low", "medium", "high", "urgent")
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
TAGS = ("home", "work", "errands", "kids", "q3")
WORDS = (
    "buy",
    "milk",
    "milkshake",
    "call",
    "plumber",
    "pay",
    "rent",
    "report",
    "book",
    "booking",
    "garden",
    "gate",
    "paint",
    "car",
    "cart",
    "tax",
    "taxes",
    "2026",
    "20",
)
# Whole days away from now, so that "due in the past" cannot change while a test runs.
DUE_DAYS = (-30, -7, -2, -1, 1, 2, 7, 30)
# The ECMA-262 white space and line terminators that tag normalization trims.
TAG_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
MAX_PAGES = 1000


def normalize_tag(tag: str) -> str:
    """Trimmed, then each character lower-cased on its own (the first character if it expands)."""
    return "".join(char.lower()[:1] for char in tag.strip(TAG_WHITESPACE))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def rfc3339(moment: datetime, *, offset_hours: int = 0) -> str:
    """`moment` written with `Z`, or in a zone `offset_hours` from UTC."""
    if offset_hours == 0:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(timezone(timedelta(hours=offset_hours))).isoformat()


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    priority: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    q: str | None = None
    due_before: str | None = None
    due_after: str | None = None
    overdue: bool | None = None

    def params(self) -> Params:
        params: Params = []
        if self.status is not None:
            params.append(("status", self.status))
        params += [("priority", value) for value in self.priority]
        params += [("tag", value) for value in self.tag]
        if self.q is not None:
            params.append(("q", self.q))
        if self.due_before is not None:
            params.append(("due_before", self.due_before))
        if self.due_after is not None:
            params.append(("due_after", self.due_after))
        if self.overdue is not None:
            params.append(("overdue", "true" if self.overdue else "false"))
        return params

    def matches(self, task: Task, now: datetime) -> bool:
        due = instant(task["due_at"]) if task["due_at"] is not None else None
        return (
            self._status_matches(task)
            and (not self.priority or task["priority"] in self.priority)
            and all(normalize_tag(tag) in task["tags"] for tag in self.tag)
            and (self.q is None or text_matches(self.q, task))
            and (self.due_before is None or (due is not None and due < instant(self.due_before)))
            and (self.due_after is None or (due is not None and due >= instant(self.due_after)))
            and (self.overdue is None or is_overdue(task, now) == self.overdue)
        )

    def _status_matches(self, task: Task) -> bool:
        if self.status == "pending":
            return not task["completed"]
        if self.status == "completed":
            return bool(task["completed"])
        return True


def text_matches(q: str, task: Task) -> bool:
    """Every word of `q` begins some word of the title and description; no word matches nothing."""
    wanted = words(q)
    have = words(task["title"] + " " + (task["description"] or ""))
    return bool(wanted) and all(any(word.startswith(w) for word in have) for w in wanted)


def is_overdue(task: Task, now: datetime) -> bool:
    return task["due_at"] is not None and instant(task["due_at"]) < now and not task["completed"]


def _field_key(field: str) -> Callable[[Task], Any]:
    if field in ("created_at", "updated_at", "due_at"):
        return lambda task: instant(task[field])
    if field == "priority":
        return lambda task: PRIORITY_RANK[task["priority"]]
    return lambda task: task[field]


def reference_order(tasks: Iterable[Task], sort: str) -> list[Task]:
    """`tasks` in the order of `sort`: ties by id in the same direction, no due date last."""
    field = sort.removeprefix("-")
    descending = sort.startswith("-")
    key = _field_key(field)
    tasks = list(tasks)
    dated = [task for task in tasks if field != "due_at" or task["due_at"] is not None]
    undated = [task for task in tasks if field == "due_at" and task["due_at"] is None]
    return sorted(dated, key=lambda t: (key(t), t["id"]), reverse=descending) + sorted(
        undated, key=lambda t: t["id"], reverse=descending
    )


def reference(
    tasks: Iterable[Task], filters: Filters, sort: str, now: datetime | None = None
) -> list[Task]:
    moment = now if now is not None else datetime.now(UTC)
    return reference_order((task for task in tasks if filters.matches(task, moment)), sort)


def ids(tasks: Iterable[Task]) -> list[int]:
    return [task["id"] for task in tasks]


def in_sort_order(tasks: Sequence[Task], sort: str) -> bool:
    return ids(reference_order(tasks, sort)) == ids(tasks)


def list_path(user: User, params: Params) -> str:
    """The list URL of `user` with `params` as the query (a name may repeat)."""
    return f"{user.tasks_path}?{urlencode(params)}" if params else user.tasks_path


def list_page(api: Api, user: User, params: Params) -> dict[str, Any]:
    response = api.request("GET", list_path(user, params), token=user.token)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def walk(
    api: Api,
    user: User,
    params: Params,
    limits: int | Iterable[int],
    between_pages: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Every page from the first until next_cursor is null; `limits` may vary page by page."""
    page_limits = cycle([limits]) if isinstance(limits, int) else iter(limits)
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        query = [*params, ("limit", str(next(page_limits)))]
        page = list_page(api, user, query if cursor is None else [*query, ("cursor", cursor)])
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        if between_pages is not None:
            between_pages()
    raise AssertionError(f"no last page after {MAX_PAGES} pages")


def walked_items(pages: Iterable[dict[str, Any]]) -> list[Task]:
    return [item for page in pages for item in page["items"]]


def create(api: Api, user: User, body: dict[str, Any]) -> Task:
    response = api.request("POST", user.tasks_path, token=user.token, json=body)
    assert response.status_code == 201, response.text
    task: Task = response.json()
    return task


def random_task_input(rng: random.Random, anchor: datetime) -> dict[str, Any]:
    """A TaskInput with ASCII words, decorated tags and a due date days away from `anchor`."""
    body: dict[str, Any] = {"title": _phrase(rng, rng.randint(1, 3))}
    if rng.random() < 0.6:
        body["description"] = _phrase(rng, rng.randint(1, 4))
    if rng.random() < 0.8:
        body["priority"] = rng.choice(PRIORITIES)
    if rng.random() < 0.7:
        body["tags"] = [_decorated(rng, tag) for tag in rng.sample(TAGS, rng.randint(1, 3))]
    if rng.random() < 0.7:
        due = anchor + timedelta(days=rng.choice(DUE_DAYS), hours=rng.choice((0, 3)))
        body["due_at"] = rfc3339(due, offset_hours=rng.choice((0, 0, 2, -5)))
    return body


def seed_tasks(api: Api, user: User, count: int = 40, seed: int = 20261128) -> list[Task]:
    """`count` varied tasks of `user`, some completed and some changed after creation.

    Some titles and due dates repeat, so that every sort meets ties; the tasks are changed in an
    order other than their creation, so that updated_at and created_at orders differ.
    """
    rng = random.Random(seed)  # noqa: S311 (reproducible tasks, not a secret)
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    tasks: dict[int, Task] = {}
    bodies: list[dict[str, Any]] = []
    for _ in range(count):
        body = random_task_input(rng, anchor)
        if bodies and rng.random() < 0.2:
            # A repeat of an earlier title and due date: a tie for title and due_at.
            earlier = rng.choice(bodies)
            body["title"] = earlier["title"]
            if "due_at" in earlier:
                body["due_at"] = earlier["due_at"]
        bodies.append(body)
        task = create(api, user, body)
        tasks[task["id"]] = task
    order = list(tasks)
    rng.shuffle(order)
    for task_id in order:
        if rng.random() < 0.35:
            response = api.request("PATCH", user.task_path(f"{task_id}/complete"), token=user.token)
            assert response.status_code == 200, response.text
            tasks[task_id] = response.json()
        if rng.random() < 0.3:
            response = api.request(
                "PATCH",
                user.task_path(task_id),
                token=user.token,
                json={"priority": rng.choice(PRIORITIES)},
            )
            assert response.status_code == 200, response.text
            tasks[task_id] = response.json()
    return list(tasks.values())


def _phrase(rng: random.Random, count: int) -> str:
    return " ".join(_cased(rng, rng.choice(WORDS)) for _ in range(count))


def _cased(rng: random.Random, word: str) -> str:
    return rng.choice((word, word, word.capitalize(), word.upper()))


def _decorated(rng: random.Random, tag: str) -> str:
    """`tag` as a client might send it: other case, white space around it."""
    return rng.choice(
        (tag, tag.upper(), f" {tag.capitalize()} ", f"\u00a0{tag}\u3000", f"\t{tag.upper()}\n")
    )
