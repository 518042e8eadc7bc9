"""Each list query is served by an index on a table with many users: no sequential scan of tasks."""

import asyncio

import asyncpg

from impl.db.migrations import migrate
from impl.tasks import repository
from tests.support.postgres import PostgresServer, target

SEED = """
INSERT INTO tasks (user_id, title)
SELECT 'user_' || (n % 500), 'task ' || n FROM generate_series(1, 50000) AS n
"""


def plan_of(url: str, statement: str, *arguments: object) -> str:
    async def explain() -> str:
        await migrate(target(url))
        connection = await asyncpg.connect(target(url).dsn)
        try:
            await connection.execute(SEED)
            await connection.execute("ANALYZE tasks")
            rows = await connection.fetch(f"EXPLAIN {statement}", *arguments)
        finally:
            await connection.close()
        return "\n".join(row[0] for row in rows)

    return asyncio.run(explain())


def test_the_newest_first_list_reads_its_index(postgres: PostgresServer) -> None:
    with postgres.fresh_database("taskapi_plans") as url:
        plan = plan_of(url, repository.LIST, "user_7")

    assert "tasks_user_id_created_at_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
