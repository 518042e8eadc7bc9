"""The API linter's ruleset catches what it is there for (`make lint-spec`)."""

import copy
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from impl.contract import load_contract
from tests.support.server import ROOT

REDOCLY = ROOT / ".tools" / "redocly" / "node_modules" / ".bin" / "redocly"
RULESET = ROOT / "scripts" / "spec-lint" / "redocly.yaml"

Contract = dict[str, Any]


def lint(document: Contract, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    return subprocess.run(
        [str(REDOCLY), "lint", str(spec), "--config", str(RULESET), "--format", "stylish"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
    )


def operation(document: Contract, path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def response(document: Contract, name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["responses"][name]
    return found


TASKS, TASK = "/api/{user_id}/tasks", "/api/{user_id}/tasks/{task_id}"

MUTATIONS: dict[str, tuple[Callable[[Contract], object], str]] = {
    "missing_operation_id": (
        lambda d: operation(d, TASKS, "get").pop("operationId"),
        "operation-operationId",
    ),
    "camel_case_operation_id": (
        lambda d: operation(d, TASKS, "get").update(operationId="listTasks"),
        "rule/operation-id-is-snake-case",
    ),
    "missing_summary": (
        lambda d: operation(d, TASK, "get").pop("summary"),
        "operation-summary",
    ),
    "missing_tag": (
        lambda d: operation(d, TASK, "delete").pop("tags"),
        "rule/operation-has-a-tag",
    ),
    "request_body_without_example": (
        lambda d: operation(d, TASKS, "post")["requestBody"]["content"]["application/json"].pop(
            "examples"
        ),
        "rule/request-body-has-examples",
    ),
    "success_without_example": (
        lambda d: operation(d, TASK, "get")["responses"]["200"]["content"]["application/json"].pop(
            "examples"
        ),
        "rule/success-response-has-examples",
    ),
    "example_that_breaks_its_schema": (
        lambda d: d["components"]["examples"]["TaskExample"]["value"].update(id="forty-two"),
        "no-invalid-media-type-examples",
    ),
    "error_with_its_own_schema": (
        lambda d: response(d, "NotFound")["content"]["application/json"].update(
            schema={"type": "object"}
        ),
        "rule/errors-use-the-error-schema",
    ),
    "error_without_example": (
        lambda d: response(d, "Forbidden")["content"]["application/json"].pop("example"),
        "rule/errors-have-examples",
    ),
    "secured_operation_without_401": (
        lambda d: operation(d, TASK, "put")["responses"].pop("401"),
        "rule/secured-operations-declare-401-and-403",
    ),
    "unauthorized_without_www_authenticate": (
        lambda d: response(d, "Unauthorized").update(
            headers={"X-Other": response(d, "Unauthorized")["headers"]["WWW-Authenticate"]}
        ),
        "rule/unauthorized-names-the-scheme-header",
    ),
    "unavailable_without_retry_after": (
        lambda d: response(d, "ServiceUnavailable").update(
            headers={"X-Other": response(d, "ServiceUnavailable")["headers"]["Retry-After"]}
        ),
        "rule/service-unavailable-says-when-to-retry-header",
    ),
    "undefined_security_scheme": (
        lambda d: operation(d, TASKS, "get").update(security=[{"cookieAuth": []}]),
        "security-defined",
    ),
}


def test_the_contract_passes_the_ruleset(tmp_path: Path) -> None:
    result = lint(load_contract(), tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_ruleset_rejects(mutation: str, tmp_path: Path) -> None:
    mutate, rule = MUTATIONS[mutation]
    document = copy.deepcopy(load_contract())
    mutate(document)

    result = lint(document, tmp_path)

    assert result.returncode != 0
    assert rule in result.stdout + result.stderr
