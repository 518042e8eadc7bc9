"""The lists migration (0016-0019) on a large table: figures, not a test (`python -m
bench.list_rollout`, TASKS tasks by default).

Migrates a fresh database to just before the lists, seeds TASKS tasks over USERS users (as the
releases before lists wrote them), then applies each migration of the rollout in turn while a
second connection samples, every 20 ms, how long the migration's transaction has been open: the
longest is how long any row lock or table lock it takes can be held. Then checks that every task
is in its owner's Inbox and prints the table of the ADR (docs/adr/0015-task-lists.md).
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable

import asyncpg

from impl.db.migrations import Migration, connect, load_migrations, locked_runner
from tests.support.postgres import postgres_server, target

FIRST_LIST_MIGRATION = "0016_task_lists"
ROLLOUT = 4
USERS = 1_000
SAMPLE_SECONDS = 0.02
# The transactions of the migration's statements, as pg_stat_activity shows them: those of the
# backends at work. The runner's bookkeeping transaction, open all along, is idle while a
# migration outside a transaction runs on another connection, and holds no lock of a table.
LONGEST_OPEN = """
SELECT max(clock_timestamp() - xact_start) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
"""
UNFILED = """
SELECT count(*) FROM tasks
WHERE list_id IS DISTINCT FROM (
    SELECT id FROM task_lists WHERE task_lists.user_id = tasks.user_id AND is_inbox
)
"""


async def longest_transaction(watcher: asyncpg.Connection, work: Awaitable[None]) -> float:
    """Seconds of the longest transaction other than the watcher's while `work` runs."""
    longest = 0.0
    task = asyncio.ensure_future(work)
    while not task.done():
        held = await watcher.fetchval(LONGEST_OPEN)
        if held is not None:
            longest = max(longest, held.total_seconds())
        await asyncio.sleep(SAMPLE_SECONDS)
    await task
    return longest


async def measure(url: str, tasks: int) -> None:
    migrations = load_migrations()
    labels = [m.label for m in migrations]
    first = labels.index(FIRST_LIST_MIGRATION)
    before: list[Migration] = migrations[:first]
    async with locked_runner(target(url), before) as runner:
        await runner.up()
    connection = await connect(target(url))
    try:
        started = time.perf_counter()
        await connection.execute(
            "INSERT INTO tasks (user_id, title) SELECT 'user_' || (n % $1), 'task ' || n"
            " FROM generate_series(1, $2) AS n",
            USERS,
            tasks,
        )
        await connection.execute(
            "INSERT INTO task_counts SELECT user_id, count(*) FROM tasks GROUP BY user_id"
        )
        await connection.execute("VACUUM ANALYZE tasks")
        print(f"seeded {tasks:,} tasks of {USERS:,} users in {time.perf_counter() - started:.0f} s")
        print("| step | time | longest transaction |")
        print("|---|---|---|")
        for step in range(first, first + ROLLOUT):
            started = time.perf_counter()

            async def apply(through: int = step) -> None:
                async with locked_runner(target(url), migrations[: through + 1]) as runner:
                    await runner.up()

            longest = await longest_transaction(connection, apply())
            took = time.perf_counter() - started
            print(f"| {labels[step]} | {took:.2f} s | {longest:.2f} s |")
        unfiled = await connection.fetchval(UNFILED)
        lists = await connection.fetchval("SELECT count(*) FROM task_lists")
        print(f"tasks not in their owner's Inbox: {unfiled}; lists: {lists:,}")
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    arguments = parser.parse_args()
    with (
        postgres_server("BENCH_DATABASE_URL", "taskapi-bench-pg-") as postgres,
        postgres.fresh_database("taskapi_list_rollout") as url,
    ):
        asyncio.run(measure(url, arguments.tasks))


if __name__ == "__main__":
    main()
