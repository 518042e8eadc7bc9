"""Ids drawn at random (migration 0012): a draw the user already holds fails the insert on the
table's key, and is drawn again, a few times at most (for a user with n rows, n chances in
2^53 - 1 each)."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

ID_DRAWS = 3
T = TypeVar("T")


async def drawing_ids_again(insert: Callable[[], Awaitable[T]], key: str) -> T:
    """`insert`, made again while the id it drew fails the constraint `key`."""
    for _ in range(ID_DRAWS - 1):
        try:
            return await insert()
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name != key:
                raise
    return await insert()
