"""The retention job: expired idempotency keys, deleted ids, items of the trash and versions of
tasks go for every user.

Each serving process runs a round every RETENTION_INTERVAL_SECONDS (`taskapi purge` runs one
from cron instead, with the interval at 0). A round deletes in batches until a batch finds less
than a batch to delete, each batch a short transaction, so no round holds locks on many rows.
"""

import asyncio
import logging

from impl.db.pool import DatabaseTimeout, DatabaseUnavailable, PoolExhausted
from impl.retention.repository import Purged, RetentionPolicy, RetentionRepository

logger = logging.getLogger(__name__)


async def purge_round(repository: RetentionRepository, policy: RetentionPolicy) -> Purged | None:
    """Everything expired, batch by batch; None when another process was purging already."""
    total = Purged(0, 0, 0, 0, 0)
    while True:
        batch = await repository.purge_batch(policy)
        if batch is None:
            # Another process took the lock between two batches: the rest is its to delete.
            return total if max(total.counts) else None
        total = Purged(*(a + b for a, b in zip(total.counts, batch.counts, strict=True)))
        if max(batch.counts) < policy.batch_size:
            return total


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
            if purged is not None and max(purged.counts):
                logger.info(
                    "retention: purged %d idempotency keys, %d deleted task ids,"
                    " %d deleted list ids, %d items of the trash and %d versions of tasks",
                    *purged.counts,
                )
