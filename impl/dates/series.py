"""Where a recurring task goes next: its due date's next occurrence, in the due date's own form
and zone, by a rule of the supported RRULE subset (impl/dates/recurrence.py)."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from impl.dates.due import DateRefused, Due
from impl.dates.recurrence import RuleError, next_occurrence, parse_rule
from impl.dates.zones import Clock, zone

FROM_DUE = "due"
FROM_COMPLETION = "completion"


@dataclass(frozen=True, slots=True)
class Advance:
    """What completing (or skipping) the current occurrence does: the next due date and the
    rule that goes with it (one fewer left under COUNT), or None for both when it was the last."""

    due: Due | None
    recurrence: dict[str, Any] | None


def stored_recurrence(
    rule_text: str, counts_from: str, at: tuple[str | int, ...]
) -> dict[str, Any]:
    """A `RecurrenceInput` as stored: its rule in canonical form; 422 on the rule's location
    `at` when it is outside the subset."""
    try:
        rule = parse_rule(rule_text)
    except RuleError as error:
        raise DateRefused((*at, "rule"), error.message, "recurrence_rule") from None
    return {"rule": rule.text, "from": counts_from}


def check_occurs(
    recurrence: dict[str, Any], due: Due, user_zone: Clock, at: tuple[str | int, ...]
) -> None:
    """422 on the rule unless it gives an occurrence from `due` on (the due date itself, or a
    later one)."""
    rule = parse_rule(recurrence["rule"])
    clock = _own_clock(due, user_zone)
    start = due.local()
    if next_occurrence(rule, start, start - timedelta(microseconds=1), clock.instant) is None:
        raise DateRefused(
            (*at, "rule"), "The rule gives no occurrence from the due date on", "recurrence_empty"
        )


def advance(
    due: Due, recurrence: dict[str, Any], user_zone: Clock, completed_at: datetime
) -> Advance:
    """The occurrence after the current one: counted from the current due date, or from the day
    of `completed_at` in the due date's zone at the due date's time of day."""
    rule = parse_rule(recurrence["rule"])
    if rule.count == 1:
        return Advance(None, None)
    clock = _own_clock(due, user_zone)
    anchor = due.local()
    if recurrence["from"] == FROM_COMPLETION:
        anchor = datetime.combine(clock.local(completed_at).date(), anchor.time())
    following = next_occurrence(rule, anchor, anchor, clock.instant)
    if following is None:
        return Advance(None, None)
    left = rule if rule.count is None else replace(rule, count=rule.count - 1)
    time_of_day = None if due.time_of_day is None else following.time()
    next_due = Due(following.date(), time_of_day, due.zone_name)
    return Advance(next_due, {**recurrence, "rule": left.text})


def _own_clock(due: Due, user_zone: Clock) -> Clock:
    return user_zone if due.zone_name is None else Clock(zone(due.zone_name))
