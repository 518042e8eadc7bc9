"""What the README says is never logged is in no line of the log, however the service runs.

Each server (`taskapi serve` and `taskapi run`, as `make serve` and `make run` start them)
answers every operation for a user whose id, token, search text, titles, cursors and keys are
distinctive markers, plus a token sent in the query string, refusals of each kind and one
unexpected error; then every line it wrote, at DEBUG, is searched for each marker.
"""

import re
import secrets
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import LOG_DIR, service_settings
from tests.support.contract import Contract
from tests.support.postgres import PostgresServer, execute
from tests.support.server import running_service
from tests.support.tokens import token_for

# Started as `make run` and `make serve` start them: `$(BIN)/taskapi run`, `$(BIN)/taskapi serve`.
TASKAPI = (str(Path(sys.executable).with_name("taskapi")),)
SERVERS = {"serve": ("serve",), "run": ("run",)}
TASKS_ROUTE = "/api/{user_id}/tasks"
# The routes the service serves beside the contract's operations.
SERVICE_ROUTES = {"/metrics", "/openapi.json", "/docs", "/redoc", "unmatched"}
# A JSON access line (`serve`) or a plain one (`run`): method, route, status, request id.
JSON_ACCESS_LINE = re.compile(
    r'"logger":"taskapi\.access","message":"(\S+) (\S+) (\d+) [\d.]+ ms request_id=(\w+) '
)
TEXT_ACCESS_LINE = re.compile(r"taskapi\.access: (\S+) (\S+) (\d+) [\d.]+ ms request_id=(\w+) ")


@dataclass(frozen=True)
class AccessLine:
    method: str
    route: str
    status: int
    request_id: str


@dataclass(frozen=True)
class LoggedRun:
    """What one server wrote while it answered `responses`, and what was sent to it."""

    log: str
    sent: dict[str, str]
    responses: list[httpx.Response]
    failed: httpx.Response

    def access_lines(self) -> list[AccessLine]:
        return [
            AccessLine(match[1], match[2], int(match[3]), match[4])
            for line in self.log.splitlines()
            if (match := JSON_ACCESS_LINE.search(line) or TEXT_ACCESS_LINE.search(line))
        ]


def markers() -> dict[str, str]:
    """Values no log line may hold, each one distinctive enough to find anywhere."""
    mark = secrets.token_hex(6)
    user_id = f"usermarker{mark}"
    return {
        "user id": user_id,
        "another user's id": f"strangermarker{mark}",
        "token": token_for(user_id),
        "token in the query": token_for(f"querytokenmarker{mark}"),
        "malformed token": f"tokenmarker{mark}",
        "title": f"titlemarker{mark}",
        "description": f"descriptionmarker{mark}",
        "replaced title": f"replacedmarker{mark}",
        "patched description": f"patchedmarker{mark}",
        "tag": f"tagmarker{mark}",
        "search text": f"qmarker{mark}",
        "made-up cursor": f"cursormarker{mark}",
        "made-up sync token": f"syncmarker{mark}",
        "idempotency key": f"idempotencymarker{mark}",
        "unknown path segment": f"pathmarker{mark}",
        "rejected body": f"invalidmarker{mark}",
    }


def exercise(base_url: str, sent: dict[str, str]) -> list[httpx.Response]:
    """Every operation, with and without a good token, each answer checked; `sent` grows by
    the cursor and sync token the service issued."""
    user, stranger = sent["user id"], sent["another user's id"]
    tasks = f"/api/{user}/tasks"
    bearer = {"Authorization": f"Bearer {sent['token']}"}
    query_token = {"access_token": sent["token in the query"]}
    answers: list[httpx.Response] = []

    with httpx.Client(base_url=base_url, headers=bearer, timeout=10) as client:

        def answered(
            status: int,
            method: str,
            path: str,
            *,
            params: dict[str, str] | None = None,
            json: object = None,
            content: str | None = None,
            headers: dict[str, str] | None = None,
        ) -> httpx.Response:
            response = client.request(
                method, path, params=params, json=json, content=content, headers=headers
            )
            assert response.status_code == status, (method, path, response.text)
            answers.append(response)
            return response

        # The search text is a word of the description, so the search finds both tasks.
        description = f"{sent['description']} {sent['search text']}"
        body = {"title": sent["title"], "description": description, "tags": [sent["tag"]]}
        key = {"Idempotency-Key": sent["idempotency key"]}
        created = answered(201, "POST", tasks, json=body, headers=key, params=query_token)
        answered(201, "POST", tasks, json=body, headers=key)
        answered(201, "POST", tasks, json={**body, "title": f"{sent['title']} again"})
        task = f"{tasks}/{created.json()['id']}"
        search = {"q": sent["search text"], "tag": sent["tag"], "limit": "1"}
        first_page = answered(200, "GET", tasks, params={**search, **query_token})
        sent["issued cursor"] = first_page.json()["next_cursor"]
        answered(200, "GET", tasks, params={**search, "cursor": sent["issued cursor"]})
        answered(400, "GET", tasks, params={**search, "cursor": sent["made-up cursor"]})
        changes = answered(200, "GET", f"{tasks}/changes", params=query_token)
        sent["issued sync token"] = changes.json()["sync_token"]
        answered(200, "GET", f"{tasks}/changes", params={"since": sent["issued sync token"]})
        answered(400, "GET", f"{tasks}/changes", params={"since": sent["made-up sync token"]})
        answered(200, "GET", task, params=query_token)
        answered(200, "HEAD", task)
        answered(200, "PUT", task, json={"title": sent["replaced title"]})
        answered(
            200,
            "PATCH",
            task,
            content=f'{{"description": "{sent["patched description"]}"}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        answered(200, "PATCH", f"{task}/complete")
        answered(204, "DELETE", task)
        answered(422, "POST", tasks, json={"title": sent["rejected body"], "priority": 7})
        answered(403, "GET", f"/api/{stranger}/tasks", params=query_token)
        answered(401, "GET", tasks, headers={"Authorization": f"Bearer {sent['malformed token']}"})
        answered(404, "GET", f"/api/{user}/{sent['unknown path segment']}", params=query_token)
        answered(405, "PUT", tasks, json=body)
        for path in ("/health/live", "/health/ready", "/metrics", "/openapi.json"):
            answered(200, "GET", path, params=query_token)
    return answers


@pytest.fixture(scope="module", params=SERVERS.keys())
def logged_run(request: pytest.FixtureRequest, postgres: PostgresServer) -> Iterator[LoggedRun]:
    """One server answering everything, ending in an unexpected error; read once it stopped."""
    log_path = LOG_DIR / f"nothing-private-{request.param}.log"
    log_path.unlink(missing_ok=True)
    sent = markers()
    with postgres.fresh_database("taskapi_private_logs") as url:
        settings = service_settings(url, LOG_LEVEL="DEBUG")
        with running_service(settings, log_path, SERVERS[request.param], TASKAPI) as base_url:
            responses = exercise(base_url, sent)
            # A table gone from under the service: a list fails in a way no handler expects.
            execute(url, "ALTER TABLE tasks RENAME TO tasks_renamed_by_the_test")
            failed = httpx.get(
                f"{base_url}/api/{sent['user id']}/tasks",
                params={"q": sent["search text"], "access_token": sent["token in the query"]},
                headers={"Authorization": f"Bearer {sent['token']}"},
            )
            assert failed.status_code == 500, failed.text
        yield LoggedRun(log_path.read_text(), sent, responses, failed)


def test_no_log_line_holds_an_id_token_query_or_body_the_client_sent(
    logged_run: LoggedRun,
) -> None:
    # Given every line a server wrote while it answered every operation and failed once
    lines = logged_run.log.splitlines()
    assert len(lines) > len(logged_run.responses)

    # Then none holds a user id, a token (or its signature), a query or a body that was sent
    found = {
        name: [line for line in lines if value in line] for name, value in logged_run.sent.items()
    }
    found |= {
        f"signature of the {name}": [line for line in lines if value.split(".")[2] in line]
        for name, value in logged_run.sent.items()
        if name.startswith("token")
    }
    assert {name: leaks for name, leaks in found.items() if leaks} == {}


def test_each_answered_request_leaves_exactly_one_access_line_and_uvicorn_none(
    logged_run: LoggedRun,
) -> None:
    # (The lines of the start-up's health probes, whose ids the test never saw, are not counted.)
    lines_per_request = Counter(line.request_id for line in logged_run.access_lines())
    answered = [*logged_run.responses, logged_run.failed]

    assert {lines_per_request[response.headers["X-Request-ID"]] for response in answered} == {1}
    assert "uvicorn.access" not in logged_run.log


def test_every_access_line_names_its_route_as_the_contract_does(
    logged_run: LoggedRun, contract: Contract
) -> None:
    templates = {path for _, path, _ in contract.operations()} | SERVICE_ROUTES

    routes = {line.route for line in logged_run.access_lines()}

    assert routes <= templates
    assert {TASKS_ROUTE, f"{TASKS_ROUTE}/{{task_id}}", "unmatched"} <= routes


def test_an_unexpected_error_is_logged_by_route_template_with_its_stack_trace(
    logged_run: LoggedRun,
) -> None:
    request_id = logged_run.failed.headers["X-Request-ID"]
    (error_line,) = [
        line
        for line in logged_run.log.splitlines()
        if request_id in line and "unhandled error" in line
    ]

    assert f"unhandled error in GET {TASKS_ROUTE} (request id {request_id})" in error_line
    # Operators need the stack trace: kept, in the line's `exception` (JSON) or after it (text).
    after = logged_run.log[logged_run.log.index(error_line) :]
    assert "Traceback (most recent call last)" in after
    assert "UndefinedTableError" in after


@pytest.mark.parametrize("server", SERVERS.keys())
def test_access_log_false_leaves_no_line_per_request(postgres: PostgresServer, server: str) -> None:
    log_path = LOG_DIR / f"no-access-log-{server}.log"
    log_path.unlink(missing_ok=True)
    sent = markers()
    with postgres.fresh_database("taskapi_no_access_log") as url:
        settings = service_settings(url, LOG_LEVEL="INFO", ACCESS_LOG="false")
        with running_service(settings, log_path, SERVERS[server], TASKAPI) as base_url:
            response = httpx.get(
                f"{base_url}/api/{sent['user id']}/tasks",
                params={"q": sent["search text"]},
                headers={"Authorization": f"Bearer {sent['token']}"},
            )
            assert response.status_code == 200

    log = log_path.read_text()
    assert response.headers["X-Request-ID"] not in log
    assert "/api/" not in log
