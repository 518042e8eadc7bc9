"""Liveness and readiness probes."""

from generated.apis import BaseHealthApi
from generated.models import Health, Status
from impl.db.engine import Database


class HealthApi(BaseHealthApi):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def check_liveness(self) -> Health:
        return Health(status=Status.ok)

    async def check_readiness(self) -> Health:
        # An unreachable database raises here and is answered 503 by the error handlers.
        await self._database.ping()
        return Health(status=Status.ok)
