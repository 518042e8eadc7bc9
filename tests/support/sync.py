"""Delta sync as a client does it: walk the pages of one sync, keep a replica of the tasks."""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.conftest import Api, User

Task = dict[str, Any]
# A sync that never reaches its last page is a bug of the service, not a long sync.
MAX_PAGES = 10_000


def changes_path(
    user: User, *, since: str | None = None, limit: int | None = None, cursor: str | None = None
) -> str:
    query = {
        name: str(value)
        for name, value in (("since", since), ("limit", limit), ("cursor", cursor))
        if value is not None
    }
    path = f"{user.tasks_path}/changes"
    return f"{path}?{urlencode(query)}" if query else path


@dataclass(frozen=True)
class Sync:
    """Every page of one sync, in the order they were given."""

    pages: list[dict[str, Any]]

    @property
    def items(self) -> list[Task]:
        return [task for page in self.pages for task in page["items"]]

    @property
    def deleted(self) -> list[int]:
        return [task_id for page in self.pages for task_id in page["deleted"]]

    @property
    def lists(self) -> list[Task]:
        return [todo_list for page in self.pages for todo_list in page["lists"]]

    @property
    def deleted_lists(self) -> list[int]:
        return [list_id for page in self.pages for list_id in page["deleted_lists"]]

    @property
    def token(self) -> str:
        token: str = self.pages[-1]["sync_token"]
        return token


def sync(api: Api, user: User, *, since: str | None = None, limit: int | None = None) -> Sync:
    """One whole sync: the first page, then `next_cursor` (with the same `since`) until null."""
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        path = changes_path(user, since=since, limit=limit, cursor=cursor)
        response = api.request("GET", path, token=user.token)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            assert page["sync_token"] is not None, "the last page carries the sync token"
            return Sync(pages)
        assert page["sync_token"] is None, "only the last page carries a sync token"
    raise AssertionError(f"no last page after {MAX_PAGES} pages")


@dataclass
class Replica:
    """A client's copy of one user's tasks, kept by delta sync (by id, newest version wins)."""

    user: User
    tasks: dict[int, Task] = field(default_factory=dict)
    token: str | None = None

    def sync(self, api: Api, *, limit: int | None = None) -> Sync:
        result = sync(api, self.user, since=self.token, limit=limit)
        for page in result.pages:
            self.apply(page)
        self.token = result.token
        return result

    def apply(self, page: dict[str, Any]) -> None:
        for task in page["items"]:
            held = self.tasks.get(task["id"])
            if held is None or task["version"] >= held["version"]:
                self.tasks[task["id"]] = task
        for task_id in page["deleted"]:
            self.tasks.pop(task_id, None)


def list_all(api: Api, user: User) -> dict[int, Task]:
    """The user's tasks as the list operation gives them now, by id (every page)."""
    tasks: dict[int, Task] = {}
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        query = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        response = api.request("GET", f"{user.tasks_path}?{urlencode(query)}", token=user.token)
        assert response.status_code == 200, response.text
        page = response.json()
        tasks.update((task["id"], task) for task in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return tasks
    raise AssertionError(f"no last page after {MAX_PAGES} pages")
