"""The data files the wrk script reads: which users to call, with which token, on which tasks."""

from collections.abc import Iterable, Sequence
from pathlib import Path

import httpx

from bench.database import BIG_USER, SeededDatabase
from tests.support.tokens import token_for

TOKENS = "tokens.tsv"
LISTED_USERS = "list_users.tsv"
WRITERS = "writers.tsv"
TARGETS = "targets.tsv"
LISTS = "lists.tsv"
MOVES = "moves.tsv"
BIG_USERS = "big_user.tsv"
DEEP_CURSORS = "deep_cursors.tsv"
PAGE_SIZE = 50  # the list's default limit, which the benchmark's list requests use
MAX_DEEP_CURSORS = 100


def write_workload(directory: Path, database: SeededDatabase, secret: str) -> None:
    """One token per user (HS256, valid 1 h) and the users and tasks each operation spreads over."""
    data = database.data
    users = [*data.listed_users(), *data.other_users()]
    if data.big_user_tasks:
        users.append(BIG_USER)
        _write_rows(directory / BIG_USERS, [(BIG_USER,)])
    _write_rows(
        directory / TOKENS, [(user, f"Bearer {token_for(user, secret=secret)}") for user in users]
    )
    _write_rows(directory / LISTED_USERS, [(user,) for user in data.listed_users()])
    _write_rows(directory / WRITERS, [(user,) for user in data.other_users()])
    _write_rows(directory / TARGETS, database.targets)
    _write_rows(directory / LISTS, database.lists)
    _write_rows(directory / MOVES, moves(database.targets))


def moves(targets: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """Moves of a task right after another of its user's, in pairs that undo each other's
    place (a after b, then b after a), so that a move is rarely to where the task already is."""
    by_user: dict[str, list[int]] = {}
    for user, task in targets:
        by_user.setdefault(user, []).append(task)
    rows: list[tuple[str, int, int]] = []
    for user, tasks in by_user.items():
        for first, second in zip(tasks[::2], tasks[1::2], strict=False):
            rows += [(user, first, second), (user, second, first)]
    return rows


def write_deep_cursors(
    directory: Path, base_url: str, database: SeededDatabase, secret: str
) -> int:
    """Cursors from far into `user_big`'s walk, as a client following `next_cursor` gets them.

    Walks its list (newest first, 50 a page) from page 1 through `base_url` and keeps the
    cursors that open pages of the second half, the last page left out: up to 100 of them,
    evenly spread. Returns the number of the first of those pages.
    """
    pages = database.data.big_user_tasks // PAGE_SIZE
    first = pages // 2 + 1
    step = max(1, -(-(pages - first) // MAX_DEEP_CURSORS))
    wanted = set(range(first, pages, step))
    headers = {"Authorization": f"Bearer {token_for(BIG_USER, secret=secret)}"}
    cursors = []
    path = f"/api/{BIG_USER}/tasks"
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        cursor = None
        for page in range(1, max(wanted)):
            response = client.get(path, params={} if cursor is None else {"cursor": cursor})
            if response.status_code != 200 or response.json()["next_cursor"] is None:
                raise RuntimeError(
                    f"walking {BIG_USER}'s list, page {page}: HTTP {response.status_code}"
                    f" {response.text[:200]}"
                )
            cursor = response.json()["next_cursor"]
            if page + 1 in wanted:
                cursors.append((BIG_USER, cursor))
    _write_rows(directory / DEEP_CURSORS, cursors)
    return first


def write_delete_pool(path: Path, tasks: list[tuple[str, int]]) -> None:
    _write_rows(path, tasks)


def _write_rows(path: Path, rows: Iterable[Sequence[object]]) -> None:
    path.write_text("".join("\t".join(str(field) for field in row) + "\n" for row in rows))
