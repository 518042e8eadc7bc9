"""Reminders as the service stores them: one of two forms, each once, and how a recurring task's
move to its next occurrence carries them."""

from datetime import timedelta

import pytest

from generated.models import ReminderInput
from impl.dates.due import DateRefused
from impl.dates.reminders import moved_reminders, stored_reminders

AT = ("body", "reminders")


def given(*reminders: dict[str, object]) -> list[ReminderInput]:
    return [ReminderInput.model_validate(reminder) for reminder in reminders]


def test_an_instant_is_stored_in_utc_and_a_reminder_given_twice_once() -> None:
    stored = stored_reminders(
        given(
            {"at": "2027-01-01T10:00:00+01:00"},
            {"minutes_before": 15},
            {"at": "2027-01-01T09:00:00Z"},
            {"minutes_before": 15, "at": None},
        ),
        AT,
    )

    assert stored == [
        {"at": "2027-01-01T09:00:00Z", "minutes_before": None},
        {"at": None, "minutes_before": 15},
    ]


@pytest.mark.parametrize(
    "reminder",
    [{}, {"at": None, "minutes_before": None}, {"at": "2027-01-01T09:00:00Z", "minutes_before": 5}],
    ids=["empty", "both null", "both set"],
)
def test_a_reminder_takes_exactly_one_of_its_forms(reminder: dict[str, object]) -> None:
    with pytest.raises(DateRefused) as refused:
        stored_reminders(given({"minutes_before": 5}, reminder), AT)

    assert refused.value.details == [
        {
            "location": ["body", "reminders", 1],
            "message": "Set one of `at` and `minutes_before`",
            "type": "reminder_form",
        }
    ]


def test_a_move_carries_instants_and_leaves_the_others_to_the_due_date() -> None:
    stored: list[dict[str, object]] = [
        {"at": "2027-03-21T19:00:00Z", "minutes_before": None, "fires_at": "2027-03-21T19:00:00Z"},
        {"at": None, "minutes_before": 15, "fires_at": "2027-03-22T07:45:00Z"},
    ]

    moved = moved_reminders(stored, timedelta(days=7, hours=-1))

    assert moved == [
        {"at": "2027-03-28T18:00:00Z", "minutes_before": None},
        {"at": None, "minutes_before": 15},
    ]


def test_an_instant_a_move_would_take_out_of_the_range_stays() -> None:
    stored: list[dict[str, object]] = [
        {"at": "9999-12-30T00:00:00Z", "minutes_before": None, "fires_at": None}
    ]

    assert moved_reminders(stored, timedelta(days=7)) == [
        {"at": "9999-12-30T00:00:00Z", "minutes_before": None}
    ]
