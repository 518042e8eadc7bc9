"""The connection pool: a connection is lent for the statements of one unit of work, no longer."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from impl.db.url import ConnectionTarget

logger = logging.getLogger(__name__)

# What a database that is down, restarting, full or out of reach raises: socket errors and
# timeouts while connecting (OSError, TimeoutError), SQLSTATE class 08 (connection exceptions),
# 57P0x (shutdown, cannot connect now) and 53300 (too many connections). A connection closed
# under a statement is a PostgresConnectionError too (ConnectionDoesNotExistError).
UNREACHABLE_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)


class DatabaseUnavailable(Exception):
    """PostgreSQL could not be reached or dropped the connection: retry later."""


class PoolExhausted(Exception):
    """Every pooled connection stayed in use for the whole wait: the service is busy."""

    def __init__(self, pool_size: int, waited_seconds: float) -> None:
        super().__init__(f"all {pool_size} connections in use for {waited_seconds} s")


@dataclass(frozen=True)
class PoolSettings:
    size: int
    acquire_timeout_seconds: float
    connect_timeout_seconds: float
    idle_lifetime_seconds: float = 300.0


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release, minus its round trip (RESET ALL, UNLISTEN *, ...).

    Nothing here changes session state: no SET, LISTEN, advisory lock or cursor outlives a
    statement. asyncpg still rolls back a transaction left open before calling this.
    """


class Database:
    """One pool per worker process, opened lazily, so the service starts while PostgreSQL is down.

    Waiting for a free connection and opening one are timed separately: a full pool means the
    service is busy (`PoolExhausted`), a failed connect means the database is down
    (`DatabaseUnavailable`). The two answer differently and are logged differently.
    """

    def __init__(self, target: ConnectionTarget, settings: PoolSettings) -> None:
        self._target = target
        self._settings = settings
        self._slots = asyncio.Semaphore(settings.size)
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        # min_size=0: nothing connects until the first request, and a database that is down at
        # start-up only makes requests 503 until it is back.
        self._pool = await asyncpg.create_pool(
            self._target.dsn,
            min_size=0,
            max_size=self._settings.size,
            max_inactive_connection_lifetime=self._settings.idle_lifetime_seconds,
            reset=_keep_session,
            **self._target.connect_args,
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    @asynccontextmanager
    async def connection(
        self, wait_seconds: float | None = None
    ) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for the block; errors that mean "unreachable" become one type.

        `wait_seconds` bounds the wait for a free connection (default: the pool's setting).
        """
        pool = self._pool
        if pool is None:
            raise RuntimeError("Database.open() was not awaited")
        await self._take_slot(
            self._settings.acquire_timeout_seconds if wait_seconds is None else wait_seconds
        )
        try:
            # No timeout here: the slot guarantees a free holder, and opening a connection has
            # its own (the `timeout` connect argument). asyncpg's would cost a task per request.
            async with pool.acquire() as connection:
                yield connection
        except UNREACHABLE_ERRORS as error:
            raise DatabaseUnavailable(str(error)) from error
        finally:
            self._slots.release()

    async def _take_slot(self, wait_seconds: float) -> None:
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            # A timer, not wait_for's extra task: under load most requests wait here.
            async with asyncio.timeout(wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            logger.warning(
                "connection pool exhausted: all %d connections in use for %.1f s",
                self._settings.size,
                wait_seconds,
            )
            raise PoolExhausted(self._settings.size, wait_seconds) from None

    async def ping(self, wait_seconds: float) -> None:
        """One round trip, waiting at most `wait_seconds` for a connection and for the answer."""
        async with self.connection(wait_seconds) as connection:
            await connection.fetchval("SELECT 1", timeout=wait_seconds)
