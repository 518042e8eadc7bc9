"""The generated TypeScript client (clients/typescript) type-checks, reads an event stream as the
standard says, works against the running service, and stops type-checking when the contract
changes under it in a breaking way."""

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import User
from tests.support.server import ROOT

CLIENT_DIR = ROOT / "clients" / "typescript"
# `make pytest` (or `make ts-client`) installs the client's pinned packages with `npm ci` and
# writes this stamp.
INSTALLED_STAMP = CLIENT_DIR / "node_modules" / ".installed"
TSC = CLIENT_DIR / "node_modules" / ".bin" / "tsc"
E2E_TEST = CLIENT_DIR / "build" / "test" / "e2e.test.js"
EVENTS_TEST = CLIENT_DIR / "build" / "test" / "events.test.js"
TIMEOUT_SECONDS = 120

Contract = dict[str, Any]


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Exit code and combined output of a command of the client's toolchain."""
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    return completed.returncode, completed.stdout


@pytest.fixture(scope="module")
def compiled() -> None:
    """The client and its e2e test compiled by tsc (strict) into the git-ignored build/."""
    if not INSTALLED_STAMP.exists():
        raise RuntimeError("the TypeScript client is not installed: run `make ts-client`")
    shutil.rmtree(CLIENT_DIR / "build", ignore_errors=True)
    code, output = run([str(TSC), "-p", "."], CLIENT_DIR)
    if code != 0:
        pytest.fail(f"tsc failed on clients/typescript:\n{output}")


@pytest.mark.usefixtures("compiled")
def test_client_type_checks_in_strict_mode() -> None:
    assert E2E_TEST.exists()


@pytest.mark.usefixtures("compiled")
def test_the_event_stream_reader_passes_its_own_tests() -> None:
    """The wire format, reconnects, resumes and refusals, against a server the tests start."""
    code, output = run(["node", "--test", "--test-reporter=tap", str(EVENTS_TEST)], CLIENT_DIR)
    if code != 0:
        pytest.fail(f"node --test failed ({code}):\n{output}")
    assert "\n# fail 0\n" in output, output
    assert "\n# pass 13\n" in output, output


@pytest.mark.usefixtures("compiled")
def test_client_against_the_running_service(service_url: str, alice: User, bob: User) -> None:
    env = {
        **os.environ,
        "API_URL": service_url,
        "ALICE_ID": alice.id,
        "ALICE_TOKEN": alice.token,
        "BOB_ID": bob.id,
        "BOB_TOKEN": bob.token,
    }
    code, output = run(["node", "--test", "--test-reporter=tap", str(E2E_TEST)], CLIENT_DIR, env)
    if code != 0:
        pytest.fail(f"node --test failed ({code}):\n{output}")
    assert "\n# fail 0\n" in output
    assert "\n# pass 11\n" in output, output


def rename_title(contract: Contract) -> None:
    for name in ("Task", "TaskInput", "TaskPatch"):
        schema = contract["components"]["schemas"][name]
        schema["properties"]["name"] = schema["properties"].pop("title")
        if "title" in schema.get("required", []):
            schema["required"] = ["name" if key == "title" else key for key in schema["required"]]


def remove_next_cursor(contract: Contract) -> None:
    schema = contract["components"]["schemas"]["TaskList"]
    del schema["properties"]["next_cursor"]
    schema["required"].remove("next_cursor")


def unchanged(contract: Contract) -> None:
    """The control: the same harness with the contract as it is must type-check."""


@pytest.mark.parametrize(
    ("change", "breaks"),
    [(unchanged, None), (rename_title, "title"), (remove_next_cursor, "next_cursor")],
    ids=["unchanged", "title-renamed", "next-cursor-removed"],
)
def test_a_breaking_contract_change_fails_the_type_check(
    tmp_path: Path, change: Callable[[Contract], None], breaks: str | None
) -> None:
    """Regenerates the types from a changed copy of the contract, then type-checks a copy of
    the client and its e2e test against them, with the same script and packages as the real one."""
    contract: Contract = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    change(contract)
    (tmp_path / "openapi.yaml").write_text(yaml.safe_dump(contract, sort_keys=False))
    client = tmp_path / "clients" / "typescript"
    modules = [
        f"src/{path.name}" for path in (CLIENT_DIR / "src").glob("*.ts") if path.name != "schema.ts"
    ]
    for name in ("package.json", "tsconfig.json", *modules, "test/e2e.test.ts"):
        (client / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CLIENT_DIR / name, client / name)
    (client / "node_modules").symlink_to(CLIENT_DIR / "node_modules", target_is_directory=True)

    code, output = run(["npm", "run", "--silent", "generate"], client)
    assert code == 0, output
    assert (client / "src" / "schema.ts").read_text() != "", "no types were generated"

    code, output = run([str(TSC), "--noEmit", "-p", "."], client)
    if breaks is None:
        assert code == 0, f"the unchanged contract must type-check:\n{output}"
    else:
        assert code != 0, f"tsc passed although the contract lost `{breaks}`"
        assert "error TS" in output, output
        assert breaks in output, output
