"""What a request costs in the database: statements, and the time PostgreSQL spent running them.

Counted by pg_stat_statements, when the server loads it (`shared_preload_libraries`; the embedded
PostgreSQL does not, so with it these figures are left out: point BENCH_DATABASE_URL at a server
that does). Each side has a database of its own, so the counts of one are its statements alone,
whatever the other runs meanwhile. Statements are grouped by the name `named` gives them
(impl/observability/naming.py); transaction control is counted as `begin` and `commit`.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from impl.db.migrations import connect
from impl.db.url import normalize_database_url
from impl.observability.naming import statement_name

# What the counting runs itself carries this, which pg_stat_statements keeps (it replaces
# constants in what it shows, not comments).
MARK = "/* bench: counting statements */"
LOADED_SQL = """/* bench: counting statements */
SELECT 'pg_stat_statements' = ANY(
    string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')
)
"""
READ_SQL = """/* bench: counting statements */
SELECT query, calls, total_exec_time FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


@dataclass(frozen=True)
class Usage:
    """What a stretch of work ran: statements by name, and their execution time (ms) in all."""

    calls: Counter[str] = field(default_factory=Counter)
    # Execution time by name, ms.
    exec_ms: dict[str, float] = field(default_factory=dict)

    @property
    def statements(self) -> int:
        return sum(self.calls.values())

    def per_request(self, requests: int) -> dict[str, object]:
        return {
            "statements": round(self.statements / requests, 1),
            "exec_ms": round(sum(self.exec_ms.values()) / requests, 3),
            "by_name": {
                name: round(count / requests, 2) for name, count in sorted(self.calls.items())
            },
            "exec_ms_by_name": {
                name: round(self.exec_ms[name] / requests, 3) for name in sorted(self.calls)
            },
        }


@dataclass(frozen=True)
class _Snapshot:
    calls: dict[str, int]
    exec_ms: dict[str, float]


def measured(url: str, work: Callable[[], object]) -> Usage | None:
    """Run `work`; what it ran in the database at `url`, or None when pg_stat_statements is not
    loaded."""
    before = asyncio.run(_snapshot(url))
    work()
    if before is None:
        return None
    after = asyncio.run(_snapshot(url))
    assert after is not None
    calls: Counter[str] = Counter()
    exec_ms: dict[str, float] = {}
    for query, count in after.calls.items():
        if MARK in query:  # the counting itself
            continue
        name = statement_name(query)
        calls[name] += count - before.calls.get(query, 0)
        spent = after.exec_ms[query] - before.exec_ms.get(query, 0.0)
        exec_ms[name] = exec_ms.get(name, 0.0) + spent
    calls = +calls
    return Usage(calls, {name: exec_ms[name] for name in calls})


async def _snapshot(url: str) -> _Snapshot | None:
    connection = await connect(normalize_database_url(url, connect_timeout_seconds=10))
    try:
        if not await connection.fetchval(LOADED_SQL):
            return None
        await connection.execute(
            "/* bench: counting statements */ CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
        )
        rows = await connection.fetch(READ_SQL)
    finally:
        await connection.close()
    calls: dict[str, int] = {}
    exec_ms: dict[str, float] = {}
    for row in rows:  # a query text may have several entries (one per role, top level or not)
        calls[row["query"]] = calls.get(row["query"], 0) + row["calls"]
        exec_ms[row["query"]] = exec_ms.get(row["query"], 0.0) + row["total_exec_time"]
    return _Snapshot(calls, exec_ms)
