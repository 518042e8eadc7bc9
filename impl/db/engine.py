"""The connection pool and the unit of work every request runs in."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from impl.db.url import ConnectionTarget
from impl.settings import Settings


class Database:
    """One engine per process; `transaction()` hands out sessions that commit or roll back."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)

    @classmethod
    def connect(cls, target: ConnectionTarget, settings: Settings) -> "Database":
        engine = create_async_engine(
            target.url,
            connect_args=target.connect_args,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            # A connection the server closed (restart, Neon scale-to-zero) is replaced, not used.
            pool_pre_ping=True,
        )
        return cls(engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit when the block succeeds, roll back when it raises; callers never commit."""
        async with self._sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
