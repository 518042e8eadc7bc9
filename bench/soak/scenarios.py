"""The soak's mix: what a virtual client does to the users it owns, and what it expects back.

Each user belongs to one virtual client, which does one scenario at a time, so the client knows
each of its users' tasks exactly (id, version, completed): every answer can be checked against
it, and every expected status is exact. The mix is drawn from a seeded generator per client;
creates and deletes are drawn equally often, and a user's list is kept between FEWEST_TASKS and
MOST_TASKS, far under the service's per-user cap.
"""

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.soak.recorder import Session

PRIORITIES = ("low", "medium", "high", "urgent")
# The seeded tasks' tags and title words (bench/database.py), and the soak's own.
TAGS = ("home", "work", "reports", "errands", "health", "soak")
QUERIES = ("milk", "report", "plumb", "passport", "bill", "soak")
SORTS = tuple(f"{sign}{name}" for name in ("created_at", "updated_at", "due_at", "priority",
                                           "title") for sign in ("", "-"))  # fmt: skip
ZONES = ("Z", "+01:00", "-05:00", "+05:30")
FEWEST_TASKS = 25
MOST_TASKS = 250
LIST_PAGE = 50  # the list's default limit
SYNC_PAGE = 100
FILTERED_PAGES = 3  # a filtered list is followed this many pages at most
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


@dataclass
class Task:
    version: int
    completed: bool


@dataclass
class User:
    id: str
    token: str
    tasks: dict[int, Task] = field(default_factory=dict)
    # Delta sync: the last token, the ids the replica held then, and what was written since.
    sync_token: str | None = None
    synced: set[int] = field(default_factory=set)
    written: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    # Rebuild `tasks` from a full sync before the next scenario: at first, and after a surprise.
    stale: bool = True

    @property
    def path(self) -> str:
        return f"/api/{self.id}/tasks"


@dataclass
class Client:
    """One virtual client: its users, its seeded choices, and the titles it writes."""

    number: int
    session: Session
    users: Sequence[User]
    everyone: Sequence[User]
    rng: random.Random
    titles: int = 0

    def title(self) -> str:
        """A title no task holds yet, so that every write changes the task it writes."""
        self.titles += 1
        return f"Soak {self.number}-{self.titles}"

    def some_task(self, user: User) -> tuple[int, Task]:
        task_id = self.rng.choice(list(user.tasks))
        return task_id, user.tasks[task_id]

    def someone_else(self, user: User) -> User:
        while (other := self.rng.choice(self.everyone)) is user:
            pass
        return other

    def new_task(self) -> dict[str, Any]:
        body: dict[str, Any] = {"title": self.title(), "priority": self.rng.choice(PRIORITIES)}
        body["tags"] = self.rng.sample(TAGS, self.rng.randint(0, 3))
        if self.rng.random() < 0.7:
            body["due_at"] = self.due_at()
        if self.rng.random() < 0.5:
            body["description"] = f"Written by the soak, {self.rng.choice(QUERIES)} included."
        return body

    def due_at(self) -> str:
        month, day, hour = self.rng.randint(1, 12), self.rng.randint(1, 28), self.rng.randint(0, 23)
        year = self.rng.choice((2026, 2027))
        return f"{year}-{month:02d}-{day:02d}T{hour:02d}:30:00{self.rng.choice(ZONES)}"

    def list_filter(self) -> dict[str, Any]:
        makers: list[tuple[str, Callable[[], Any]]] = [
            ("status", lambda: self.rng.choice(("pending", "completed", "all"))),
            ("priority", lambda: self.rng.sample(PRIORITIES, self.rng.randint(1, 2))),
            ("tag", lambda: [self.rng.choice(TAGS)]),
            ("q", lambda: self.rng.choice(QUERIES)),
            ("due_after", lambda: f"2026-{self.rng.randint(1, 12):02d}-01T00:00:00Z"),
            ("due_before", lambda: f"2027-{self.rng.randint(1, 12):02d}-01T00:00:00Z"),
            ("overdue", lambda: self.rng.choice(("true", "false"))),
        ]
        chosen = self.rng.sample(makers, self.rng.randint(1, 3))
        params = {name: make() for name, make in chosen}
        params["sort"] = self.rng.choice(SORTS)
        params["limit"] = self.rng.choice((10, 25, 50))
        return params

    def key(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    async def call(
        self,
        label: str,
        expected: int | Collection[int],
        method: str,
        user: User,
        suffix: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response | None:
        """A request of `user`'s to a path under their tasks (`suffix` after `.../tasks`)."""
        return await self.session.call(
            label,
            expected,
            method,
            user.path + suffix,
            token=user.token,
            headers=headers,
            params=params,
            json=json,
        )


Scenario = Callable[[Client, User], Awaitable[bool]]


def etag(version: int) -> str:
    return f'"{version}"'


def _same_task(
    client: Client, label: str, response: httpx.Response, task_id: int, expected: Task
) -> bool:
    body = response.json()
    return client.session.check(
        label,
        body["id"] == task_id
        and body["version"] == expected.version
        and body["completed"] is expected.completed
        and response.headers.get("ETag") == etag(expected.version),
        f"task {task_id} at version {expected.version}, completed {expected.completed}",
        response,
    )


def _wrote(
    client: Client, label: str, user: User, task_id: int, response: httpx.Response, expected: Task
) -> bool:
    """After a write: the answer is the task as expected; the replica takes the server's word."""
    holds = _same_task(client, label, response, task_id, expected)
    body = response.json()
    if body["version"] != user.tasks[task_id].version:
        user.written.add(task_id)
    user.tasks[task_id] = Task(body["version"], body["completed"])
    return holds


def _created(client: Client, label: str, user: User, response: httpx.Response) -> bool:
    body = response.json()
    task_id: int = body["id"]
    holds = client.session.check(
        label,
        task_id not in user.tasks
        and body["version"] == 1
        and body["completed"] is False
        and response.headers.get("ETag") == etag(1)
        and response.headers.get("Location", "").endswith(f"{user.path}/{task_id}"),
        "a new task at version 1, with its Location and ETag",
        response,
    )
    user.tasks[task_id] = Task(1, False)
    user.written.add(task_id)
    return holds


def _page_matches(client: Client, label: str, user: User, response: httpx.Response) -> bool:
    """Every task on a page is one of the user's, at the version the client knows."""
    stray = [
        (task["id"], task["version"])
        for task in response.json()["items"]
        if (known := user.tasks.get(task["id"])) is None or known.version != task["version"]
    ]
    return client.session.check(
        label, not stray, f"only the user's tasks, as known (not {stray[:5]})", response
    )


# Lists


async def list_tasks(client: Client, user: User) -> bool:
    response = await client.call("list_tasks", 200, "GET", user)
    if response is None:
        return False
    shown = len(response.json()["items"])
    return _page_matches(client, "list_tasks", user, response) and client.session.check(
        "list_tasks",
        shown == min(LIST_PAGE, len(user.tasks)),
        f"a first page of {min(LIST_PAGE, len(user.tasks))} tasks",
        response,
    )


async def list_filtered(client: Client, user: User) -> bool:
    """A filtered, sorted list, followed by its cursors for a few pages."""
    params = client.list_filter()
    label = "list_tasks filtered"
    for _ in range(FILTERED_PAGES):
        response = await client.call(label, 200, "GET", user, params=params)
        if response is None or not _page_matches(client, label, user, response):
            return False
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        params = {**params, "cursor": cursor}
        label = "list_tasks next page"
    return True


async def list_every_page(client: Client, user: User) -> bool:
    """Every page, 100 at a time: together exactly the user's tasks."""
    params: dict[str, Any] = {"limit": SYNC_PAGE, "sort": client.rng.choice(SORTS)}
    label = "list_tasks every page"
    seen: list[int] = []
    while True:
        response = await client.call(label, 200, "GET", user, params=params)
        if response is None or not _page_matches(client, label, user, response):
            return False
        page = response.json()
        seen.extend(task["id"] for task in page["items"])
        if page["next_cursor"] is None:
            break
        params = {**params, "cursor": page["next_cursor"]}
    return client.session.check(
        label,
        len(seen) == len(user.tasks) and set(seen) == set(user.tasks),
        f"each of the {len(user.tasks)} tasks once (got {len(seen)})",
        response,
    )


async def list_with_foreign_cursor(client: Client, user: User) -> bool:
    """A real cursor of this user's, sent with another sort: 400 invalid_cursor."""
    response = await client.call("list_tasks", 200, "GET", user, params={"limit": 10})
    if response is None:
        return False
    cursor = response.json()["next_cursor"]
    if cursor is None:
        return True
    params = {"limit": 10, "sort": "title", "cursor": cursor}
    label = "list_tasks cursor of another sort"
    refused = await client.call(label, 400, "GET", user, params=params)
    return refused is not None and client.session.check(
        label, refused.json()["error"] == "invalid_cursor", "invalid_cursor", refused
    )


async def another_users_path(client: Client, user: User) -> bool:
    """The user's token on someone else's URL: 403, whatever the operation."""
    other = client.someone_else(user)
    method, suffix, body = client.rng.choice(
        (("GET", "", None), ("POST", "", {"title": client.title()}), ("GET", "/changes", None))
    )
    response = await client.session.call(
        "another user's path", 403, method, other.path + suffix, token=user.token, json=body
    )
    return response is not None


# One task


async def get_task(client: Client, user: User) -> bool:
    task_id, task = client.some_task(user)
    response = await client.call("get_task", 200, "GET", user, f"/{task_id}")
    return response is not None and _same_task(client, "get_task", response, task_id, task)


async def get_task_unchanged(client: Client, user: User) -> bool:
    task_id, task = client.some_task(user)
    label = "get_task If-None-Match"
    not_modified = {"If-None-Match": etag(task.version)}
    response = await client.call(label, 304, "GET", user, f"/{task_id}", headers=not_modified)
    return response is not None and client.session.check(
        label,
        not response.content and response.headers.get("ETag") == etag(task.version),
        f"no body, ETag {etag(task.version)}",
        response,
    )


async def another_users_task(client: Client, user: User) -> bool:
    """Someone else's task id under the user's own URL: 404 for every operation."""
    other = client.someone_else(user)
    if not other.tasks:
        return True
    task_id, _ = client.some_task(other)
    method, suffix, body = client.rng.choice(
        (
            ("GET", "", None),
            ("PUT", "", {"title": client.title()}),
            ("PATCH", "", {"title": client.title()}),
            ("DELETE", "", None),
            ("PATCH", "/complete", None),
        )
    )
    response = await client.call(
        "another user's task", 404, method, user, f"/{task_id}{suffix}", json=body
    )
    return response is not None


# Writes


async def create_task(client: Client, user: User) -> bool:
    response = await client.call("create_task", 201, "POST", user, json=client.new_task())
    return response is not None and _created(client, "create_task", user, response)


async def create_task_retried(client: Client, user: User) -> bool:
    """A create with an Idempotency-Key, sent twice: the second answer replays the first."""
    key = {"Idempotency-Key": client.key()}
    body = client.new_task()
    label = "create_task Idempotency-Key"
    first = await client.call(label, 201, "POST", user, headers=key, json=body)
    if first is None or not _created(client, label, user, first):
        return False
    label = "create_task replayed"
    again = await client.call(label, 201, "POST", user, headers=key, json=body)
    return again is not None and client.session.check(
        label,
        again.headers.get("Idempotent-Replayed") == "true"
        and again.json()["id"] == first.json()["id"],
        "the first answer again, with Idempotent-Replayed: true",
        again,
    )


async def create_task_key_reused(client: Client, user: User) -> bool:
    """The same Idempotency-Key with another body: 422, and nothing created."""
    key = {"Idempotency-Key": client.key()}
    label = "create_task Idempotency-Key"
    first = await client.call(label, 201, "POST", user, headers=key, json=client.new_task())
    if first is None or not _created(client, label, user, first):
        return False
    label = "create_task key reused"
    reused = await client.call(label, 422, "POST", user, headers=key, json=client.new_task())
    return reused is not None


async def replace_task(client: Client, user: User) -> bool:
    """PUT, with If-Match half the time."""
    task_id, task = client.some_task(user)
    headers = {"If-Match": etag(task.version)} if client.rng.random() < 0.5 else {}
    body = client.new_task()
    response = await client.call(
        "replace_task", 200, "PUT", user, f"/{task_id}", headers=headers, json=body
    )
    expected = Task(task.version + 1, task.completed)
    return response is not None and _wrote(
        client, "replace_task", user, task_id, response, expected
    )


async def replace_task_stale(client: Client, user: User) -> bool:
    """PUT with an If-Match that names another version: 412 with the task as it is."""
    task_id, task = client.some_task(user)
    stale = task.version - 1 if task.version > 1 else task.version + 1
    label = "replace_task stale If-Match"
    headers = {"If-Match": etag(stale)}
    body = client.new_task()
    response = await client.call(label, 412, "PUT", user, f"/{task_id}", headers=headers, json=body)
    if response is None:
        return False
    current = response.json()["details"]["current"]
    return client.session.check(
        label,
        current["id"] == task_id
        and current["version"] == task.version
        and response.headers.get("ETag") == etag(task.version),
        f"the task unchanged at version {task.version}",
        response,
    )


def _patch(client: Client, completed: bool) -> dict[str, Any]:
    """A merge patch that always changes the title, and some other fields."""
    patch: dict[str, Any] = {"title": client.title()}
    rng = client.rng
    if rng.random() < 0.4:
        patch["priority"] = rng.choice(PRIORITIES)
    if rng.random() < 0.3:
        patch["tags"] = rng.sample(TAGS, rng.randint(0, 3))
    if rng.random() < 0.3:
        patch["due_at"] = client.due_at() if rng.random() < 0.5 else None
    if rng.random() < 0.2:
        patch["description"] = None
    if rng.random() < 0.2:
        patch["completed"] = not completed
    return patch


async def update_task(client: Client, user: User) -> bool:
    """PATCH (JSON Merge Patch), with If-Match half the time."""
    task_id, task = client.some_task(user)
    patch = _patch(client, task.completed)
    headers = dict(MERGE_PATCH)
    if client.rng.random() < 0.5:
        headers["If-Match"] = etag(task.version)
    response = await client.call(
        "update_task", 200, "PATCH", user, f"/{task_id}", headers=headers, json=patch
    )
    expected = Task(task.version + 1, patch.get("completed", task.completed))
    return response is not None and _wrote(client, "update_task", user, task_id, response, expected)


async def update_task_race(client: Client, user: User) -> bool:
    """Two PATCHes at once with the same If-Match: one 200 and one 412, whichever comes first."""
    task_id, task = client.some_task(user)
    label = "update_task race"
    headers = {**MERGE_PATCH, "If-Match": etag(task.version)}
    answers = await asyncio.gather(
        *(
            client.call(
                label,
                (200, 412),
                "PATCH",
                user,
                f"/{task_id}",
                headers=headers,
                json={"title": client.title()},
            )
            for _ in range(2)
        )
    )
    if answers[0] is None or answers[1] is None:
        return False
    first, second = sorted((answers[0], answers[1]), key=lambda answer: answer.status_code)
    if not client.session.check(
        label,
        (first.status_code, second.status_code) == (200, 412),
        f"one 200 and one 412 (got {first.status_code} and {second.status_code})",
        second,
    ):
        return False
    expected = Task(task.version + 1, task.completed)
    return _wrote(client, label, user, task_id, first, expected)


async def toggle_task_completion(client: Client, user: User) -> bool:
    """A toggle without a body, or a set to a value (a no-op when the task has it already)."""
    task_id, task = client.some_task(user)
    headers = {"If-Match": etag(task.version)} if client.rng.random() < 0.3 else {}
    if client.rng.random() < 0.5:
        label, body, completed = "toggle_task_completion", None, not task.completed
    else:
        completed = client.rng.random() < 0.5
        label, body = "toggle_task_completion set", {"completed": completed}
    response = await client.call(
        label, 200, "PATCH", user, f"/{task_id}/complete", headers=headers, json=body
    )
    changed = completed is not task.completed
    expected = Task(task.version + changed, completed)
    return response is not None and _wrote(client, label, user, task_id, response, expected)


async def delete_task(client: Client, user: User) -> bool:
    """DELETE, with If-Match half the time; then the task is 404."""
    task_id, task = client.some_task(user)
    headers = {"If-Match": etag(task.version)} if client.rng.random() < 0.5 else {}
    response = await client.call("delete_task", 204, "DELETE", user, f"/{task_id}", headers=headers)
    if response is None:
        return False
    del user.tasks[task_id]
    user.written.discard(task_id)
    user.deleted.add(task_id)
    gone = await client.call("get_task deleted", 404, "GET", user, f"/{task_id}")
    return gone is not None


# Delta sync


async def _sync(
    client: Client, user: User, label: str, since: str | None
) -> tuple[list[dict[str, Any]], list[int], str, httpx.Response] | None:
    """Every page of one sync: the tasks, the deleted ids, the new token and the last answer."""
    items: list[dict[str, Any]] = []
    deleted: list[int] = []
    params: dict[str, Any] = {"limit": SYNC_PAGE}
    if since is not None:
        params["since"] = since
    while True:
        response = await client.call(label, 200, "GET", user, "/changes", params=params)
        if response is None:
            return None
        page = response.json()
        items.extend(page["items"])
        deleted.extend(page["deleted"])
        if page["next_cursor"] is None:
            return items, deleted, page["sync_token"], response
        params["cursor"] = page["next_cursor"]


def _synced(user: User, token: str) -> None:
    user.sync_token = token
    user.synced = set(user.tasks)
    user.written.clear()
    user.deleted.clear()


async def resync(client: Client, user: User) -> bool:
    """A first sync: the replica becomes what the service holds."""
    result = await _sync(client, user, "list_task_changes", None)
    if result is None:
        return False
    items, _, token, _ = result
    user.tasks = {task["id"]: Task(task["version"], task["completed"]) for task in items}
    _synced(user, token)
    return True


async def sync_everything(client: Client, user: User) -> bool:
    """A first sync again: exactly the tasks the client knows, at the versions it knows."""
    result = await _sync(client, user, "list_task_changes", None)
    if result is None:
        return False
    items, _, token, response = result
    got = {task["id"]: task["version"] for task in items}
    known = {task_id: task.version for task_id, task in user.tasks.items()}
    holds = client.session.check(
        "list_task_changes",
        len(items) == len(got) and got == known,
        f"each of the {len(known)} tasks once, as known",
        response,
    )
    _synced(user, token)
    return holds


async def sync_changes(client: Client, user: User) -> bool:
    """A delta sync: every task written since the last token, and every task deleted since."""
    label = "list_task_changes since"
    result = await _sync(client, user, label, user.sync_token)
    if result is None:
        return False
    items, deleted, token, response = result
    got: dict[int, int] = {}
    for task in items:
        got[task["id"]] = max(task["version"], got.get(task["id"], 0))
    missed = [t for t in user.written if got.get(t) != user.tasks[t].version]
    unknown = [t for t, version in got.items() if t not in user.tasks]
    unreported = sorted((user.deleted & user.synced) - set(deleted))
    holds = client.session.check(
        label,
        not missed and not unknown and not unreported,
        f"the writes since the token (missed {missed[:5]}, unknown {unknown[:5]},"
        f" deletions not reported {unreported[:5]})",
        response,
    )
    _synced(user, token)
    return holds


# Health


async def check_health(client: Client, user: User) -> bool:
    label, path = client.rng.choice(
        (("check_liveness", "/health/live"), ("check_readiness", "/health/ready"))
    )
    return await client.session.call(label, 200, "GET", path, token=None) is not None


# Weights per scenario; the creates' weights add up to the delete's, so lists stay about the size
# they were seeded with.
MIX: tuple[tuple[Scenario, int], ...] = (
    (list_tasks, 10),
    (list_filtered, 8),
    (list_every_page, 3),
    (list_with_foreign_cursor, 1),
    (another_users_path, 1),
    (get_task, 12),
    (get_task_unchanged, 5),
    (another_users_task, 3),
    (create_task, 3),
    (create_task_retried, 2),
    (create_task_key_reused, 1),
    (replace_task, 4),
    (replace_task_stale, 2),
    (update_task, 6),
    (update_task_race, 1),
    (toggle_task_completion, 6),
    (delete_task, 6),
    (sync_changes, 6),
    (sync_everything, 1),
    (check_health, 2),
)
CREATES = (create_task, create_task_retried, create_task_key_reused)
_SCENARIOS = [scenario for scenario, _ in MIX]
_CUMULATIVE = [sum(weight for _, weight in MIX[: i + 1]) for i in range(len(MIX))]


def next_scenario(client: Client, user: User) -> Scenario:
    scenario = client.rng.choices(_SCENARIOS, cum_weights=_CUMULATIVE)[0]
    if len(user.tasks) <= FEWEST_TASKS and scenario is delete_task:
        return create_task
    if len(user.tasks) >= MOST_TASKS and scenario in CREATES:
        return delete_task
    return scenario


async def run_client(client: Client, until: float) -> None:
    """Scenarios on the client's users, one at a time, until the monotonic clock reads `until`."""
    while time.monotonic() < until:
        user = client.rng.choice(client.users)
        if user.stale:
            user.stale = not await resync(client, user)
        else:
            user.stale = not await next_scenario(client, user)(client, user)
