"""The database makes the key after another (`position_after`, migration 0020) exactly as
impl.positions does: a task written without a place comes last, in either's order."""

import asyncio
import random

import pytest

from impl.db.migrations import connect
from impl.positions import key_between
from tests.support.postgres import target


def keys_to_compare() -> list[str]:
    """Keys of every shape: appended runs that carry and grow, fractions, negative integers."""
    rng = random.Random(20261206)  # noqa: S311 (reproducible keys, not a secret)
    keys: list[str] = []
    key = None
    for _ in range(5000):
        key = key_between(key, None)
        keys.append(key)
    low = None
    for _ in range(300):
        low = key_between(None, low)
        keys.append(low)
    for _ in range(300):
        first, second = sorted(rng.sample(keys, 2))
        if first != second:
            keys.append(key_between(first, second))
    keys += [
        "Zz",
        "az",
        "azz",
        "bzz",
        "Yzzz",
        "W0001",
        "Wzzzz",
        "a0V",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzy",
    ]
    return keys


@pytest.mark.usefixtures("service_url")
def test_the_key_after_another_is_the_same_in_sql_and_in_python(database_url: str) -> None:
    keys = keys_to_compare()

    async def in_sql() -> list[str]:
        connection = await connect(target(database_url))
        try:
            rows = await connection.fetch(
                "SELECT position_after(key) FROM unnest($1::text[]) WITH ORDINALITY AS k (key, n)"
                " ORDER BY n",
                keys,
            )
        finally:
            await connection.close()
        return [row[0] for row in rows]

    computed = asyncio.run(in_sql())

    assert computed == [key_between(key, None) for key in keys]
    assert asyncio.run(first_key(database_url)) == key_between(None, None)


async def first_key(database_url: str) -> str:
    connection = await connect(target(database_url))
    try:
        first: str = await connection.fetchval("SELECT position_after(NULL)")
    finally:
        await connection.close()
    return first
