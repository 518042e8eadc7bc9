"""Libpq parameters that a pasted URL carries reach a real server in a form asyncpg accepts."""

import asyncio

from impl.db.migrations import connect
from impl.db.url import normalize_database_url
from tests.support.postgres import PostgresServer


def test_url_with_sslmode_and_channel_binding_connects(postgres: PostgresServer) -> None:
    separator = "&" if "?" in postgres.admin_url else "?"
    pasted = (
        f"{postgres.admin_url}{separator}sslmode=prefer&channel_binding=prefer&connect_timeout=5"
    )
    target = normalize_database_url(pasted, connect_timeout_seconds=10)

    async def select_one() -> int:
        connection = await connect(target)
        try:
            value: int = await connection.fetchval("SELECT 1")
        finally:
            await connection.close()
        return value

    assert asyncio.run(select_one()) == 1
