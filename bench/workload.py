"""The data files the wrk script reads: which users to call, with which token, on which tasks."""

from collections.abc import Iterable, Sequence
from pathlib import Path

from bench.database import BIG_USER, SeededDatabase
from tests.support.tokens import token_for

TOKENS = "tokens.tsv"
LISTED_USERS = "list_users.tsv"
WRITERS = "writers.tsv"
TARGETS = "targets.tsv"
BIG_USERS = "big_user.tsv"


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


def write_delete_pool(path: Path, tasks: list[tuple[str, int]]) -> None:
    _write_rows(path, tasks)


def _write_rows(path: Path, rows: Iterable[Sequence[object]]) -> None:
    path.write_text("".join("\t".join(str(field) for field in row) + "\n" for row in rows))
