"""Locks held from outside the service, so that its statements wait on them."""

import asyncio
import time
from collections.abc import Callable

import asyncpg

from tests.support.postgres import target


class RowLock:
    """Holds a row lock (or with `task_id` None, an exclusive lock on the whole `tasks` table,
    which stops reads too) from outside the service, so the service's statements on it wait."""

    def __init__(self, database_url: str, task_id: int | None) -> None:
        self._database_url = database_url
        self._task_id = task_id
        self._runner = asyncio.Runner()
        self._connection: asyncpg.Connection | None = None

    def __enter__(self) -> "RowLock":
        self._runner.__enter__()
        self._connection = self._runner.run(self._lock())
        return self

    async def _lock(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(target(self._database_url).dsn)
        await connection.execute("BEGIN")
        if self._task_id is None:
            await connection.execute("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        else:
            await connection.execute("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", self._task_id)
        return connection

    def waiting_statements(self) -> int:
        assert self._connection is not None
        # Inside a transaction PostgreSQL shows the activity it read at the first look: look
        # afresh each time (through a pooler, the awaited statement may arrive after that look).
        self._runner.run(self._connection.execute("SELECT pg_stat_clear_snapshot()"))
        count: int = self._runner.run(
            self._connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
        return count

    def __exit__(self, *exc_info: object) -> None:
        assert self._connection is not None
        self._runner.run(self._connection.close())
        self._runner.__exit__(None, None, None)


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
