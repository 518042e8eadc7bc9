"""Logs a machine can read: one JSON object per line in production, one line per request, and
nothing in them that would let a reader act as or identify a user."""

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LOG_DIR, User, new_user, service_settings
from tests.support.postgres import PostgresServer
from tests.support.server import DEVELOPMENT, running_service
from tests.support.tokens import SECRET

PRODUCTION_LOG = LOG_DIR / "service-json-logs.log"
DEVELOPMENT_LOG = LOG_DIR / "service-text-logs.log"
BODY_MARKER = "body-marker-7f3a"
CLIENT_REQUEST_ID = "client-correlation-42"
TASKS_ROUTE = "/api/{user_id}/tasks"
TASK_ROUTE = "/api/{user_id}/tasks/{task_id}"


@pytest.fixture(scope="module")
def logging_database(postgres: PostgresServer) -> Iterator[str]:
    with postgres.fresh_database("taskapi_logs") as url:
        yield url


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def access_lines(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in entries if entry["logger"] == "taskapi.access"]


@pytest.fixture(scope="module")
def production_run(logging_database: str) -> tuple[list[httpx.Response], User, User]:
    """Requests of two users and a stranger against `serve`; the log is read afterwards."""
    PRODUCTION_LOG.unlink(missing_ok=True)
    alice, bob = new_user("alice"), new_user("bob")
    settings = service_settings(logging_database, LOG_LEVEL="INFO")
    with running_service(settings, PRODUCTION_LOG) as base:
        responses = [
            httpx.post(
                f"{base}{alice.tasks_path}",
                json={"title": BODY_MARKER},
                headers={**auth(alice), "X-Request-ID": CLIENT_REQUEST_ID},
            ),
            httpx.get(f"{base}{alice.tasks_path}", headers=auth(alice)),
            httpx.get(f"{base}{bob.tasks_path}", headers=auth(bob)),
            httpx.get(f"{base}{alice.tasks_path}", headers=auth(bob)),
            httpx.get(f"{base}{alice.tasks_path}"),
            httpx.get(f"{base}{alice.task_path(1)}", headers=auth(alice)),
        ]
    return responses, alice, bob


def test_every_line_is_one_json_object_with_time_level_and_logger(
    production_run: tuple[list[httpx.Response], User, User],
) -> None:
    entries = read_json_lines(PRODUCTION_LOG)

    assert entries
    for entry in entries:
        assert datetime.fromisoformat(entry["time"]).tzinfo is not None
        assert entry["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        assert isinstance(entry["logger"], str)
        assert isinstance(entry["message"], str)


def test_each_request_leaves_one_line_with_its_route_status_latency_and_ids(
    production_run: tuple[list[httpx.Response], User, User],
) -> None:
    responses, _, _ = production_run
    lines = access_lines(read_json_lines(PRODUCTION_LOG))
    by_request_id = {line["request_id"]: line for line in lines}

    for response in responses:
        line = by_request_id[response.headers["X-Request-ID"]]
        assert line["method"] == response.request.method
        names_a_task = "/tasks/" in response.request.url.path
        assert line["route"] == (TASK_ROUTE if names_a_task else TASKS_ROUTE)
        assert line["status"] == response.status_code
        assert isinstance(line["duration_ms"], float)
        assert 0 < line["duration_ms"] < 10_000
    created = by_request_id[responses[0].headers["X-Request-ID"]]
    assert created["correlation_id"] == CLIENT_REQUEST_ID
    assert created["request_id"] != CLIENT_REQUEST_ID
    assert by_request_id[responses[1].headers["X-Request-ID"]]["correlation_id"] is None


def test_the_route_is_the_contracts_path_template_with_no_convertor(
    production_run: tuple[list[httpx.Response], User, User],
) -> None:
    # Given a get of one task, whose route Starlette matches as `{task_id:<convertor>}`
    responses, _, _ = production_run
    get_task = responses[-1]
    lines = access_lines(read_json_lines(PRODUCTION_LOG))
    by_request_id = {line["request_id"]: line for line in lines}

    # Then its access line names the path as the contract writes it, for dashboards to match
    line = by_request_id[get_task.headers["X-Request-ID"]]
    assert line["route"] == TASK_ROUTE
    assert line["message"].startswith(f"GET {TASK_ROUTE} {get_task.status_code} ")


def test_the_user_is_a_keyed_hash_the_same_for_each_of_their_requests(
    production_run: tuple[list[httpx.Response], User, User],
) -> None:
    responses, _, _ = production_run
    lines = access_lines(read_json_lines(PRODUCTION_LOG))
    user_of = {line["request_id"]: line["user"] for line in lines}
    alice_create, alice_list, bob_list, bob_on_alices, anonymous, _ = (
        user_of[response.headers["X-Request-ID"]] for response in responses
    )

    assert alice_create == alice_list
    assert alice_create != bob_list
    # The caller is who the token says, not whose path they asked for.
    assert bob_on_alices == bob_list
    assert anonymous is None
    assert len(alice_create) == 16
    int(alice_create, 16)


def test_the_log_holds_no_token_body_secret_or_user_id(
    production_run: tuple[list[httpx.Response], User, User],
) -> None:
    _, alice, bob = production_run
    log = PRODUCTION_LOG.read_text()

    for user in (alice, bob):
        assert user.token not in log
        assert user.token.split(".")[2] not in log
        assert user.id not in log
    assert BODY_MARKER not in log
    assert SECRET not in log


def test_development_logs_are_plain_lines_for_people(logging_database: str) -> None:
    DEVELOPMENT_LOG.unlink(missing_ok=True)
    alice = new_user("alice")
    settings = service_settings(logging_database, LOG_LEVEL="INFO")
    with running_service(settings, DEVELOPMENT_LOG, DEVELOPMENT) as base:
        response = httpx.get(f"{base}{alice.tasks_path}", headers=auth(alice))

    lines = DEVELOPMENT_LOG.read_text().splitlines()
    request_id = response.headers["X-Request-ID"]
    (access,) = [line for line in lines if request_id in line]
    assert not access.startswith("{")
    assert "taskapi.access: GET /api/{user_id}/tasks 200 " in access
    assert f"request_id={request_id}" in access
