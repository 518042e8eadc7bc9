"""However the app's lifetime ends (a clean shutdown, an error, a cancellation), its lifespan stops
the retention job and closes the pool, the key set's HTTP client and the observer, last opened
first.

The app is built as `serve` builds it, on a database it never reaches: nothing here connects.
"""

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from impl.app import create_app
from impl.auth.published_keys import PublishedKeys
from impl.db.pool import Database
from impl.db.url import normalize_database_url
from impl.observability.observer import Observer
from impl.retention.job import RetentionJob
from impl.settings import Settings

UNREACHED_DATABASE = "postgresql://taskapi@127.0.0.1:9/unreached"
WAIT_SECONDS = 5
# Each closing step, by what it closes, in the order a lifespan must take them.
CLOSING_STEPS: dict[str, tuple[type, str]] = {
    "retention job": (RetentionJob, "stop"),
    "pool": (Database, "close"),
    "key set": (PublishedKeys, "close"),
    "observer": (Observer, "shutdown"),
}


class MidLifetimeFailure(Exception):
    pass


class PoolCloseFailure(Exception):
    pass


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the lifespan closed, in order; each step still does its work."""
    steps: list[str] = []
    for name, (owner, method) in CLOSING_STEPS.items():
        monkeypatch.setattr(owner, method, _recording(getattr(owner, method), name, steps))
    return steps


def _recording(close: Callable[..., Any], name: str, steps: list[str]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(close):

        async def recorded_async(self: object) -> None:
            steps.append(name)
            await close(self)

        return recorded_async

    def recorded(self: object) -> None:
        steps.append(name)
        close(self)

    return recorded


def app_holding_everything() -> FastAPI:
    """An app with every part a lifespan closes: a pool, a retention job, a published key set."""
    settings = Settings(
        _env_file=None,
        database_url=UNREACHED_DATABASE,
        auth_mode="jwks",
        better_auth_url="http://127.0.0.1:9",
        cursor_secret="c" * 32,
        retention_interval_seconds=3600,
        metrics_enabled=True,
        access_log=False,
        tracing_enabled=False,
    )
    target = normalize_database_url(UNREACHED_DATABASE, connect_timeout_seconds=1)
    return create_app(settings, target)


async def lifetime(app: FastAPI, body: Callable[[], Any]) -> None:
    async with app.router.lifespan_context(app):
        await body()


def test_a_clean_shutdown_closes_everything_last_opened_first(closed: list[str]) -> None:
    async def serve_briefly() -> None:
        await asyncio.sleep(0)

    asyncio.run(lifetime(app_holding_everything(), serve_briefly))

    assert closed == list(CLOSING_STEPS)


def test_an_error_mid_lifetime_still_closes_everything(closed: list[str]) -> None:
    async def fail() -> None:
        raise MidLifetimeFailure

    with pytest.raises(MidLifetimeFailure):
        asyncio.run(lifetime(app_holding_everything(), fail))

    assert closed == list(CLOSING_STEPS)


def test_a_cancelled_lifetime_still_closes_everything(closed: list[str]) -> None:
    async def cancel_mid_lifetime() -> bool:
        serving = asyncio.Event()

        async def serve_until_cancelled() -> None:
            serving.set()
            await asyncio.Event().wait()

        task = asyncio.create_task(lifetime(app_holding_everything(), serve_until_cancelled))
        async with asyncio.timeout(WAIT_SECONDS):
            await serving.wait()
        task.cancel()
        await asyncio.wait([task], timeout=WAIT_SECONDS)
        return task.cancelled()

    cancelled = asyncio.run(cancel_mid_lifetime())

    assert cancelled
    assert closed == list(CLOSING_STEPS)


def test_a_part_that_fails_to_close_leaves_none_of_the_others_open(
    closed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing_close(self: Database) -> None:
        closed.append("pool")
        raise PoolCloseFailure

    monkeypatch.setattr(Database, "close", failing_close)

    async def serve_briefly() -> None:
        await asyncio.sleep(0)

    with pytest.raises(PoolCloseFailure):
        asyncio.run(lifetime(app_holding_everything(), serve_briefly))

    assert closed == list(CLOSING_STEPS)
