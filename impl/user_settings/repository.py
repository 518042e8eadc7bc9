"""All SQL of a user's settings. A user who never changed them has no row: the defaults."""

import asyncpg

from generated.documents import Settings
from impl.dates.zones import DATABASE_VERSION, Clock, zone
from impl.db.pool import Database
from impl.observability.naming import named
from impl.tasks.repository import TaskWriter
from impl.versioned import Outcome

DEFAULT_TIME_ZONE = "UTC"
DEFAULT_VERSION = 1
GET = named("get_settings", "SELECT time_zone, version FROM user_settings WHERE user_id = $1")
# Exclusive: no write that reads a due date in the user's zone (0027's
# user_time_zone_for_writes, shared) runs until the due dates have moved with the zone.
TAKE_ZONE = named(
    "take_user_time_zone",
    "SELECT pg_advisory_xact_lock(hashtextextended('user time zone' || E'\\n' || $1, 0))",
)
# Version 2 is the first change of the defaults (version 1).
WRITE = named(
    "write_settings",
    """
    INSERT INTO user_settings AS settings (user_id, time_zone, version, updated_at)
    VALUES ($1, $2, 2, clock_timestamp())
    ON CONFLICT (user_id) DO UPDATE SET time_zone = $2, version = settings.version + 1,
        updated_at = greatest(clock_timestamp(), settings.updated_at)
    RETURNING time_zone, version
""",
)


def _settings(record: asyncpg.Record | None) -> Settings:
    if record is None:
        return {
            "time_zone": DEFAULT_TIME_ZONE,
            "time_zone_database": DATABASE_VERSION,
            "version": DEFAULT_VERSION,
        }
    return {
        "time_zone": record["time_zone"],
        "time_zone_database": DATABASE_VERSION,
        "version": record["version"],
    }


class SettingsRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, user_id: str) -> Settings:
        record = await self._database.read(lambda connection: connection.fetchrow(GET, user_id))
        return _settings(record)

    async def update(
        self,
        user_id: str,
        versions: list[int] | None,
        time_zone: str | None,
    ) -> Outcome[Settings]:
        """The settings with `time_zone` (None: as it is), and every due date read in the
        user's zone moved with it, in one transaction; the settings as they are if If-Match
        fails or nothing would change."""
        async with self._database.connection() as connection, connection.transaction():
            await connection.execute(TAKE_ZONE, user_id)
            current = _settings(await connection.fetchrow(GET, user_id))
            if versions is not None and current["version"] not in versions:
                return Outcome(written=False, current=current)
            if time_zone is None or time_zone == current["time_zone"]:
                return Outcome(written=False, current=current)
            written = _settings(await connection.fetchrow(WRITE, user_id, time_zone))
            await TaskWriter(connection).move_floating_dues(user_id, Clock(zone(time_zone)))
            return Outcome(written=True, current=written)
