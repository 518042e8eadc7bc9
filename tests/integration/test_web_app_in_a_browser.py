"""The reference web app (web/) in headless Chromium, against the real service and Better Auth.

The app runs as `make web` runs it: `next start` of the production build, Better Auth's tables in
PostgreSQL, the service in jwks mode trusting the app's Better Auth, on another origin (its own
port) with CORS. Each test drives one scenario of tests/browser/web_app.mjs; every console error,
failed request, unexpected error status or request that leaves 127.0.0.1 fails it.
"""

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import LOG_DIR, service_settings
from tests.support.better_auth import sign_up, token_from_token_endpoint
from tests.support.browser import SCREENSHOT_DIR, run_browser_script
from tests.support.contract import Contract
from tests.support.mock_server import running_mock
from tests.support.postgres import PostgresServer
from tests.support.server import free_port, running_service
from tests.support.web_app import WEB_DIR, running_web_app

SCENARIO_TIMEOUT_SECONDS = 120
# Short, so that a test sees tokens expire; the service allows no clock leeway, so expired is
# expired.
TOKEN_LIFETIME_SECONDS = 8
CURSOR_SECRET = "web-app-cursor-secret-" + "w" * 32
PAGE_SIZE = 50


@dataclass(frozen=True)
class WebStack:
    web_url: str
    api_url: str
    auth_database_url: str
    admin_database_url: str


@pytest.fixture(scope="module")
def stack(postgres: PostgresServer) -> Iterator[WebStack]:
    web_port = free_port()
    web_origin = f"http://127.0.0.1:{web_port}"
    with (
        postgres.fresh_database() as api_database_url,
        postgres.fresh_database("web_auth") as auth_database_url,
        running_service(
            service_settings(
                api_database_url,
                AUTH_MODE="jwks",
                BETTER_AUTH_URL=web_origin,
                CORS_ORIGINS=web_origin,
                CURSOR_SECRET=CURSOR_SECRET,
                JWT_LEEWAY_SECONDS="0",
            ),
            LOG_DIR / "service-web-app.log",
        ) as api_url,
        running_web_app(
            web_port,
            {
                "BETTER_AUTH_URL": web_origin,
                "BETTER_AUTH_SECRET": secrets.token_urlsafe(48),
                "AUTH_DATABASE_URL": auth_database_url,
                "TASKAPI_URL": api_url,
                "TOKEN_LIFETIME": f"{TOKEN_LIFETIME_SECONDS}s",
                # Every browser of these tests signs up from one address, many times a minute.
                "AUTH_RATE_LIMIT": "off",
            },
            LOG_DIR / "web-app.log",
        ) as web_url,
    ):
        yield WebStack(web_url, api_url, auth_database_url, postgres.admin_url)


@pytest.fixture(scope="module")
def mock_stack(postgres: PostgresServer) -> Iterator[WebStack]:
    """The app as `make web-mock` runs it: the mock server instead of the API."""
    web_port = free_port()
    web_origin = f"http://127.0.0.1:{web_port}"
    with (
        postgres.fresh_database("web_auth") as auth_database_url,
        running_mock(web_origin, LOG_DIR / "mock-web-app.log") as mock_url,
        running_web_app(
            web_port,
            {
                "BETTER_AUTH_URL": web_origin,
                "BETTER_AUTH_SECRET": secrets.token_urlsafe(48),
                "AUTH_DATABASE_URL": auth_database_url,
                "TASKAPI_URL": mock_url,
                "AUTH_RATE_LIMIT": "off",
            },
            LOG_DIR / "web-app-mock.log",
        ) as web_url,
    ):
        yield WebStack(web_url, mock_url, auth_database_url, postgres.admin_url)


def browse(stack: WebStack, scenario: str, **extra: str) -> dict[str, Any]:
    env = {"SCENARIO": scenario, "WEB_URL": stack.web_url, "API_URL": stack.api_url, **extra}
    result = run_browser_script("web_app.mjs", env, SCENARIO_TIMEOUT_SECONDS)
    assert result["problems"] == [], f"screenshots of failed steps in {SCREENSHOT_DIR}"
    return result


def test_each_user_sees_only_their_tasks_and_another_users_url_is_a_403_page(
    stack: WebStack,
) -> None:
    shown = browse(stack, "isolation")

    assert shown["distinctUsers"]
    assert shown["aliceSees"] == ["Alice: water the plants"]
    assert shown["bobSees"] == ["Bob: file the taxes"]
    assert shown["forbidden"]["heading"] == "403 Not your tasks"
    assert "Bob" not in shown["forbidden"]["text"]
    assert shown["forbidden"]["tasksShown"] == 0
    assert shown["backToOwn"] == ["Alice: water the plants"]
    assert shown["afterSignOut"] == "/sign-in"
    assert shown["afterSignIn"] == ["Alice: water the plants"]


def test_a_task_is_created_edited_completed_reopened_found_and_deleted_on_a_phone(
    stack: WebStack,
) -> None:
    shown = browse(stack, "lifecycle")

    assert shown["created"]["titles"] == ["Book dentist", "Call the plumber", "Buy milk"]
    assert shown["created"]["milkMeta"].split() == ["high", "#home", "#errand"]
    assert shown["created"]["milkNotes"] == "Oat, 2 l"
    assert shown["created"]["dentistDue"].startswith("2031-05-04T")
    assert shown["layout"]["scrollWidth"] <= shown["layout"]["width"] == 360
    assert shown["editorFocus"] == "INPUT"
    assert shown["focusAfterEscape"] == "Edit: Buy milk"
    assert shown["edited"][-1] == "Buy oat milk"
    assert shown["completedAfterReopen"] == []
    assert shown["search"] == ["Call the plumber"]
    assert shown["tagged"] == ["Buy oat milk"]
    assert shown["afterDelete"] == ["Book dentist", "Buy oat milk", "Water the plants"]
    assert shown["addressAfterReload"] == "?sort=title"
    assert shown["sortShown"] == "title"


def test_lists_are_made_filled_reordered_nested_and_deleted_from_the_sidebar(
    stack: WebStack,
) -> None:
    shown = browse(stack, "lists")

    assert shown["initialLists"] == ["All tasks", "Inbox"]
    assert shown["inList"] == ["Milk", "Eggs", "Bread"]
    assert shown["afterButton"] == ["Milk", "Bread", "Eggs"]
    assert shown["afterDrag"] == shown["afterReload"] == ["Eggs", "Milk", "Bread"]
    assert shown["address"] == "manual"
    assert shown["listsAfterMove"] == ["All tasks", "Groceries", "Inbox"]
    assert shown["afterMoveToInbox"] == ["Eggs", "Milk"]
    assert shown["nested"] == shown["unnested"] == ["Eggs", "Milk"]
    assert shown["listsAfterDelete"] == ["All tasks", "Inbox"]
    assert shown["inboxAfterDelete"] == ["Bread", "Eggs", "Milk"]


def test_selected_tasks_are_completed_moved_and_deleted_at_once_and_a_subtask_added(
    stack: WebStack,
) -> None:
    shown = browse(stack, "bulk")

    assert shown["all"] == ["Jam", "Bread", "Eggs", "Milk"]
    assert shown["selectedCount"] == "2 tasks selected"
    assert sorted(shown["done"]) == ["Eggs", "Milk"]
    assert shown["barAfter"] == 0
    assert shown["inErrands"] == ["Jam", "Bread"]
    assert shown["tree"] == ["Jam", "Bread", "Rye"]
    assert shown["selectedAll"] == "5 tasks selected"
    assert shown["afterDelete"] == []
    assert sorted(shown["beforeDelete"]) == ["Bread", "Eggs", "Jam", "Milk", "Rye"]
    assert shown["afterUndo"] == shown["beforeDelete"]
    assert shown["treeAfterUndo"] == ["Jam", "Bread", "Rye"]
    assert shown["ryeDepth"] == "1"
    # Complete, move, delete, and the deletion's undo: one batch each.
    assert shown["batchRequests"] == 4


def test_a_deletion_is_undone_from_its_notice_or_restored_from_the_trash(
    stack: WebStack,
) -> None:
    shown = browse(stack, "trash")

    everything = ["Rye", "Jam", "Bread", "Eggs", "Milk"]
    assert shown["all"] == everything
    assert shown["toast"] == "Deleted “Eggs”. Undo"
    assert shown["afterUndo"] == shown["afterReload"] == everything
    assert shown["listsAfterUndo"] == ["All tasks", "Inbox", "Trip"]
    assert shown["tripAfterUndo"] == ["Passport"]
    # Each action's notice replaces the one before: one Undo, the last deletion's.
    assert shown["lastToast"] == "Deleted “Jam”. Undo"
    assert shown["undoButtons"] == 1
    assert [row["name"] for row in shown["trash"]] == ["Jam", "Milk", "Bread"]
    assert all(row["meta"].startswith("Deleted ") for row in shown["trash"])
    assert "With 1 subtask" in shown["trash"][2]["meta"]
    assert "subtask" not in shown["trash"][0]["meta"]
    assert shown["afterRestore"] == ["Jam", "Milk"]
    assert shown["afterDeleteForever"] == ["Jam"]
    assert shown["emptied"] == "The trash is empty."
    assert shown["tasksAfterTrash"] == ["Passport", "Rye", "Bread", "Eggs"]
    assert shown["restoreGone"] == [404, 404]
    # Each restore names the version deleted: Eggs was completed (2), Trip and Bread unchanged.
    assert shown["restoredIfMatch"] == ['"2"', '"1"', '"1"']


def test_completions_edits_moves_and_bulk_actions_are_undone_from_their_notice(
    stack: WebStack,
) -> None:
    shown = browse(stack, "undo")

    in_order = ["Milk", "Eggs", "Bread"]
    assert shown["all"] == in_order
    assert shown["completeToast"] == "Completed “Milk”. Undo"
    assert shown["doneAfterUndo"] == 0
    # Each undo is a write of its own: created (1), completed (2), as it was (3).
    assert shown["milk"] == {**shown["milk"], "title": "Milk", "completed": False, "version": 3}
    assert shown["eggs"] == {**shown["eggs"], "title": "Eggs", "version": 3}
    # Moved up, dragged, put under another task, moved to another list: back each time, and
    # after a reload.
    assert shown["editUndone"] == shown["moveUndone"] == shown["dragUndone"] == in_order
    assert shown["subtaskUndone"] == shown["toListUndone"] == in_order
    assert shown["eggsDepth"] == "0"
    assert shown["doneAfterBulkUndo"] == 0
    assert shown["bulkMoveUndone"] == in_order
    assert shown["bread"]["list_id"] == shown["milk"]["list_id"]
    assert shown["bread"]["parent_id"] is None
    # Changed elsewhere after its completion: the undo is refused and overwrites nothing.
    assert shown["refusal"].startswith("Changed elsewhere. “Bread” was changed in another tab")
    assert shown["breadAfterRefusal"]["title"] == "Rye bread"
    assert shown["breadAfterRefusal"]["completed"] is True
    # Every undo names the version its write answered: a restore of the version before it, the
    # inverse move, one batch of each operation's undo in reverse order.
    assert shown["undone"] == [
        'POST tasks/Milk/versions/1/restore "2"',
        'PATCH tasks/Eggs "1"',
        'POST tasks/Eggs/versions/1/restore "2"',
        'POST tasks/Bread/move "2"',
        'POST tasks/Bread/move "4"',
        'POST tasks/Eggs/move "4"',
        'POST tasks/Eggs/move "6"',
        ['complete Eggs "8"', 'complete Milk "4"'],
        ['move Bread "6"', 'move Eggs "10"'],
        'POST tasks/Bread/versions/7/restore "8"',
    ]


def test_a_tasks_history_restores_a_version_and_the_activity_lists_every_change(
    stack: WebStack,
) -> None:
    shown = browse(stack, "history")

    def without_time(lines: list[str]) -> list[str]:
        texts = []
        for line in lines:
            text, when = line.rsplit(" · ", 1)
            assert re.fullmatch(r"just now|\d+ min ago", when), line
            texts.append(text)
        return texts

    assert without_time(shown["versions"]) == [
        "Version 4 Completed “Buy oat milk”",
        "Version 3 Edited (priority) “Buy oat milk”",
        "Version 2 Edited (title) “Buy oat milk”",
        "Version 1 Created “Buy milk”",
    ]
    assert shown["current"] == "Current"
    assert shown["restoreButtons"] == 3
    assert shown["backToForm"] == "Buy oat milk"
    # Version 1's content, as a new version; a reload shows it.
    restored = shown["restored"]
    assert (restored["title"], restored["priority"], restored["completed"]) == (
        "Buy milk",
        "medium",
        False,
    )
    assert restored["version"] == 5
    assert shown["restoredRow"] == {"done": False, "meta": "medium"}
    # Version 2 restored (6), and that undone from the notice (7).
    assert (shown["afterUndo"]["title"], shown["afterUndo"]["version"]) == ("Buy milk", 7)
    assert shown["refusal"].startswith("Changed elsewhere: This task was changed")
    assert without_time(shown["versionsAfterRefusal"])[0] == "Version 8 Edited (title) “Buy bread”"
    assert shown["afterRefusal"] == "Buy bread"
    chores = [f"Created “Chore {number:02}”" for number in range(48, 0, -1)]
    assert without_time(shown["activity"]) == [
        "Edited “Buy bread” (title)",
        "Edited “Buy milk” (title)",
        "Edited “Buy oat milk” (title)",
        "Reopened “Buy milk” (title, priority)",
        "Completed “Buy oat milk”",
        "Edited “Buy oat milk” (priority)",
        "Edited “Buy oat milk” (title)",
        "Created “Buy milk”",
        *chores,
    ]
    assert shown["firstPage"] == shown["activity"][:50]
    assert shown["loadMoreLeft"] == 0


def test_due_dates_are_all_day_or_timed_and_shown_in_the_users_time_zone(
    stack: WebStack,
) -> None:
    shown = browse(stack, "dueDates")

    # The device is in Berlin; the user's zone is UTC until chosen, and the device's is offered.
    assert shown["initialZone"] == "UTC"
    assert shown["chosenZone"] == "Pacific/Kiritimati"
    assert shown["deviceZoneOffered"] == "Use this device's zone (Europe/Berlin)"
    # A date alone: the date as written, no time, overdue once the day has ended.
    rent_day = date.fromisoformat(shown["rentDay"])
    assert shown["rent"] == {
        "text": f"Overdue: {rent_day:%b} {rent_day.day}, {rent_day.year}",
        "overdue": True,
        "dateTime": shown["rentDay"],
    }
    assert shown["rentStored"]["due"] == {"date": shown["rentDay"], "time": None, "time_zone": None}
    # A day of the date filters is the user's day, not the device's.
    assert shown["onTheDay"] == ["Call"]
    # A date and a time: floating, read in the user's zone (Kiritimati is UTC+14).
    assert shown["call"] == {
        "text": "Due Jun 1, 2030, 9:00 AM",
        "overdue": False,
        "dateTime": "2030-05-31T19:00:00Z",
    }
    assert shown["callStored"] == {
        "due": {"date": "2030-06-01", "time": "09:00:00", "time_zone": None},
        "due_at": "2030-05-31T19:00:00Z",
        "recurrence": None,
        "version": 1,
    }
    # Another zone: the floating time stays 9:00, and the instant moves with it (Berlin: UTC+2).
    assert shown["zoneAfterSwitch"] == "Europe/Berlin"
    assert shown["deviceZoneOfferedAfterSwitch"] == 0
    assert shown["callAfterSwitch"] == {**shown["call"], "dateTime": "2030-06-01T07:00:00Z"}
    assert shown["callStoredAfterSwitch"] == {
        **shown["callStored"],
        "due_at": "2030-06-01T07:00:00Z",
        "version": 2,
    }
    assert shown["rentAfterSwitch"] == shown["rent"]
    # A time in a zone of its own: shown in the user's zone, its own named; an edit keeps it.
    assert shown["flight"] == {
        "text": "Due Jun 1, 2030, 3:00 PM (America/New_York)",
        "overdue": False,
        "dateTime": "2030-06-01T13:00:00Z",
    }
    assert shown["flightForm"] == {"date": "2030-06-01", "time": "09:00"}
    assert shown["flightStored"] == {
        "due": {"date": "2030-06-01", "time": "09:00:00", "time_zone": "America/New_York"},
        "due_at": "2030-06-01T13:00:00Z",
        "recurrence": None,
        "version": 2,
    }
    # No date, no due.
    assert shown["rentCleared"]["due"] is None
    assert shown["rentCleared"]["due_at"] is None
    # A weekly repeat: done, the task stays open, due a week later (09:30 Berlin, UTC+2).
    assert shown["repeatShown"] == "↻ Every week"
    assert shown["repeatChecked"] is False
    assert shown["repeatDone"]["due"] == {
        "date": "2030-06-10",
        "time": "09:30:00",
        "time_zone": None,
    }
    assert shown["repeatDone"]["recurrence"] == {"rule": "FREQ=WEEKLY", "from": "due"}


def test_reminders_are_set_on_a_task_and_shown_when_they_fire(stack: WebStack) -> None:
    shown = browse(stack, "reminders")

    # Set in the editor, fire times in the user's zone (Tokyo, UTC+9), not the device's (Berlin):
    # the task is due at 09:00 Tokyo, 00:00 UTC.
    assert shown["noneYet"] == "No reminders."
    assert shown["timedChoices"] == [
        "At the due time",
        "15 minutes before",
        "1 hour before",
        "1 day before",
        "At a date and time…",
    ]
    assert shown["inEditor"] == [
        {"text": "15 minutes before: Jun 1, 2030, 8:45 AM", "firesAt": "2030-05-31T23:45:00.000Z"},
        {"text": "At May 31, 2030, 8:00 PM", "firesAt": "2030-05-31T11:00:00.000Z"},
    ]
    assert shown["dentistStored"] == [
        {"at": None, "minutes_before": 15, "fires_at": "2030-05-31T23:45:00Z"},
        {"at": "2030-05-31T11:00:00Z", "minutes_before": None, "fires_at": "2030-05-31T11:00:00Z"},
    ]
    assert shown["inEditorAfterSave"] == shown["inEditor"]
    # The row: a bell with the next fire time.
    assert shown["dentistBell"] == {
        "title": "2 reminders",
        "time": "May 31, 2030, 8:00 PM",
        "dateTime": "2030-05-31T11:00:00Z",
    }
    # A date alone: 540 minutes after the start of its day in the user's zone is 09:00 there;
    # removing the last reminder sends `[]`.
    assert shown["allDayChoices"] == [
        "On the day at 09:00",
        "The day before at 09:00",
        "At a date and time…",
    ]
    assert shown["allDayInEditor"] == [
        {"text": "On the day at 09:00: Jun 3, 2030, 9:00 AM", "firesAt": "2030-06-03T00:00:00.000Z"}
    ]
    assert shown["rentStored"] == [
        {"at": None, "minutes_before": -540, "fires_at": "2030-06-03T00:00:00Z"}
    ]
    assert shown["rentCleared"] == []
    # Desktop notifications are asked for only when the user presses the button.
    assert shown["askedOnLoad"] == 0
    assert shown["askedOnClick"] == 1
    # A reminder that fires: in the page with its task's title and due time, and on the desktop.
    pills = shown["pills"]
    assert pills["dueShown"] == pills["dueAt"]
    assert "Take the pills" in pills["text"]
    assert f"Due {pills['expectedDue']}" in pills["text"]
    assert shown["desktop"] == [{"title": "Take the pills", "body": f"Due {pills['expectedDue']}"}]
    assert shown["pillsBell"] == "1 reminder, none to come"
    # Not again after a reload: each poll starts where an earlier one ended, kept for the tab.
    assert shown["afterReload"] == ["Stretch"]
    polls = shown["polls"]
    assert len(polls) >= 3
    for index, poll in enumerate(polls):
        assert poll["after"] < poll["until"]
        if index > 0 and "cursor" not in poll:
            assert poll["after"] in {earlier["until"] for earlier in polls[:index]}


def test_scrolling_past_the_first_page_loads_the_rest(stack: WebStack) -> None:
    # Given a user with more tasks than a page holds, created through the API
    session = sign_up(stack.web_url, "paging")
    token = token_from_token_endpoint(stack.web_url, session)
    count = PAGE_SIZE + 12
    with httpx.Client(base_url=stack.api_url, timeout=10) as http:
        for number in range(count):
            created = http.post(
                f"/api/{session.user_id}/tasks",
                json={"title": f"Task {number:03}"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201, created.text

    shown = browse(stack, "paging", SESSION_COOKIE=session.cookie, TASK_COUNT=str(count))

    assert shown["firstPage"] == PAGE_SIZE
    assert shown["afterScroll"] == [f"Task {number:03}" for number in reversed(range(count))]
    assert shown["moreButton"] == 0


def test_two_tabs_stay_in_step_and_a_conflicting_edit_is_resolved_with_one_write(
    stack: WebStack,
) -> None:
    shown = browse(stack, "tabs")

    assert shown["secondSeesNew"] == ["Plan the trip"]
    assert shown["secondSeesEdit"] == ["Plan the summer trip"]
    assert shown["conflict"]["heading"] == "Changed elsewhere"
    assert shown["conflict"]["rows"] == [
        ["Title", "Plan the trip to Lisbon", "Plan the summer trip"],
        ["Priority", "medium", "urgent"],
    ]
    # Created (1), renamed (2), made urgent in the first tab (3), renamed once more (4): the
    # refused save wrote nothing, and the resolution kept the other tab's priority.
    assert shown["stored"]["version"] == 4
    assert shown["stored"]["title"] == "Plan the trip to Lisbon"
    assert shown["stored"]["priority"] == "urgent"
    assert shown["firstAfterConflict"] == ["Plan the trip to Lisbon"]


# The events after which the app asks what changed.
SYNC_EVENTS = {"event ready", "event changed", "event resync"}


def test_a_task_made_in_one_tab_shows_live_in_the_users_other_tab_and_not_to_another_user(
    stack: WebStack,
) -> None:
    shown = browse(stack, "live")

    # Shown in the second tab, which was neither reloaded nor touched.
    assert shown["secondSees"] == ["Live: water the plants"]
    assert shown["secondNavigations"] == 0
    # It asked what changed only when its stream said so: never more requests to /tasks/changes
    # than events that ask for one, so no timer polls.
    timeline = shown["secondTimeline"]
    assert "event changed" in timeline, timeline
    assert "write" not in timeline, timeline
    heard = asked = 0
    for entry in timeline:
        heard += entry in SYNC_EVENTS
        asked += entry == "sync"
        assert asked <= heard, timeline
    # Bob's stream said nothing of Alice's task: its first `changed` is his own write's.
    bob = shown["bobTimeline"]
    assert shown["bobSees"] == ["Jon: file the taxes"]
    assert bob.index("write") < bob.index("event changed"), bob


def test_an_expired_token_is_replaced_without_the_user_noticing(stack: WebStack) -> None:
    shown = browse(stack, "tokens", TOKEN_LIFETIME_SECONDS=str(TOKEN_LIFETIME_SECONDS))

    expected = ["After the token expired", "Before the token expired"]
    # A tab whose clock runs: a new token before the old one expires, never a 401.
    assert shown["steady"]["titles"] == expected
    assert shown["steady"]["tokens"] >= 2
    assert shown["steady"]["unauthorized"] == 0
    assert shown["steady"]["alerts"] == 0
    # A tab whose clock stood still: its expired token is refused once, replaced, and the
    # request sent again, once.
    assert shown["suspended"]["titles"] == expected
    assert shown["suspended"]["unauthorized"] == 1
    assert shown["suspended"]["created"] == 2
    assert shown["suspended"]["alerts"] == 0


def test_the_auth_service_down_is_a_clear_message_and_its_return_is_seamless(
    stack: WebStack,
) -> None:
    shown = browse(
        stack,
        "authDown",
        WEB_DIR=str(WEB_DIR),
        ADMIN_DATABASE_URL=stack.admin_database_url,
        AUTH_DATABASE=urlsplit(stack.auth_database_url).path.lstrip("/"),
    )

    assert shown["listPage"].startswith("Sign-in service unavailable")
    assert "Nothing was lost" in shown["listPage"]
    assert "not answering" in shown["signInPage"]
    assert shown["afterRecovery"] == ["Still here"]


def test_the_app_runs_against_the_mock_server(mock_stack: WebStack, contract: Contract) -> None:
    shown = browse(mock_stack, "mock")

    example = contract.document["components"]["examples"]["TaskListExample"]["value"]
    assert shown["listed"] == [task["title"] for task in example["items"]]
    # Its event stream ends after the example: the header says so, and the next one catches up.
    assert shown["offline"] == "Offline: reconnecting…"
    assert shown["offlineRole"] == "status"
    assert shown["reconnected"]
    assert shown["notice"].startswith("Saved")
    assert shown["alerts"] == 0
