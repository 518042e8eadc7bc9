"""Liveness and readiness probes."""

from generated.apis import BaseHealthApi
from generated.documents import Health
from impl.db.pool import Database
from impl.lifecycle import Lifecycle, ShuttingDown

# A probe that waits as long as a request would is a probe the orchestrator times out.
READINESS_WAIT_SECONDS = 1.0


class HealthApi(BaseHealthApi):
    def __init__(self, database: Database, lifecycle: Lifecycle) -> None:
        self._database = database
        self._lifecycle = lifecycle

    async def check_liveness(self) -> Health:
        return {"status": "ok"}

    async def check_readiness(self) -> Health:
        # From the first SIGTERM: the load balancer should stop sending requests here.
        if self._lifecycle.stopping:
            raise ShuttingDown("The service is shutting down; send requests to another instance.")
        # An unreachable database or a pool with no connection to spare raises here, and the
        # error handlers answer 503 (service_unavailable or service_busy).
        await self._database.ping(READINESS_WAIT_SECONDS)
        return {"status": "ok"}
