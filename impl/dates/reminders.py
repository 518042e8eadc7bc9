"""A task's reminders as stored: each at an instant (`at`) or some minutes before the due date
(`minutes_before`). Their fire times are computed by the database (migration 0031), from these
and the task's `due_at`, whichever write sets them."""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import MISSING

from contract_runtime.formats import within_the_range
from generated.models import ReminderInput
from impl.dates.due import DateRefused
from impl.json import dumps


def stored_reminders(
    reminders: Iterable[ReminderInput], at: tuple[str | int, ...]
) -> list[dict[str, Any]]:
    """The reminders as stored (without their fire times), each once, in the order first given;
    422 at the location `at` of one that names neither `at` nor `minutes_before`, or both."""
    stored: list[dict[str, Any]] = []
    for index, reminder in enumerate(reminders):
        instant = None if reminder.at in (None, MISSING) else reminder.at
        minutes = None if reminder.minutes_before in (None, MISSING) else reminder.minutes_before
        if (instant is None) == (minutes is None):
            raise DateRefused((*at, index), "Set one of `at` and `minutes_before`", "reminder_form")
        rule = {
            "at": None if instant is None else api_instant(instant),
            "minutes_before": None if minutes is None else minutes.root,
        }
        if rule not in stored:
            stored.append(rule)
    return stored


def api_instant(instant: datetime) -> str:
    """An instant as the service writes one in JSON (UTC, `Z`); the database's `api_instant`
    writes fire times the same way."""
    return dumps(instant.astimezone(UTC)).decode().strip('"')


def reminder_rules(reminders: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A task's stored reminders without their fire times: as a write sets them."""
    return [{"at": rule["at"], "minutes_before": rule["minutes_before"]} for rule in reminders]


def moved_reminders(reminders: Iterable[Mapping[str, Any]], by: timedelta) -> list[dict[str, Any]]:
    """A recurring task's reminders when its due date moves `by`: an `at` moves as much (one
    that would leave the range of date-times stays where it is); the others follow the due
    date by themselves."""
    moved = []
    for rule in reminder_rules(reminders):
        if rule["at"] is not None:
            rule["at"] = _moved(rule["at"], by)
        moved.append(rule)
    return moved


def _moved(instant_text: str, by: timedelta) -> str:
    try:
        return api_instant(within_the_range(datetime.fromisoformat(instant_text) + by))
    except (OverflowError, ValueError):
        return instant_text
