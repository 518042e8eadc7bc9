"""One session per worker that LISTENs for the notifications of committed writes.

Each write's transaction notifies channel `taskapi_changes` with its users (migration 0035);
PostgreSQL delivers a notification only once the transaction has committed, so a snapshot taken
after hearing it sees the write. The notifications heard while a snapshot is taken wait for the
next one: under load one snapshot serves many writes.

LISTEN needs a session of its own, which a transaction pooler (PgBouncer, Neon's pooled endpoint)
cannot give: the session is opened on DATABASE_DIRECT_URL. Notifications sent while it is down
are lost to it: every reconnection after the first is reported as a gap, for the streams to tell
their clients to sync.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from impl.db.pool import UNREACHABLE_ERRORS, read_json
from impl.db.url import ConnectionTarget
from impl.tasks.repository import SNAPSHOT, Snapshot

logger = logging.getLogger(__name__)

CHANNEL = "taskapi_changes"
# Whose reminders' fire times moved: their next one is read again.
REMINDERS_CHANNEL = "taskapi_reminders"
# How the session tells PostgreSQL's pg_stat_activity who it is.
APPLICATION_NAME = "taskapi-events"
# Between attempts to reconnect: doubling from the first to the last.
FIRST_BACKOFF_SECONDS = 0.1
LAST_BACKOFF_SECONDS = 5.0
# What a session's loss raises: the database unreachable, refusing, or the connection gone.
EXPECTED_ERRORS = (*UNREACHABLE_ERRORS, asyncpg.PostgresError, asyncpg.InterfaceError)
# Notifications heard this soon after the first of a batch share its snapshot: under load one
# snapshot (and one token per user) serves many writes, for a few milliseconds of delay.
GATHER_SECONDS = 0.005
# A session that hears nothing this long is asked whether it is still there: a connection cut
# off without a goodbye (a network partition) would otherwise listen to nothing forever.
PROBE_AFTER_SECONDS = 30.0
# Every statement of the listening session is answered within this, or the session is given up
# for a new one (and the streams told of a gap): a stalled session would listen to nothing.
STATEMENT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Heard:
    """The users whose data changed, each with when its first change was notified (the
    database's clock, epoch seconds); those whose reminders moved; and a snapshot that sees all
    of it."""

    stamps: dict[str, float]
    reminders: frozenset[str]
    snapshot: Snapshot


class ChangeListener:
    """Listens while it runs, reconnecting with backoff; `heard` gets each batch of changes,
    `lost` a snapshot taken once listening again after notifications may have been missed."""

    def __init__(
        self,
        target: ConnectionTarget,
        heard: Callable[[Heard], None],
        lost: Callable[[Snapshot], None],
    ) -> None:
        self._target = target
        self._heard = heard
        self._lost = lost
        self._pending: dict[str, float] = {}
        self._reminders_moved: set[str] = set()
        self._arrived = asyncio.Event()
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def listening(self, seconds: float) -> bool:
        """Whether it is listening, or starts to within `seconds`."""
        self.start()
        try:
            async with asyncio.timeout(seconds):
                await self._listening.wait()
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        connected_before = False
        while True:
            try:
                connection = await self._connect()
            except Exception as error:
                # An unexpected error is logged as one, with its stack trace; either way, retry.
                expected = isinstance(error, EXPECTED_ERRORS)
                logger.log(
                    logging.WARNING if expected else logging.ERROR,
                    "event listener cannot connect (retry in %g s): %s",
                    backoff,
                    error,
                    exc_info=not expected,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, LAST_BACKOFF_SECONDS)
                continue
            backoff = FIRST_BACKOFF_SECONDS
            try:
                await self._listen(connection, report_gap=connected_before)
            except EXPECTED_ERRORS as error:
                logger.warning("event listener lost its connection: %s", error)
            except Exception:
                # Whatever it was, the streams must go on hearing: listen again, and say why.
                logger.exception("event listener failed; listening again")
            finally:
                self._listening.clear()
                connection.terminate()
            connected_before = True

    async def _connect(self) -> asyncpg.Connection:
        arguments = dict(self._target.connect_args)
        arguments["server_settings"] = {"application_name": APPLICATION_NAME}
        connection = await asyncpg.connect(self._target.dsn, **arguments)
        try:
            async with asyncio.timeout(STATEMENT_TIMEOUT_SECONDS):
                await read_json(connection)
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def _listen(self, connection: asyncpg.Connection, *, report_gap: bool) -> None:
        closed = asyncio.get_running_loop().create_future()

        def on_close(_: object) -> None:
            if not closed.done():
                closed.set_result(None)
            self._arrived.set()

        connection.add_termination_listener(on_close)
        self._pending.clear()
        self._reminders_moved.clear()
        async with asyncio.timeout(STATEMENT_TIMEOUT_SECONDS):
            await connection.add_listener(CHANNEL, self._on_notification)
            await connection.add_listener(REMINDERS_CHANNEL, self._on_notification)
        if report_gap:
            self._lost(await self._snapshot(connection))
        self._listening.set()
        while not closed.done():
            try:
                async with asyncio.timeout(PROBE_AFTER_SECONDS):
                    await self._arrived.wait()
            except TimeoutError:
                await connection.execute("/* probe */ SELECT 1", timeout=STATEMENT_TIMEOUT_SECONDS)
                continue
            if closed.done():
                break
            await asyncio.sleep(GATHER_SECONDS)
            self._arrived.clear()
            stamps, self._pending = self._pending, {}
            moved, self._reminders_moved = frozenset(self._reminders_moved), set()
            if stamps or moved:
                self._heard(Heard(stamps, moved, await self._snapshot(connection)))
        raise asyncpg.ConnectionDoesNotExistError("the listening session closed")

    async def _snapshot(self, connection: asyncpg.Connection) -> Snapshot:
        record = await connection.fetchrow(SNAPSHOT, timeout=STATEMENT_TIMEOUT_SECONDS)
        return Snapshot(record["snapshot"], record["taken_at"])

    def _on_notification(self, connection: object, pid: int, channel: str, payload: str) -> None:
        stamp, _, user_id = payload.partition(" ")
        try:
            stamped = float(stamp)
        except ValueError:
            logger.warning("event listener ignored a notification it cannot read")
            return
        if channel == REMINDERS_CHANNEL:
            self._reminders_moved.add(user_id)
        elif user_id not in self._pending:
            self._pending[user_id] = stamped
        self._arrived.set()
