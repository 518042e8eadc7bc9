"""Tasks recur by a strict subset of RFC 5545 RRULE, so that every stored rule expands quickly."""

import calendar
import datetime
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

_T = TypeVar("_T")

_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# Finer than a day has no meaning for a task that recurs on dates.
_FINER_FREQUENCIES = ("SECONDLY", "MINUTELY", "HOURLY")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST")
# Parts RFC 5545 (and RFC 7529's RSCALE and SKIP) define but this subset leaves out: refused as
# unsupported rather than as unknown, so the sender knows its rule was understood.
_LEFT_OUT_PARTS = (
    "BYSETPOS",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
    "RSCALE",
    "SKIP",
)
_MAX_TEXT = 300
_LARGEST = {"INTERVAL": 999, "COUNT": 1000}
# Leap years included: a month day is impossible only if no year has it.
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# How far next_occurrence looks for a MONTHLY or YEARLY rule; the Gregorian calendar, weekdays
# included, repeats every 400 years.
_HORIZON_YEARS = 400
_LAST_DAY = datetime.date.max.toordinal()

_UNTIL = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})(?:T([0-9]{2})([0-9]{2})([0-9]{2})(Z?))?")
_BY_DAY_ITEM = re.compile(r"([+-]?[0-9]+)?(MO|TU|WE|TH|FR|SA|SU)")
_SIGNED = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"[0-9]+")


class RuleError(ValueError):
    """A rule outside the supported subset, or malformed: the message names the part to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Until:
    """UNTIL keeps the form it was given in, as RFC 5545 gives each form its own meaning."""

    date: datetime.date | None = None
    local: datetime.datetime | None = None
    instant: datetime.datetime | None = None

    def __post_init__(self) -> None:
        given = [form for form in (self.date, self.local, self.instant) if form is not None]
        if len(given) != 1:
            raise RuleError("UNTIL must be exactly one of a date, a local time or a UTC instant")
        if isinstance(self.date, datetime.datetime):
            raise RuleError("UNTIL as a date must be a calendar date, without a time of day")
        if self.local is not None and (self.local.tzinfo is not None or self.local.microsecond):
            raise RuleError("UNTIL as a local time must be naive and in whole seconds")
        if self.instant is not None and (
            self.instant.utcoffset() != datetime.timedelta(0) or self.instant.microsecond
        ):
            raise RuleError("UNTIL as an instant must be in UTC and in whole seconds")


@dataclass(frozen=True)
class Rule:
    """A rule checked when made, however it is made, so expanding it never meets a bad one."""

    frequency: str
    interval: int = 1
    count: int | None = None
    until: Until | None = None
    by_day: tuple[tuple[int | None, int], ...] = ()
    by_month_day: tuple[int, ...] = ()
    by_month: tuple[int, ...] = ()
    week_start: int = 0

    def __post_init__(self) -> None:
        # Normalised here rather than in parse_rule alone, so that equal rules compare equal.
        object.__setattr__(self, "by_day", tuple(sorted(set(self.by_day), key=_by_day_order)))
        object.__setattr__(self, "by_month_day", tuple(sorted(set(self.by_month_day))))
        object.__setattr__(self, "by_month", tuple(sorted(set(self.by_month))))
        _check(self)

    @property
    def text(self) -> str:
        """One spelling per rule, so rules can be stored and compared as text."""
        parts = [f"FREQ={self.frequency}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append(f"UNTIL={_until_text(self.until)}")
        if self.by_month:
            parts.append(f"BYMONTH={_joined(self.by_month)}")
        if self.by_month_day:
            parts.append(f"BYMONTHDAY={_joined(self.by_month_day)}")
        if self.by_day:
            parts.append(f"BYDAY={','.join(_day_text(entry) for entry in self.by_day)}")
        if self.week_start:
            parts.append(f"WKST={_WEEKDAYS[self.week_start]}")
        return ";".join(parts)


def parse_rule(text: str) -> Rule:
    """Reads an RRULE strictly, so that only rules next_occurrence can expand are accepted."""
    if len(text) > _MAX_TEXT:
        raise RuleError(f"The rule is longer than {_MAX_TEXT} characters")
    if any(character.isspace() for character in text):
        raise RuleError("The rule must not contain whitespace")
    # Checked before upper(), which turns some non-ASCII letters (the dotless i) into ASCII ones.
    if not text.isascii():
        raise RuleError("The rule must be ASCII text")
    body = text.upper().removeprefix("RRULE:")
    if not body:
        raise RuleError("The rule is empty")
    parts: dict[str, str] = {}
    for part in body.split(";"):
        if not part:
            raise RuleError("The rule has an empty part: a semicolon too many")
        name, _, value = part.partition("=")
        if not name:
            raise RuleError(f"The part {part} has no name")
        if name not in _PARTS:
            raise _unsupported(name)
        if name in parts:
            raise RuleError(f"{name} is given more than once")
        if not value:
            raise RuleError(f"{name} has no value")
        parts[name] = value
    if "FREQ" not in parts:
        raise RuleError("FREQ is required")
    return Rule(
        frequency=parts["FREQ"],
        interval=_read(parts, "INTERVAL", lambda value: _whole("INTERVAL", value), 1),
        count=_read(parts, "COUNT", lambda value: _whole("COUNT", value), None),
        until=_read(parts, "UNTIL", _until, None),
        by_day=_read(parts, "BYDAY", lambda value: _list("BYDAY", value, _by_day_item), ()),
        by_month_day=_read(
            parts, "BYMONTHDAY", lambda value: _list("BYMONTHDAY", value, _month_day), ()
        ),
        by_month=_read(parts, "BYMONTH", lambda value: _list("BYMONTH", value, _month), ()),
        week_start=_read(parts, "WKST", _week_start, 0),
    )


def next_occurrence(
    rule: Rule,
    start: datetime.datetime,
    after: datetime.datetime,
    instant_of: Callable[[datetime.datetime], datetime.datetime],
) -> datetime.datetime | None:
    """Walks whole periods from the one holding `after`, so that any rule answers quickly."""
    _require_naive("start", start)
    _require_naive("after", after)
    first_day = start.toordinal()
    since = max(start, after).date()
    for day in _EXPANSIONS[rule.frequency](rule, start.date(), since):
        if day > _LAST_DAY:
            return None
        if day < first_day:
            continue
        occurrence = datetime.datetime.combine(datetime.date.fromordinal(day), start.time())
        if occurrence <= after:
            continue
        # Later candidates are later still: the first past UNTIL ends the series.
        return occurrence if _within(rule.until, occurrence, instant_of) else None
    return None


def _check(rule: Rule) -> None:
    if rule.frequency in _FINER_FREQUENCIES:
        raise RuleError(f"FREQ={rule.frequency} is not supported: the finest is DAILY")
    if rule.frequency not in _FREQUENCIES:
        raise RuleError(f"FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY, not {rule.frequency}")
    if not 1 <= rule.interval <= _LARGEST["INTERVAL"]:
        raise _out_of_range("INTERVAL")
    if rule.count is not None and not 1 <= rule.count <= _LARGEST["COUNT"]:
        raise _out_of_range("COUNT")
    if rule.count is not None and rule.until is not None:
        raise RuleError("COUNT and UNTIL cannot both be given: a series ends in one way")
    _check_by_day(rule)
    _check_months(rule)
    if not 0 <= rule.week_start <= 6:
        raise RuleError("WKST must be a weekday from MO to SU")
    if len(rule.text) > _MAX_TEXT:
        raise RuleError(f"The rule would be longer than {_MAX_TEXT} characters")


def _check_by_day(rule: Rule) -> None:
    for ordinal, weekday in rule.by_day:
        if not 0 <= weekday <= 6:
            raise RuleError("BYDAY weekdays must be from 0 (MO) to 6 (SU)")
        if ordinal is None:
            continue
        if rule.frequency not in ("MONTHLY", "YEARLY"):
            raise RuleError(
                f"BYDAY={_day_text((ordinal, weekday))} has an ordinal,"
                " which is only allowed with FREQ=MONTHLY or FREQ=YEARLY"
            )
        # Without BYMONTH, a YEARLY ordinal counts the weekdays of the whole year.
        in_year = rule.frequency == "YEARLY" and not rule.by_month
        most = 53 if in_year else 5
        if not 1 <= abs(ordinal) <= most:
            raise RuleError(
                f"BYDAY={_day_text((ordinal, weekday))} has an ordinal out of range: a weekday"
                f" occurs at most {most} times a {'year' if in_year else 'month'}"
            )


def _check_months(rule: Rule) -> None:
    for name, values in (("BYMONTHDAY", rule.by_month_day), ("BYMONTH", rule.by_month)):
        if values and rule.frequency not in ("MONTHLY", "YEARLY"):
            raise RuleError(f"{name} is only allowed with FREQ=MONTHLY or FREQ=YEARLY")
    for month_day in rule.by_month_day:
        if not 1 <= abs(month_day) <= 31:
            raise RuleError(
                f"BYMONTHDAY={month_day} is out of range: from 1 to 31, or -31 to -1 from the end"
            )
    for month in rule.by_month:
        if not 1 <= month <= 12:
            raise RuleError(f"BYMONTH={month} is out of range: months are 1 to 12")
    months = rule.by_month or range(1, 13)
    if rule.by_month_day and not any(
        abs(month_day) <= _LONGEST_MONTH[month - 1]
        for month_day in rule.by_month_day
        for month in months
    ):
        raise RuleError(
            f"BYMONTHDAY={_joined(rule.by_month_day)} falls in none of the months"
            f" of BYMONTH={_joined(rule.by_month)}"
        )


def _unsupported(name: str) -> RuleError:
    if name in _LEFT_OUT_PARTS or name.startswith("X-"):
        return RuleError(f"{name} is not supported")
    return RuleError(f"{name} is not supported: RRULE has no such part")


def _out_of_range(name: str) -> RuleError:
    return RuleError(f"{name} must be a whole number from 1 to {_LARGEST[name]}")


def _read(parts: dict[str, str], name: str, read: Callable[[str], _T], default: _T) -> _T:
    value = parts.get(name)
    return default if value is None else read(value)


def _whole(name: str, value: str) -> int:
    if _UNSIGNED.fullmatch(value) is None:
        raise _out_of_range(name)
    return int(value)


def _until(value: str) -> Until:
    match = _UNTIL.fullmatch(value)
    if match is None:
        raise RuleError(
            "UNTIL must be a date YYYYMMDD or a time YYYYMMDDTHHMMSS, with a final Z for UTC"
        )
    year, month, day, hour, minute, second, utc = match.groups()
    try:
        if hour is None:
            return Until(date=datetime.date(int(year), int(month), int(day)))
        moment = datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=datetime.UTC if utc else None,
        )
    except ValueError as error:
        raise RuleError(f"UNTIL={value} is not a valid date or time") from error
    return Until(instant=moment) if utc else Until(local=moment)


def _list(name: str, value: str, read: Callable[[str], _T]) -> tuple[_T, ...]:
    items = value.split(",")
    if "" in items:
        raise RuleError(f"{name} has an empty item: a comma too many")
    return tuple(read(item) for item in items)


def _by_day_item(item: str) -> tuple[int | None, int]:
    match = _BY_DAY_ITEM.fullmatch(item)
    if match is None:
        raise RuleError(
            f"BYDAY item {item} is not a weekday MO to SU, with an optional ordinal like 2 or -1"
        )
    ordinal, weekday = match.groups()
    return (None if ordinal is None else int(ordinal), _WEEKDAYS.index(weekday))


def _month_day(item: str) -> int:
    if _SIGNED.fullmatch(item) is None:
        raise RuleError(f"BYMONTHDAY item {item} is not a whole number")
    return int(item)


def _month(item: str) -> int:
    if _UNSIGNED.fullmatch(item) is None:
        raise RuleError(f"BYMONTH item {item} is not a month number from 1 to 12")
    return int(item)


def _week_start(value: str) -> int:
    if value not in _WEEKDAYS:
        raise RuleError("WKST must be a weekday from MO to SU")
    return _WEEKDAYS.index(value)


def _by_day_order(entry: tuple[int | None, int]) -> tuple[int, bool, int]:
    # None does not compare with numbers: each weekday's plain entry goes before its ordinals.
    ordinal, weekday = entry
    return (weekday, ordinal is not None, ordinal or 0)


def _day_text(entry: tuple[int | None, int]) -> str:
    ordinal, weekday = entry
    return f"{'' if ordinal is None else ordinal}{_WEEKDAYS[weekday]}"


def _joined(numbers: Sequence[int]) -> str:
    return ",".join(str(number) for number in numbers)


def _until_text(until: Until) -> str:
    if until.date is not None:
        return _date_text(until.date)
    if until.local is not None:
        return _date_time_text(until.local)
    assert until.instant is not None
    return f"{_date_time_text(until.instant)}Z"


def _date_text(day: datetime.date) -> str:
    # Not strftime: its %Y does not pad years before 1000 on every platform.
    return f"{day.year:04}{day.month:02}{day.day:02}"


def _date_time_text(moment: datetime.datetime) -> str:
    return f"{_date_text(moment)}T{moment.hour:02}{moment.minute:02}{moment.second:02}"


def _require_naive(name: str, value: datetime.datetime) -> None:
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is not None:
        raise ValueError(f"{name} must be a naive local date-time, without a time zone")


def _within(
    until: Until | None,
    occurrence: datetime.datetime,
    instant_of: Callable[[datetime.datetime], datetime.datetime],
) -> bool:
    if until is None:
        return True
    if until.date is not None:
        return occurrence.date() <= until.date
    if until.local is not None:
        return occurrence <= until.local
    assert until.instant is not None
    return instant_of(occurrence) <= until.instant


# A month's or a year's days depend only on its length and the weekday it begins on: expanding
# each kind once (at most 28 of months, 14 of years) keeps 400 years of periods cheap.
_Kinds = dict[tuple[int, int], list[int]]


# Each expansion yields, as proleptic ordinals in increasing order, the days of the periods from
# the one holding `since` on: some may come before `start` or after `date.max`.


def _daily(rule: Rule, start: datetime.date, since: datetime.date) -> Iterator[int]:
    weekdays = {weekday for _, weekday in rule.by_day}
    first = (since.toordinal() - start.toordinal()) // rule.interval
    # The weekday of the k-th day repeats every 7 periods: the 7 after the one holding `since`
    # (which may be before `after`) reach every weekday the rule ever will.
    for period in range(first, first + 8):
        day = start.toordinal() + period * rule.interval
        if not weekdays or _weekday(day) in weekdays:
            yield day


def _weekly(rule: Rule, start: datetime.date, since: datetime.date) -> Iterator[int]:
    week = start.toordinal() - (start.weekday() - rule.week_start) % 7
    span = 7 * rule.interval
    weekdays = {weekday for _, weekday in rule.by_day} or {start.weekday()}
    offsets = sorted((weekday - rule.week_start) % 7 for weekday in weekdays)
    first = (since.toordinal() - week) // span
    # Every week has a day and the next week is wholly after `since`: two weeks are enough.
    for period in (first, first + 1):
        for offset in offsets:
            yield week + period * span + offset


def _monthly(rule: Rule, start: datetime.date, since: datetime.date) -> Iterator[int]:
    origin = _month_index(start)
    first = (_month_index(since) - origin) // rule.interval
    last = min(_month_index(since) + 12 * _HORIZON_YEARS, _month_index(datetime.date.max))
    kinds: _Kinds = {}
    month_days = partial(_month_days, rule, start.day)
    for index in range(origin + first * rule.interval, last + 1, rule.interval):
        year, month = divmod(index, 12)
        if not rule.by_month or month + 1 in rule.by_month:
            yield from _by_kind(kinds, _month_span(year, month + 1), month_days)


def _yearly(rule: Rule, start: datetime.date, since: datetime.date) -> Iterator[int]:
    first = (since.year - start.year) // rule.interval
    last = min(since.year + _HORIZON_YEARS, datetime.MAXYEAR)
    months = rule.by_month or (range(1, 13) if rule.by_month_day else (start.month,))
    kinds: _Kinds = {}
    month_days = partial(_month_days, rule, start.day)
    year_days = partial(_weekdays_between, rule)
    for year in range(start.year + first * rule.interval, last + 1, rule.interval):
        if rule.by_day and not rule.by_month:
            year_span = (
                datetime.date(year, 1, 1).toordinal(),
                datetime.date(year, 12, 31).toordinal(),
            )
            yield from _by_kind(kinds, year_span, year_days)
        else:
            for month in months:
                yield from _by_kind(kinds, _month_span(year, month), month_days)


_EXPANSIONS: dict[str, Callable[[Rule, datetime.date, datetime.date], Iterator[int]]] = {
    "DAILY": _daily,
    "WEEKLY": _weekly,
    "MONTHLY": _monthly,
    "YEARLY": _yearly,
}


def _by_kind(
    kinds: _Kinds, span: tuple[int, int], days: Callable[[int, int], list[int]]
) -> list[int]:
    first, last = span
    kind = (_weekday(first), last - first)
    if kind not in kinds:
        kinds[kind] = [day - first for day in days(first, last)]
    return [first + offset for offset in kinds[kind]]


def _month_span(year: int, month: int) -> tuple[int, int]:
    first = datetime.date(year, month, 1).toordinal()
    return (first, first + calendar.monthrange(year, month)[1] - 1)


def _month_days(rule: Rule, start_day: int, first: int, last: int) -> list[int]:
    if rule.by_day:
        return _weekdays_between(rule, first, last)
    length = last - first + 1
    numbers = {
        month_day if month_day > 0 else length + 1 + month_day
        for month_day in rule.by_month_day or (start_day,)
    }
    # A day the month lacks gives no occurrence that month (RFC 5545), rather than the last day.
    return sorted(first + number - 1 for number in numbers if 1 <= number <= length)


def _weekdays_between(rule: Rule, first: int, last: int) -> list[int]:
    # `first` to `last` is a month or a year: long enough for every weekday to occur in it.
    days: set[int] = set()
    for ordinal, weekday in rule.by_day:
        earliest = first + (weekday - _weekday(first)) % 7
        latest = last - (_weekday(last) - weekday) % 7
        if ordinal is None:
            days.update(range(earliest, latest + 1, 7))
        elif ordinal > 0 and earliest + 7 * (ordinal - 1) <= last:
            days.add(earliest + 7 * (ordinal - 1))
        elif ordinal < 0 and latest + 7 * (ordinal + 1) >= first:
            days.add(latest + 7 * (ordinal + 1))
    if rule.by_month_day:
        days = {day for day in days if _is_month_day(day, rule.by_month_day)}
    return sorted(days)


def _is_month_day(day: int, month_days: Sequence[int]) -> bool:
    date = datetime.date.fromordinal(day)
    length = calendar.monthrange(date.year, date.month)[1]
    return date.day in month_days or date.day - length - 1 in month_days


def _weekday(day: int) -> int:
    # Ordinal 1, 1 January of year 1, was a Monday.
    return (day - 1) % 7


def _month_index(day: datetime.date) -> int:
    return 12 * day.year + day.month - 1
