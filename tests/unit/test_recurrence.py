"""Recurrence rules (impl/dates/recurrence.py): the RFC 5545 expansion of the supported subset, and
a refusal, naming the part, of every rule outside it.

Every expected date is written out by hand, from a calendar: never computed.
"""

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from impl.dates.recurrence import Rule, RuleError, Until, next_occurrence, parse_rule

BERLIN = ZoneInfo("Europe/Berlin")
InstantOf = Callable[[datetime], datetime]


def in_utc(local: datetime) -> datetime:
    return local.replace(tzinfo=UTC)


def in_berlin(local: datetime) -> datetime:
    return local.replace(tzinfo=BERLIN).astimezone(UTC)


def occurrences(
    text: str,
    start: datetime,
    count: int,
    after: datetime = datetime.min,
    instant_of: InstantOf = in_utc,
) -> list[datetime | None]:
    """The next `count` occurrences, as a caller walks a series; None, and no more, once it ends."""
    rule = parse_rule(text)
    found: list[datetime | None] = []
    while len(found) < count:
        occurrence = next_occurrence(rule, start, after, instant_of)
        found.append(occurrence)
        if occurrence is None:
            break
        after = occurrence
    return found


def test_weekly_on_monday_and_wednesday_gives_both_days_of_every_week() -> None:
    start = datetime(2027, 1, 4, 9)  # a Monday

    found = occurrences("FREQ=WEEKLY;BYDAY=MO,WE", start, 5)

    assert found == [
        datetime(2027, 1, 4, 9),
        datetime(2027, 1, 6, 9),
        datetime(2027, 1, 11, 9),
        datetime(2027, 1, 13, 9),
        datetime(2027, 1, 18, 9),
    ]


def test_a_start_on_a_day_the_rule_does_not_name_is_no_occurrence() -> None:
    start = datetime(2027, 1, 5, 9)  # a Tuesday

    found = occurrences("FREQ=WEEKLY;BYDAY=MO,WE", start, 3)

    assert found == [datetime(2027, 1, 6, 9), datetime(2027, 1, 11, 9), datetime(2027, 1, 13, 9)]


def test_weekly_without_byday_repeats_the_weekday_of_the_start() -> None:
    start = datetime(2027, 1, 7, 18, 30)  # a Thursday

    found = occurrences("FREQ=WEEKLY", start, 3)

    assert found == [
        datetime(2027, 1, 7, 18, 30),
        datetime(2027, 1, 14, 18, 30),
        datetime(2027, 1, 21, 18, 30),
    ]


def test_every_occurrence_keeps_the_time_of_day_of_the_start() -> None:
    start = datetime(2027, 3, 1, 7, 30, 15)

    found = occurrences("FREQ=MONTHLY;BYMONTHDAY=1,15", start, 3)

    assert found == [
        datetime(2027, 3, 1, 7, 30, 15),
        datetime(2027, 3, 15, 7, 30, 15),
        datetime(2027, 4, 1, 7, 30, 15),
    ]


def test_daily_with_interval_3_runs_on_across_the_end_of_a_month() -> None:
    start = datetime(2027, 1, 30, 8)

    found = occurrences("FREQ=DAILY;INTERVAL=3", start, 4)

    assert found == [
        datetime(2027, 1, 30, 8),
        datetime(2027, 2, 2, 8),
        datetime(2027, 2, 5, 8),
        datetime(2027, 2, 8, 8),
    ]


def test_daily_with_byday_keeps_only_the_days_named() -> None:
    start = datetime(2027, 1, 1, 10)  # a Friday

    found = occurrences("FREQ=DAILY;BYDAY=SA,SU", start, 4)

    assert found == [
        datetime(2027, 1, 2, 10),
        datetime(2027, 1, 3, 10),
        datetime(2027, 1, 9, 10),
        datetime(2027, 1, 10, 10),
    ]


def test_monthly_on_the_31st_skips_shorter_months() -> None:
    start = datetime(2027, 1, 31, 9)

    found = occurrences("FREQ=MONTHLY", start, 8)

    assert found == [
        datetime(2027, 1, 31, 9),
        datetime(2027, 3, 31, 9),
        datetime(2027, 5, 31, 9),
        datetime(2027, 7, 31, 9),
        datetime(2027, 8, 31, 9),
        datetime(2027, 10, 31, 9),
        datetime(2027, 12, 31, 9),
        datetime(2028, 1, 31, 9),
    ]


def test_monthly_bymonthday_31_skips_shorter_months_too() -> None:
    start = datetime(2027, 4, 1, 9)

    found = occurrences("FREQ=MONTHLY;BYMONTHDAY=31", start, 3)

    assert found == [datetime(2027, 5, 31, 9), datetime(2027, 7, 31, 9), datetime(2027, 8, 31, 9)]


def test_monthly_on_the_last_friday() -> None:
    start = datetime(2027, 1, 1, 16)

    found = occurrences("FREQ=MONTHLY;BYDAY=-1FR", start, 4)

    assert found == [
        datetime(2027, 1, 29, 16),
        datetime(2027, 2, 26, 16),
        datetime(2027, 3, 26, 16),
        datetime(2027, 4, 30, 16),
    ]


def test_monthly_on_the_second_tuesday() -> None:
    start = datetime(2027, 1, 1, 16)

    found = occurrences("FREQ=MONTHLY;BYDAY=2TU", start, 4)

    assert found == [
        datetime(2027, 1, 12, 16),
        datetime(2027, 2, 9, 16),
        datetime(2027, 3, 9, 16),
        datetime(2027, 4, 13, 16),
    ]


def test_monthly_on_the_last_day_follows_the_length_of_each_month() -> None:
    start = datetime(2028, 1, 1, 12)

    found = occurrences("FREQ=MONTHLY;BYMONTHDAY=-1", start, 4)

    assert found == [
        datetime(2028, 1, 31, 12),
        datetime(2028, 2, 29, 12),
        datetime(2028, 3, 31, 12),
        datetime(2028, 4, 30, 12),
    ]


def test_monthly_with_bymonthday_and_byday_gives_the_days_that_are_both() -> None:
    start = datetime(2027, 1, 1, 13)

    found = occurrences("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", start, 4)

    assert found == [
        datetime(2027, 8, 13, 13),
        datetime(2028, 10, 13, 13),
        datetime(2029, 4, 13, 13),
        datetime(2029, 7, 13, 13),
    ]


def test_monthly_bymonth_keeps_only_the_months_named() -> None:
    start = datetime(2027, 1, 1, 9)

    found = occurrences("FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1", start, 5)

    assert found == [
        datetime(2027, 3, 31, 9),
        datetime(2027, 6, 30, 9),
        datetime(2027, 9, 30, 9),
        datetime(2027, 12, 31, 9),
        datetime(2028, 3, 31, 9),
    ]


def test_yearly_on_29_february_occurs_only_in_leap_years() -> None:
    start = datetime(2028, 2, 29, 9)

    found = occurrences("FREQ=YEARLY", start, 3)

    assert found == [datetime(2028, 2, 29, 9), datetime(2032, 2, 29, 9), datetime(2036, 2, 29, 9)]


def test_yearly_on_the_fourth_thursday_of_november_is_us_thanksgiving() -> None:
    start = datetime(2027, 1, 1, 12)

    found = occurrences("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", start, 4)

    assert found == [
        datetime(2027, 11, 25, 12),
        datetime(2028, 11, 23, 12),
        datetime(2029, 11, 22, 12),
        datetime(2030, 11, 28, 12),
    ]


def test_yearly_byday_with_an_ordinal_and_no_bymonth_counts_within_the_year() -> None:
    start = datetime(2027, 1, 1, 9)

    found = occurrences("FREQ=YEARLY;BYDAY=20MO", start, 2)

    # 2027's Mondays begin on 4 January, 2028's on 3 January: 19 weeks on.
    assert found == [datetime(2027, 5, 17, 9), datetime(2028, 5, 15, 9)]


def test_yearly_bymonthday_without_bymonth_gives_that_day_of_every_month() -> None:
    start = datetime(2027, 1, 1, 9)

    found = occurrences("FREQ=YEARLY;BYMONTHDAY=1", start, 3)

    assert found == [datetime(2027, 1, 1, 9), datetime(2027, 2, 1, 9), datetime(2027, 3, 1, 9)]


def test_yearly_bymonth_alone_gives_the_day_of_the_start_in_each_month_named() -> None:
    start = datetime(2027, 1, 15, 9)

    found = occurrences("FREQ=YEARLY;BYMONTH=1,7", start, 3)

    assert found == [datetime(2027, 1, 15, 9), datetime(2027, 7, 15, 9), datetime(2028, 1, 15, 9)]


@pytest.mark.parametrize(
    ("week_start", "days"),
    [("MO", [5, 10, 19, 24]), ("SU", [5, 17, 19, 31])],
)
def test_the_week_start_decides_which_weeks_a_fortnightly_rule_keeps(
    week_start: str, days: list[int]
) -> None:
    # RFC 5545, section 3.3.10: the same rule from Tuesday 5 August 1997, with either WKST.
    start = datetime(1997, 8, 5, 9)

    found = occurrences(f"FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST={week_start}", start, 4)

    assert found == [datetime(1997, 8, day, 9) for day in days]


def test_until_as_a_date_includes_that_whole_day() -> None:
    start = datetime(2027, 1, 1, 23, 30)

    found = occurrences("FREQ=DAILY;UNTIL=20270103", start, 5)

    assert found == [
        datetime(2027, 1, 1, 23, 30),
        datetime(2027, 1, 2, 23, 30),
        datetime(2027, 1, 3, 23, 30),
        None,
    ]


@pytest.mark.parametrize(
    ("until", "last_day"),
    [("20270103T090000", 3), ("20270103T085959", 2)],
)
def test_until_as_a_local_time_includes_an_occurrence_at_that_time(
    until: str, last_day: int
) -> None:
    start = datetime(2027, 1, 1, 9)

    found = occurrences(f"FREQ=DAILY;UNTIL={until}", start, 5)

    assert found == [datetime(2027, 1, day, 9) for day in range(1, last_day + 1)] + [None]


@pytest.mark.parametrize(
    ("until", "last_day"),
    [("20270103T080000Z", 3), ("20270103T075959Z", 2)],
)
def test_until_as_an_instant_includes_an_occurrence_at_that_instant(
    until: str, last_day: int
) -> None:
    start = datetime(2027, 1, 1, 9)  # 08:00 in UTC: Berlin is an hour ahead in winter

    found = occurrences(f"FREQ=DAILY;UNTIL={until}", start, 5, instant_of=in_berlin)

    assert found == [datetime(2027, 1, day, 9) for day in range(1, last_day + 1)] + [None]


@pytest.mark.parametrize(
    ("instant_of", "last_day"),
    [(in_berlin, 2), (in_utc, 1)],
)
def test_until_as_an_instant_compares_the_instants_the_caller_gives(
    instant_of: InstantOf, last_day: int
) -> None:
    start = datetime(2027, 7, 1, 9)  # 07:00 in UTC in Berlin's summer time, 09:00 in UTC's

    found = occurrences("FREQ=DAILY;UNTIL=20270702T070000Z", start, 5, instant_of=instant_of)

    assert found == [datetime(2027, 7, day, 9) for day in range(1, last_day + 1)] + [None]


def test_a_series_whose_until_has_passed_has_no_next_occurrence() -> None:
    rule = parse_rule("FREQ=WEEKLY;UNTIL=20270601")

    found = next_occurrence(rule, datetime(2027, 1, 1, 9), datetime(2030, 1, 1), in_utc)

    assert found is None


def test_count_is_left_to_the_caller() -> None:
    start = datetime(2027, 1, 1, 9)

    found = occurrences("FREQ=DAILY;COUNT=2", start, 3)

    assert found == [datetime(2027, 1, 1, 9), datetime(2027, 1, 2, 9), datetime(2027, 1, 3, 9)]


def test_the_next_occurrence_is_strictly_after_after() -> None:
    rule = parse_rule("FREQ=DAILY")

    found = next_occurrence(rule, datetime(2027, 1, 1, 9), datetime(2027, 1, 5, 9), in_utc)

    assert found == datetime(2027, 1, 6, 9)


def test_an_after_before_the_start_gives_the_start() -> None:
    rule = parse_rule("FREQ=MONTHLY;BYMONTHDAY=10")

    found = next_occurrence(rule, datetime(2027, 3, 10, 9), datetime(2020, 1, 1), in_utc)

    assert found == datetime(2027, 3, 10, 9)


def test_daily_a_century_on_keeps_the_step_of_the_interval() -> None:
    rule = parse_rule("FREQ=DAILY;INTERVAL=3")

    found = next_occurrence(rule, datetime(2027, 1, 1, 9), datetime(2127, 1, 1), in_utc)

    # 2027-01-01 to 2127-01-01 is 36,524 days (24 leap days: 2100 is none), 2 more than a multiple
    # of 3: the occurrence before is on 30 December 2126.
    assert found == datetime(2127, 1, 2, 9)


def test_fortnightly_a_century_on_keeps_the_weeks_of_the_start() -> None:
    rule = parse_rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU")
    start = datetime(1997, 8, 5, 9)

    found = [
        next_occurrence(rule, start, after, in_utc)
        for after in (datetime(2097, 8, 5), datetime(2097, 8, 6, 9), datetime(2097, 8, 10))
    ]

    # 1997-08-03, the Sunday the first week begins, to 2097-08-04 is 36,526 days: 5,218 weeks,
    # an even number. The Sunday 2097-08-11 begins a week the rule leaves out.
    assert found == [datetime(2097, 8, 6, 9), datetime(2097, 8, 18, 9), datetime(2097, 8, 18, 9)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FREQ=MONTHLY;BYDAY=-1FR", datetime(2427, 1, 29, 16)),
        ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", datetime(2427, 11, 25, 16)),
        ("FREQ=YEARLY;BYDAY=20MO", datetime(2427, 5, 17, 16)),
    ],
)
def test_four_centuries_on_the_calendar_and_the_occurrences_repeat(
    text: str, expected: datetime
) -> None:
    # The Gregorian calendar, weekdays included, repeats every 400 years: 2427 is 2027 again.
    rule = parse_rule(text)

    found = next_occurrence(rule, datetime(2027, 1, 1, 16), datetime(2427, 1, 1), in_utc)

    assert found == expected


def test_the_series_ends_with_the_calendar() -> None:
    rule = parse_rule("FREQ=DAILY")
    start = datetime(1, 1, 1)

    found = [
        next_occurrence(rule, start, after, in_utc)
        for after in (datetime(9999, 12, 30, 12), datetime(9999, 12, 31))
    ]

    assert found == [datetime(9999, 12, 31), None]


@pytest.mark.parametrize(
    ("text", "start"),
    [
        # A fifth Monday is the 29th, 30th or 31st: never the 1st.
        ("FREQ=MONTHLY;BYMONTHDAY=1;BYDAY=5MO", datetime(2027, 1, 1)),
        # The first Monday of a year is from 1 to 7 January.
        ("FREQ=YEARLY;BYMONTHDAY=15;BYDAY=1MO", datetime(2027, 1, 1)),
        # Every other month from January: never February.
        ("FREQ=MONTHLY;INTERVAL=2;BYMONTH=2", datetime(2027, 1, 30)),
        # February has no 30th, the day of the start.
        ("FREQ=MONTHLY;BYMONTH=2", datetime(2027, 1, 30)),
        # Every seventh day from a Monday is a Monday.
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", datetime(2027, 1, 4)),
        # Fifth and last-but-four weekdays fall on the 29th to 31st and the 1st to 3rd.
        (
            "FREQ=MONTHLY;BYMONTHDAY=8,9,10,11,12,13,14,15,16,17,18,19,20,21,22"
            ";BYDAY=5MO,5TU,5WE,5TH,5FR,5SA,5SU,-5MO,-5TU,-5WE,-5TH,-5FR,-5SA,-5SU",
            datetime(2027, 1, 1),
        ),
    ],
)
def test_a_rule_that_never_occurs_gives_none_quickly(text: str, start: datetime) -> None:
    rule = parse_rule(text)

    began = time.perf_counter()
    found = next_occurrence(rule, start, datetime(2030, 1, 1), in_utc)
    took = time.perf_counter() - began

    assert found is None
    assert took < 0.1


def test_start_and_after_must_be_naive() -> None:
    rule = parse_rule("FREQ=DAILY")
    aware = datetime(2027, 1, 1, tzinfo=UTC)

    with pytest.raises(ValueError, match="start"):
        next_occurrence(rule, aware, datetime(2027, 1, 1), in_utc)
    with pytest.raises(ValueError, match="after"):
        next_occurrence(rule, datetime(2027, 1, 1), aware, in_utc)


def test_start_must_be_a_date_and_time() -> None:
    rule = parse_rule("FREQ=DAILY")

    with pytest.raises(TypeError, match="start"):
        next_occurrence(rule, date(2027, 1, 1), datetime(2027, 1, 1), in_utc)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FREQ=HOURLY", "FREQ=HOURLY is not supported: the finest is DAILY"),
        ("FREQ=MINUTELY", "FREQ=MINUTELY is not supported"),
        ("FREQ=SECONDLY", "FREQ=SECONDLY is not supported"),
        ("FREQ=FORTNIGHTLY", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"),
        ("INTERVAL=2", "FREQ is required"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 999"),
        ("FREQ=DAILY;INTERVAL=1000", "INTERVAL must be a whole number from 1 to 999"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL must be a whole number from 1 to 999"),
        ("FREQ=DAILY;INTERVAL=+2", "INTERVAL must be a whole number from 1 to 999"),
        ("FREQ=DAILY;INTERVAL=two", "INTERVAL must be a whole number from 1 to 999"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be a whole number from 1 to 1000"),
        ("FREQ=DAILY;COUNT=1001", "COUNT must be a whole number from 1 to 1000"),
        ("FREQ=DAILY;UNTIL=2027010", "UNTIL must be a date YYYYMMDD or a time YYYYMMDDTHHMMSS"),
        ("FREQ=DAILY;UNTIL=20270101T0900", "UNTIL must be a date YYYYMMDD"),
        ("FREQ=DAILY;UNTIL=20270101Z", "UNTIL must be a date YYYYMMDD"),
        ("FREQ=DAILY;UNTIL=2027-01-01", "UNTIL must be a date YYYYMMDD"),
        ("FREQ=DAILY;UNTIL=20270230", "UNTIL=20270230 is not a valid date or time"),
        ("FREQ=DAILY;UNTIL=00000101", "UNTIL=00000101 is not a valid date or time"),
        ("FREQ=DAILY;UNTIL=20270101T240000Z", "UNTIL=20270101T240000Z is not a valid"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20270101", "COUNT and UNTIL cannot both be given"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY item XX is not a weekday MO to SU"),
        ("FREQ=WEEKLY;BYDAY=+MO", "BYDAY item +MO is not a weekday MO to SU"),
        ("FREQ=WEEKLY;BYDAY=MO,,WE", "BYDAY has an empty item"),
        ("FREQ=WEEKLY;BYDAY=MO,", "BYDAY has an empty item"),
        ("FREQ=DAILY;BYDAY=1MO", "BYDAY=1MO has an ordinal, which is only allowed with"),
        ("FREQ=WEEKLY;BYDAY=-1FR", "BYDAY=-1FR has an ordinal, which is only allowed with"),
        ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY=6MO has an ordinal out of range"),
        ("FREQ=MONTHLY;BYDAY=-6MO", "BYDAY=-6MO has an ordinal out of range"),
        ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY=0MO has an ordinal out of range"),
        ("FREQ=YEARLY;BYMONTH=3;BYDAY=6MO", "BYDAY=6MO has an ordinal out of range"),
        ("FREQ=YEARLY;BYDAY=54MO", "BYDAY=54MO has an ordinal out of range"),
        ("FREQ=YEARLY;BYDAY=-54SU", "BYDAY=-54SU has an ordinal out of range"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY=0 is out of range"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY=32 is out of range"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY=-32 is out of range"),
        ("FREQ=MONTHLY;BYMONTHDAY=first", "BYMONTHDAY item FIRST is not a whole number"),
        ("FREQ=DAILY;BYMONTHDAY=1", "BYMONTHDAY is only allowed with FREQ=MONTHLY"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY is only allowed with FREQ=MONTHLY"),
        ("FREQ=YEARLY;BYMONTH=0", "BYMONTH=0 is out of range"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH=13 is out of range"),
        ("FREQ=YEARLY;BYMONTH=-1", "BYMONTH item -1 is not a month number"),
        ("FREQ=DAILY;BYMONTH=1", "BYMONTH is only allowed with FREQ=MONTHLY"),
        ("FREQ=WEEKLY;BYMONTH=1", "BYMONTH is only allowed with FREQ=MONTHLY"),
        ("FREQ=WEEKLY;WKST=XX", "WKST must be a weekday from MO to SU"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30,31", "BYMONTHDAY=30,31 falls in none of the"),
        ("FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=31", "BYMONTHDAY=31 falls in none of the months"),
        ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=-30", "BYMONTHDAY=-30 falls in none of the"),
        ("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO", "BYSETPOS is not supported"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY is not supported"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO is not supported"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR is not supported"),
        ("FREQ=DAILY;BYMINUTE=30", "BYMINUTE is not supported"),
        ("FREQ=DAILY;BYSECOND=0", "BYSECOND is not supported"),
        ("RSCALE=GREGORIAN;FREQ=YEARLY", "RSCALE is not supported"),
        ("FREQ=YEARLY;SKIP=FORWARD", "SKIP is not supported"),
        ("FREQ=DAILY;X-NAME=1", "X-NAME is not supported"),
        ("FREQ=DAILY;EVERY=2", "EVERY is not supported: RRULE has no such part"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given more than once"),
        ("FREQ=DAILY;interval=2;INTERVAL=3", "INTERVAL is given more than once"),
        ("FREQ=DAILY;INTERVAL", "INTERVAL has no value"),
        ("FREQ=DAILY;INTERVAL=", "INTERVAL has no value"),
        ("FREQ=DAILY;=2", "The part =2 has no name"),
        ("FREQ=DAILY;;INTERVAL=2", "The rule has an empty part"),
        ("FREQ=DAILY;", "The rule has an empty part"),
        ("FREQ=DAILY; INTERVAL=2", "The rule must not contain whitespace"),
        (" FREQ=DAILY", "The rule must not contain whitespace"),
        ("FREQ=DAILY\n", "The rule must not contain whitespace"),
        ("FREQ=DA\u0131LY", "The rule must be ASCII text"),
        ("FREQ=DAILY;INTERVAL=\u0663", "The rule must be ASCII text"),
        ("", "The rule is empty"),
        ("RRULE:", "The rule is empty"),
        ("FREQ=WEEKLY;BYDAY=" + ",".join(["MO"] * 100), "The rule is longer than 300 characters"),
    ],
)
def test_a_rule_outside_the_subset_is_refused_naming_the_part(text: str, message: str) -> None:
    with pytest.raises(RuleError, match=re.escape(message)):
        parse_rule(text)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("freq=weekly;byday=we,mo", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("RRULE:FREQ=DAILY", "FREQ=DAILY"),
        ("rrule:freq=daily;interval=1", "FREQ=DAILY"),
        ("FREQ=DAILY;INTERVAL=003", "FREQ=DAILY;INTERVAL=3"),
        ("WKST=SU;FREQ=WEEKLY;INTERVAL=2", "FREQ=WEEKLY;INTERVAL=2;WKST=SU"),
        ("FREQ=WEEKLY;WKST=MO", "FREQ=WEEKLY"),
        ("FREQ=WEEKLY;BYDAY=MO,MO,TU", "FREQ=WEEKLY;BYDAY=MO,TU"),
        ("FREQ=MONTHLY;BYDAY=-1FR,+2TU,FR", "FREQ=MONTHLY;BYDAY=2TU,FR,-1FR"),
        ("FREQ=MONTHLY;BYMONTHDAY=+15,-1,1,15", "FREQ=MONTHLY;BYMONTHDAY=-1,1,15"),
        (
            "BYDAY=4TH;BYMONTH=11,11;FREQ=YEARLY;COUNT=10",
            "FREQ=YEARLY;COUNT=10;BYMONTH=11;BYDAY=4TH",
        ),
        ("FREQ=DAILY;UNTIL=20270101", "FREQ=DAILY;UNTIL=20270101"),
        ("FREQ=DAILY;UNTIL=20270101t090000", "FREQ=DAILY;UNTIL=20270101T090000"),
        ("FREQ=DAILY;UNTIL=20270101T090000z", "FREQ=DAILY;UNTIL=20270101T090000Z"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-29"),
        ("FREQ=YEARLY;BYDAY=53MO,-53SU", "FREQ=YEARLY;BYDAY=53MO,-53SU"),
        ("FREQ=DAILY;UNTIL=00010101", "FREQ=DAILY;UNTIL=00010101"),
    ],
)
def test_a_rule_has_one_canonical_text_that_reads_back_as_the_same_rule(
    text: str, canonical: str
) -> None:
    rule = parse_rule(text)

    assert rule.text == canonical
    assert parse_rule(rule.text) == rule


def test_the_three_forms_of_until_are_kept_apart() -> None:
    forms = [
        parse_rule(f"FREQ=DAILY;UNTIL={until}").until
        for until in ("20270101", "20270101T090000", "20270101T090000Z")
    ]

    assert forms == [
        Until(date=date(2027, 1, 1)),
        Until(local=datetime(2027, 1, 1, 9)),
        Until(instant=datetime(2027, 1, 1, 9, tzinfo=UTC)),
    ]


def test_a_rule_made_directly_is_normalised_like_a_parsed_one() -> None:
    rule = Rule("WEEKLY", by_day=((None, 2), (None, 0), (None, 2)))

    assert rule == parse_rule("FREQ=WEEKLY;BYDAY=MO,WE")
    assert rule.by_day == ((None, 0), (None, 2))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Rule("DAILY", interval=0), "INTERVAL must be a whole number from 1 to 999"),
        (lambda: Rule("daily"), "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"),
        (lambda: Rule("WEEKLY", by_day=((None, 7),)), "BYDAY weekdays must be from 0 (MO)"),
        (lambda: Rule("WEEKLY", week_start=7), "WKST must be a weekday from MO to SU"),
        (
            lambda: Rule("YEARLY", by_day=tuple((n, 0) for n in range(-53, 54) if n)),
            "The rule would be longer than 300 characters",
        ),
        (lambda: Until(), "UNTIL must be exactly one of"),
        (
            lambda: Until(date=date(2027, 1, 1), local=datetime(2027, 1, 1)),
            "UNTIL must be exactly one of",
        ),
        (lambda: Until(date=datetime(2027, 1, 1)), "UNTIL as a date must be a calendar date"),
        (lambda: Until(local=datetime(2027, 1, 1, tzinfo=UTC)), "UNTIL as a local time must"),
        (lambda: Until(local=datetime(2027, 1, 1, 9, 0, 0, 1)), "UNTIL as a local time must"),
        (lambda: Until(instant=datetime(2027, 1, 1)), "UNTIL as an instant must be in UTC"),
        (
            lambda: Until(instant=datetime(2027, 1, 1, tzinfo=BERLIN)),
            "UNTIL as an instant must be in UTC",
        ),
    ],
)
def test_a_rule_made_directly_is_checked_like_a_parsed_one(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(RuleError, match=re.escape(message)):
        make()
