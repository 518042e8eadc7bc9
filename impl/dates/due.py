"""A task's due date in the form a person means it, and the instants the service derives from
it: `due_at` (for sorting and the due filters) and when a pending task becomes overdue."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from impl.dates.zones import Clock, UnknownZone, zone
from impl.errors import ApiError, ErrorCode

# The dates a `due` may name: whatever a zone's offset does to them, their instants stay within
# the range of the contract's date-time (years 1 to 9999 in UTC).
FIRST_DATE = date(2, 1, 1)
LAST_DATE = date(9998, 12, 31)


class DateRefused(ApiError):
    """422 on one member of a date or a time zone, named by its location."""

    def __init__(self, location: tuple[str | int, ...], message: str, kind: str) -> None:
        super().__init__(
            ErrorCode.VALIDATION_FAILED,
            details=[{"location": list(location), "message": message, "type": kind}],
        )


@dataclass(frozen=True, slots=True)
class Due:
    """A date alone (all day), a floating local time, or a local time in a named zone."""

    day: date
    time_of_day: time | None = None
    zone_name: str | None = None

    @property
    def floats(self) -> bool:
        """Read in the user's zone (a date alone, or a time without a zone)."""
        return self.zone_name is None

    def document(self) -> dict[str, Any]:
        """As the contract's `Due`, and as it is stored."""
        return {
            "date": self.day.isoformat(),
            "time": None if self.time_of_day is None else self.time_of_day.isoformat(),
            "time_zone": self.zone_name,
        }

    def local(self) -> datetime:
        """The local date-time it names; midnight for a date alone."""
        return datetime.combine(self.day, self.time_of_day or time())

    def instants(self, user_zone: Clock) -> tuple[datetime, datetime]:
        """(`due_at`, when it becomes overdue): for a date alone, the start and the end of the
        day; for a time, that time, twice. `user_zone` reads a date or a floating time."""
        clock = user_zone if self.zone_name is None else Clock(zone(self.zone_name))
        if self.time_of_day is None:
            return clock.start_of(self.day), clock.end_of(self.day)
        due_at = clock.instant(self.local())
        return due_at, due_at


def due_of_instant(instant: datetime) -> Due:
    """The same instant as a time in UTC: what setting `due_at` means."""
    utc = instant.astimezone(UTC)
    return Due(utc.date(), utc.time(), "UTC")


def stored_due(document: dict[str, Any]) -> Due:
    """A `Due` as it is stored (its `document`), already checked when it was written."""
    day = date.fromisoformat(document["date"])
    time_of_day = None if document["time"] is None else time.fromisoformat(document["time"])
    return Due(day, time_of_day, document["time_zone"])


def known_zone(name: str, at: tuple[str | int, ...]) -> None:
    """422 at `at` unless `name` is a zone of the database."""
    try:
        zone(name)
    except UnknownZone:
        raise DateRefused(at, "No such zone in the time zone database", "time_zone") from None


def due_from_body(
    day: str, time_of_day: str | None, zone_name: str | None, at: tuple[str | int, ...]
) -> Due:
    """A `DueInput` (already held to the contract's patterns) as a `Due`; 422 naming the member
    at `at` that is not a day of the calendar, not a zone of the database, or a zone without a
    time."""
    try:
        parsed_day = date.fromisoformat(day)
    except ValueError:
        raise DateRefused((*at, "date"), "No such day in the calendar", "date") from None
    if not FIRST_DATE <= parsed_day <= LAST_DATE:
        raise DateRefused((*at, "date"), "Must lie from 0002-01-01 to 9998-12-31", "date_range")
    parsed_time = None if time_of_day is None else time.fromisoformat(time_of_day)
    if zone_name is not None:
        if parsed_time is None:
            raise DateRefused(
                (*at, "time_zone"),
                "A date alone is the user's day: a time zone needs a time",
                "zone_without_time",
            )
        known_zone(zone_name, (*at, "time_zone"))
    return Due(parsed_day, parsed_time, zone_name)
