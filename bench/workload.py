"""The data files the wrk script reads: which users to call, with which token, on which tasks."""

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.database import BIG_USER, LARGE_USER, OrderedTask, SeededDatabase, ordered_tasks
from tests.support.tokens import token_for

TOKENS = "tokens.tsv"
LISTED_USERS = "list_users.tsv"
WRITERS = "writers.tsv"
TARGETS = "targets.tsv"
LISTS = "lists.tsv"
MOVES = "moves.tsv"
BIG_USERS = "big_user.tsv"
DEEP_CURSORS = "deep_cursors.tsv"
BATCHES = "batches.tsv"
RECURRING = "recurring.tsv"
# What stands in a batch's titles for the run's nonce and the request's number (driver.lua).
SEQUENCE = "@SEQ@"
PAGE_SIZE = 50  # the list's default limit, which the benchmark's list requests use
MAX_DEEP_CURSORS = 100


def write_workload(directory: Path, database: SeededDatabase, secret: str) -> None:
    """One token per user (HS256, valid 1 h) and the users and tasks each operation spreads over."""
    data = database.data
    users = [*data.listed_users(), *data.other_users()]
    if data.big_user_tasks:
        users.append(BIG_USER)
        _write_rows(directory / BIG_USERS, [(BIG_USER,)])
    if data.large_user_lists:
        users.append(LARGE_USER)
    _write_rows(
        directory / TOKENS, [(user, f"Bearer {token_for(user, secret=secret)}") for user in users]
    )
    _write_rows(directory / LISTED_USERS, [(user,) for user in data.listed_users()])
    _write_rows(directory / WRITERS, [(user,) for user in data.other_users()])
    _write_rows(directory / TARGETS, database.targets)
    _write_rows(directory / LISTS, database.lists)
    _write_rows(directory / MOVES, moves(database.targets))
    _write_rows(directory / BATCHES, bulk_edits(database))
    _write_rows(directory / RECURRING, database.recurring)


def bulk_edits(database: SeededDatabase) -> list[tuple[str, str]]:
    """A batch of 20 operations per user whose tasks are written (not the listed users'): a
    bulk edit of tasks no other operation writes (none of the targets), which leaves them as
    it found them but for their titles, so that every round finds them alike."""
    targets = set(database.targets)
    users = database.data.other_users()
    rows = []
    for user, tasks in ordered_tasks(database, users).items():
        mine = [task for task in tasks if (user, task.id) not in targets]
        operations = batch_operations(mine, move_pairs=3, completions=3, updates=8)
        rows.append((user, batch_body(operations)))
    return rows


def batch_operations(
    tasks: Sequence[OrderedTask], *, move_pairs: int = 0, completions: int = 0, updates: int = 0
) -> list[dict[str, Any]]:
    """Operations on `tasks` (top-level, in their list's order) of which every one writes, and
    which leave the tasks in the order and completion they found them in: moves in pairs that
    undo each other (a task right after the next one, then that one right after it), each
    completion followed by its reverse, and title changes (new each time: see SEQUENCE).

    The moves come first, then the first half of each completion's pair, the updates, and the
    second halves. Raises ValueError when `tasks` are too few.
    """
    needed = 2 * move_pairs + completions + updates
    if len(tasks) < needed:
        raise ValueError(f"{needed} tasks needed, {len(tasks)} given")
    pairs = [(tasks[2 * n], tasks[2 * n + 1]) for n in range(move_pairs)]
    completed = tasks[2 * move_pairs : 2 * move_pairs + completions]
    titled = tasks[2 * move_pairs + completions : needed]
    operations: list[dict[str, Any]] = []
    for first, second in pairs:
        if first.list_id != second.list_id:
            raise ValueError(f"tasks {first.id} and {second.id} are in different lists")
        operations += [
            {"op": "move", "task_id": first.id, "body": {"after_id": second.id}},
            {"op": "move", "task_id": second.id, "body": {"after_id": first.id}},
        ]
    operations += [
        {"op": "complete", "task_id": task.id, "completed": not task.completed}
        for task in completed
    ]
    operations += [
        {"op": "update", "task_id": task.id, "body": {"title": f"Bulk edit {SEQUENCE} #{index}"}}
        for index, task in enumerate(titled)
    ]
    operations += [
        {"op": "complete", "task_id": task.id, "completed": task.completed} for task in completed
    ]
    return operations


def batch_body(operations: list[dict[str, Any]]) -> str:
    """A TaskBatch document on one line, as the rows of driver.lua hold it."""
    return orjson.dumps({"operations": operations}).decode()


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


def write_rows(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """Rows of driver.lua: fields separated by tabs, one row a line."""
    _write_rows(path, rows)


def _write_rows(path: Path, rows: Iterable[Sequence[object]]) -> None:
    path.write_text("".join("\t".join(str(field) for field in row) + "\n" for row in rows))
