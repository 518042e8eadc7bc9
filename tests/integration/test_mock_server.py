"""`make mock` (Prism on openapi.yaml, behind scripts/mock.py) answers every operation with its
example, and the TypeScript client reads each one as the type the contract gives it: the examples
stay usable by a frontend. Where a frontend would notice, it behaves as the service does: CORS,
ETags, replays, and the details of a 422."""

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from impl.processes import is_running
from tests.conftest import LOG_DIR
from tests.integration.test_typescript_client import CLIENT_DIR, INSTALLED_STAMP, TSC, run
from tests.support.contract import HTTP_METHODS, Contract
from tests.support.mock_server import mock_process, running_mock
from tests.support.server import child_processes

MOCK_TEST = CLIENT_DIR / "build" / "test" / "mock.test.js"


def success_examples(contract: Contract) -> dict[str, dict[str, object]]:
    """Per operationId, what Prism answers a valid request with: the lowest 2xx status, the first
    example of its JSON body (null without a body) or the example of its event stream (as
    text) and the headers the contract requires."""
    examples: dict[str, dict[str, object]] = {}
    for item in contract.document["paths"].values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            status = min(s for s in operation["responses"] if s.startswith("2"))
            response = contract.resolve(operation["responses"][status])
            body = None
            content = response.get("content", {})
            if "application/json" in content:
                first = next(iter(content["application/json"]["examples"].values()))
                body = contract.resolve(first)["value"]
            elif "text/event-stream" in content:
                body = content["text/event-stream"]["example"]
            headers = [
                name
                for name, header in response.get("headers", {}).items()
                if contract.resolve(header).get("required")
            ]
            examples[operation["operationId"]] = {
                "status": int(status),
                "body": body,
                "headers": headers,
            }
    return examples


APP_ORIGIN = "http://127.0.0.1:3000"
MOCK_TOKEN = {"Authorization": "Bearer any-token-will-do"}


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running_mock(APP_ORIGIN, LOG_DIR / "mock.log") as url:
        yield url


def create(mock_url: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{mock_url}/api/user_123/tasks", json=body, headers={**MOCK_TOKEN, **headers}, timeout=10
    )


def test_a_plain_create_is_not_a_replay_and_its_etag_is_its_version(mock_url: str) -> None:
    created = create(mock_url, {"title": "Buy milk"})

    assert created.status_code == 201
    assert "Idempotent-Replayed" not in created.headers
    assert created.headers["ETag"] == f'"{created.json()["version"]}"'


def test_a_repeated_idempotency_key_is_a_replay(mock_url: str) -> None:
    key = str(uuid.uuid4())

    first = create(mock_url, {"title": "Buy milk"}, **{"Idempotency-Key": key})
    again = create(mock_url, {"title": "Buy milk"}, **{"Idempotency-Key": key})

    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_422_names_the_requests_own_mistakes(mock_url: str) -> None:
    refused = create(mock_url, {"title": 5, "colour": "red"})

    assert refused.status_code == 422
    body = refused.json()
    assert body["error"] == "validation_failed"
    assert {tuple(detail["location"]) for detail in body["details"]} == {
        ("body",),
        ("body", "title"),
    }
    assert any("colour" in detail["message"] for detail in body["details"])


def test_cors_allows_only_the_configured_origin_as_the_service_does(mock_url: str) -> None:
    preflight = {"Access-Control-Request-Method": "PATCH"}
    allowed = httpx.options(
        f"{mock_url}/api/user_123/tasks/42", headers={"Origin": APP_ORIGIN, **preflight}
    )
    stranger = httpx.options(
        f"{mock_url}/api/user_123/tasks/42",
        headers={"Origin": "http://elsewhere.example", **preflight},
    )
    answered = httpx.get(
        f"{mock_url}/api/user_123/tasks/42", headers={"Origin": APP_ORIGIN, **MOCK_TOKEN}
    )

    assert allowed.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "Access-Control-Allow-Origin" not in stranger.headers
    assert answered.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "etag" in answered.headers["Access-Control-Expose-Headers"].lower().split(", ")


def test_prefer_code_answers_another_declared_answer(mock_url: str) -> None:
    missing = httpx.get(
        f"{mock_url}/api/user_123/tasks/42", headers={"Prefer": "code=404", **MOCK_TOKEN}
    )

    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_client_gets_every_operations_example_from_the_mock(
    mock_url: str, contract: Contract, tmp_path: Path
) -> None:
    if not INSTALLED_STAMP.exists():
        raise RuntimeError("the TypeScript client is not installed: run `make ts-client`")
    code, output = run([str(TSC), "-p", "."], CLIENT_DIR)
    if code != 0:
        pytest.fail(f"tsc failed on clients/typescript:\n{output}")
    examples = success_examples(contract)
    examples_path = tmp_path / "examples.json"
    examples_path.write_text(json.dumps(examples))

    env = {**os.environ, "MOCK_URL": mock_url, "MOCK_EXAMPLES": str(examples_path)}
    code, output = run(["node", "--test", "--test-reporter=tap", str(MOCK_TEST)], CLIENT_DIR, env)
    if code != 0:
        pytest.fail(f"node --test failed ({code}):\n{output}")
    passed = set(re.findall(r"^\s*ok \d+ - (\w+)$", output, re.MULTILINE))
    assert set(examples) <= passed, f"operations without a mock test: {set(examples) - passed}"
    assert "\n# fail 0\n" in output, output
    assert f"\n# pass {len(examples) + 1}\n" in output, output


def test_stopping_the_mock_stops_prism_too() -> None:
    with mock_process(APP_ORIGIN, LOG_DIR / "mock.log") as (_, process):
        prism = child_processes(process.pid)
        assert prism != []

    assert [pid for pid in prism if is_running(pid)] == []
