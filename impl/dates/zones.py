"""The IANA time zone database the service computes with: the pinned `tzdata` package, never the
machine's (which differs from one host to the next, and is absent from slim images)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import tzdata

# The release, such as `2026f`, reported to clients as `Settings.time_zone_database`.
DATABASE_VERSION: str = tzdata.IANA_VERSION
# In the package's list of zones, but no place's time: it exists to mark an unset zone.
NOT_A_PLACE = frozenset({"Factory"})


@cache
def zone_names() -> frozenset[str]:
    """Every zone and link of the release, as its list of zones names them."""
    listing = resources.files(tzdata).joinpath("zones").read_text(encoding="utf-8")
    return frozenset(listing.split()) - NOT_A_PLACE


class UnknownZone(ValueError):
    """A name the release does not have."""


@cache
def zone(name: str) -> ZoneInfo:
    """The zone called `name`, read from the package; UnknownZone if the release lacks it."""
    if name not in zone_names():
        raise UnknownZone(name)
    data = resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    with data.open("rb") as source:
        return ZoneInfo.from_file(source, key=name)


@dataclass(frozen=True, slots=True)
class Clock:
    """Local date-times of one zone as instants, and back."""

    zone: ZoneInfo

    def instant(self, local: datetime) -> datetime:
        """The UTC instant of a local date-time. One the zone skips (a spring-forward night) is
        read with the offset before the skip; one it repeats is the first of the two, as RFC
        5545 reads them: fold 0 means exactly that (PEP 495)."""
        return local.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    def start_of(self, day: date) -> datetime:
        """The first instant of `day`: its midnight, or the end of a skip that takes it."""
        return self.instant(datetime.combine(day, time()))

    def end_of(self, day: date) -> datetime:
        """The first instant of the next day."""
        return self.start_of(day + timedelta(days=1))

    def local(self, instant: datetime) -> datetime:
        """The naive local date-time of an instant."""
        return instant.astimezone(self.zone).replace(tzinfo=None)
