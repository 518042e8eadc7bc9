"""`make mock` (Prism on openapi.yaml) answers every operation with its example, and the TypeScript
client reads each one as the type the contract gives it: the examples stay usable by a frontend."""

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LOG_DIR
from tests.integration.test_typescript_client import CLIENT_DIR, INSTALLED_STAMP, TSC, run
from tests.support.contract import HTTP_METHODS, Contract
from tests.support.server import ROOT, free_port, stop, wait_until_live

# `make pytest` (or `make mock`) installs Prism from scripts/mock/package-lock.json.
PRISM = ROOT / ".tools" / "prism" / "node_modules" / ".bin" / "prism"
MOCK_TEST = CLIENT_DIR / "build" / "test" / "mock.test.js"
STARTUP_TIMEOUT_SECONDS = 30


def success_examples(contract: Contract) -> dict[str, dict[str, object]]:
    """Per operationId, what Prism answers a valid request with: the lowest 2xx status, the first
    example of its JSON body (null without a body) and the headers the contract requires."""
    examples: dict[str, dict[str, object]] = {}
    for item in contract.document["paths"].values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            status = min(s for s in operation["responses"] if s.startswith("2"))
            response = contract.resolve(operation["responses"][status])
            body = None
            if "content" in response:
                first = next(iter(response["content"]["application/json"]["examples"].values()))
                body = contract.resolve(first)["value"]
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


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    """Prism as `make mock` runs it, on a free loopback port; stopped by PID."""
    if not PRISM.exists():
        raise RuntimeError("Prism is not installed: run `make pytest` or `make mock`")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = LOG_DIR / "prism.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(PRISM), "mock", "openapi.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        try:
            wait_until_live(
                f"{base_url}/health/live",
                process,
                log_path,
                name="Prism",
                timeout_seconds=STARTUP_TIMEOUT_SECONDS,
            )
            yield base_url
        finally:
            stop(process, timeout_seconds=10)


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
