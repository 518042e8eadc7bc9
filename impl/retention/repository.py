"""The SQL of the retention job: expired rows of every user, deleted in short batches: idempotency
keys, deleted ids, and items of the trash with what they hold.

Each batch is one transaction that first tries a transaction-level advisory lock, so that of the
workers and replicas whose rounds coincide one deletes and the others leave the round to it;
nothing outlives the transaction, so it works the same through a pooler in transaction mode.
"""

from dataclasses import dataclass
from datetime import timedelta

from impl.db.pool import Database
from impl.observability.naming import named
from impl.trash.repository import WITH_ITS_CONTENT

# Any fixed 64-bit number works; this one spells "purge" in ASCII.
RETENTION_LOCK_KEY = 0x7075726765
TRY_LOCK = named("lock_retention", "SELECT pg_try_advisory_xact_lock($1)")
# The oldest first, by the age index (migration 0009); the primary key finds each row again.
PURGE_KEYS = named(
    "purge_idempotency_keys",
    """
    WITH expired AS (
        SELECT user_id, key FROM idempotency_keys
        WHERE created_at < clock_timestamp() - $1::interval
        ORDER BY created_at LIMIT $2
    )
    DELETE FROM idempotency_keys AS k USING expired AS e
    WHERE k.user_id = e.user_id AND k.key = e.key
""",
)
# A sync token's age is read on the application's clock, deleted_at on the database's: ids are
# kept an hour longer than the retention (or twice a retention shorter than an hour), so that
# clocks that disagree do not drop an id a token still in date needs (migration 0010's index).
# The deleted ids of tasks and of lists, up to a batch of each.
PURGE_DELETIONS = named(
    "purge_deletions",
    """
    WITH expired AS (
        SELECT user_id, task_id FROM task_deletions
        WHERE deleted_at < clock_timestamp() - $1::interval - LEAST($1::interval, interval '1 hour')
        ORDER BY deleted_at LIMIT $2
    ), expired_lists AS (
        SELECT user_id, list_id FROM task_list_deletions
        WHERE deleted_at < clock_timestamp() - $1::interval - LEAST($1::interval, interval '1 hour')
        ORDER BY deleted_at LIMIT $2
    ), tasks_gone AS (
        DELETE FROM task_deletions AS d USING expired AS e
        WHERE d.user_id = e.user_id AND d.task_id = e.task_id
        RETURNING 1
    ), lists_gone AS (
        DELETE FROM task_list_deletions AS d USING expired_lists AS e
        WHERE d.user_id = e.user_id AND d.list_id = e.list_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM tasks_gone) AS tasks, (SELECT count(*) FROM lists_gone) AS lists
""",
)

# Every user's items older than the retention ($1), the oldest first by trash_by_age, up to $2,
# each deleted where it was found (its ctid, stable while locked); an item a restore holds is
# left to it.
PURGE_TRASH = named(
    "purge_trash",
    f"""
    WITH item AS (
        DELETE FROM trash
        WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM trash
            WHERE trashed_at < clock_timestamp() - $1::interval
            ORDER BY trashed_at LIMIT $2
            FOR UPDATE SKIP LOCKED
        ))
        RETURNING user_id, kind, item_id
    ){WITH_ITS_CONTENT}
""",  # noqa: S608 (fixed fragments)
)

# Every user's versions of tasks older than the history retention ($1), the oldest first by
# task_history_by_age, up to $2.
PURGE_HISTORY = named(
    "purge_history",
    """
    DELETE FROM task_history
    WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM task_history
        WHERE recorded_at < clock_timestamp() - $1::interval
        ORDER BY recorded_at LIMIT $2
    ))
""",
)


BATCH_SIZE = 1000


@dataclass(frozen=True)
class RetentionPolicy:
    key_lifetime: timedelta
    sync_retention: timedelta
    trash_retention: timedelta
    history_retention: timedelta
    batch_size: int = BATCH_SIZE


@dataclass(frozen=True)
class Purged:
    """How many rows one batch deleted; None when another process holds the lock."""

    idempotency_keys: int
    task_deletions: int
    list_deletions: int
    trash_items: int
    versions: int

    @property
    def counts(self) -> tuple[int, int, int, int, int]:
        return (
            self.idempotency_keys,
            self.task_deletions,
            self.list_deletions,
            self.trash_items,
            self.versions,
        )


class RetentionRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def purge_batch(self, policy: RetentionPolicy) -> Purged | None:
        """Up to a batch of expired keys, as many expired deleted ids, items of the trash and
        versions of tasks, in one transaction; None, deleting nothing, when another process is
        purging."""
        batch_size = policy.batch_size
        async with self._database.connection() as connection, connection.transaction():
            if not await connection.fetchval(TRY_LOCK, RETENTION_LOCK_KEY):
                return None
            keys = await connection.execute(PURGE_KEYS, policy.key_lifetime, batch_size)
            deletions = await connection.fetchrow(
                PURGE_DELETIONS, policy.sync_retention, batch_size
            )
            trash: int = await connection.fetchval(PURGE_TRASH, policy.trash_retention, batch_size)
            versions = await connection.execute(PURGE_HISTORY, policy.history_retention, batch_size)
        return Purged(_count(keys), deletions["tasks"], deletions["lists"], trash, _count(versions))


def _count(status: str) -> int:
    """The row count of a `DELETE n` command status."""
    return int(status.rsplit(" ", 1)[1])
