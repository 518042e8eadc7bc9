"""Liveness and readiness probes."""

from generated.apis import BaseHealthApi
from generated.documents import Health
from impl.db.migrations import Migration, pending_migrations
from impl.db.pool import Database, DatabaseTimeout, DatabaseUnavailable
from impl.errors import ApiError, ErrorCode
from impl.lifecycle import Lifecycle, ShuttingDown

# A probe that waits as long as a request would is a probe the orchestrator times out: the whole
# check, waiting for a connection, opening one and every query on it, has this long.
READINESS_SECONDS = 1.0


class SchemaBehind(ApiError):
    """The database lacks a migration this release needs: `taskapi migrate` has not run yet."""

    def __init__(self, pending: list[Migration]) -> None:
        super().__init__(
            ErrorCode.SERVICE_UNAVAILABLE,
            "The database schema is behind this release: run `taskapi migrate`.",
            details={"pending_migrations": [m.label for m in pending]},
        )


class HealthApi(BaseHealthApi):
    def __init__(
        self, database: Database, lifecycle: Lifecycle, migrations: list[Migration]
    ) -> None:
        self._database = database
        self._lifecycle = lifecycle
        self._migrations = migrations
        # Once current, a schema is not taken back while this release serves: no more look-ups.
        self._schema_current = False

    async def check_liveness(self) -> Health:
        return {"status": "ok"}

    async def check_readiness(self) -> Health:
        # From the first SIGTERM: the load balancer should stop sending requests here.
        if self._lifecycle.stopping:
            raise ShuttingDown
        # An unreachable database or a pool with no connection to spare raises here, and the
        # error handlers answer 503 (service_unavailable or service_busy).
        try:
            async with self._database.within(READINESS_SECONDS):
                await self._database.ping()
                if not self._schema_current:
                    await self._require_current_schema()
        except DatabaseTimeout as error:
            # A database that does not answer a `SELECT 1` in time is as good as down.
            raise DatabaseUnavailable(str(error)) from error
        return {"status": "ok"}

    async def _require_current_schema(self) -> None:
        pending = await self._database.read(
            lambda connection: pending_migrations(connection, self._migrations)
        )
        if pending:
            raise SchemaBehind(pending)
        self._schema_current = True
