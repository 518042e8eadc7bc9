"""The retention job: expired idempotency keys, deleted ids and items of the trash go for every
user.

Each serving process runs a round every RETENTION_INTERVAL_SECONDS (`taskapi purge` runs one
from cron instead, with the interval at 0). A round deletes in batches until a batch finds less
than a batch to delete, each batch a short transaction, so no round holds locks on many rows.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from impl.db.pool import DatabaseTimeout, DatabaseUnavailable, PoolExhausted
from impl.retention.repository import Purged, RetentionRepository

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


@dataclass(frozen=True)
class RetentionPolicy:
    key_lifetime: timedelta
    sync_retention: timedelta
    trash_retention: timedelta
    batch_size: int = BATCH_SIZE


async def purge_round(repository: RetentionRepository, policy: RetentionPolicy) -> Purged | None:
    """Everything expired, batch by batch; None when another process was purging already."""
    keys = deletions = list_deletions = trash = 0
    while True:
        batch = await repository.purge_batch(
            policy.key_lifetime, policy.sync_retention, policy.trash_retention, policy.batch_size
        )
        if batch is None:
            # Another process took the lock between two batches: the rest is its to delete.
            purged = keys or deletions or list_deletions or trash
            return Purged(keys, deletions, list_deletions, trash) if purged else None
        keys += batch.idempotency_keys
        deletions += batch.task_deletions
        list_deletions += batch.list_deletions
        trash += batch.trash_items
        largest = max(
            batch.idempotency_keys, batch.task_deletions, batch.list_deletions, batch.trash_items
        )
        if largest < policy.batch_size:
            return Purged(keys, deletions, list_deletions, trash)


class RetentionJob:
    """A round every `interval_seconds` while the process serves."""

    def __init__(
        self, repository: RetentionRepository, policy: RetentionPolicy, interval_seconds: float
    ) -> None:
        self._repository = repository
        self._policy = policy
        self._interval_seconds = interval_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._rounds())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _rounds(self) -> None:
        while True:
            await asyncio.sleep(self._interval_seconds)
            try:
                purged = await purge_round(self._repository, self._policy)
            except (DatabaseUnavailable, PoolExhausted, DatabaseTimeout) as error:
                logger.warning("retention round skipped: %s", error)
                continue
            except Exception:
                # The next round may succeed: the job must outlive one bad round.
                logger.exception("retention round failed")
                continue
            if purged is not None and (
                purged.idempotency_keys
                or purged.task_deletions
                or purged.list_deletions
                or purged.trash_items
            ):
                logger.info(
                    "retention: purged %d idempotency keys, %d deleted task ids,"
                    " %d deleted list ids and %d items of the trash",
                    purged.idempotency_keys,
                    purged.task_deletions,
                    purged.list_deletions,
                    purged.trash_items,
                )
