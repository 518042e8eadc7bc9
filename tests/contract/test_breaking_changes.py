"""`make check-breaking` fails on changes that break clients, and only on those."""

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from impl.contract import load_contract
from tests.support.scripts import load_script
from tests.support.server import ROOT

OPTIC = ROOT / ".tools" / "optic" / "node_modules" / ".bin" / "optic"
TASKS, TASK = "/api/{user_id}/tasks", "/api/{user_id}/tasks/{task_id}"
Contract = dict[str, Any]


check_breaking = load_script("scripts/check_breaking.py")


def schema(document: Contract, name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def with_effort(enum: list[str]) -> Callable[[Contract], None]:
    def add(document: Contract) -> None:
        schema(document, "TaskInput")["properties"]["effort"] = {"type": "string", "enum": enum}

    return add


def compare(
    tmp_path: Path, change: Callable[[Contract], object], base: Contract | None = None
) -> Any:
    old = base if base is not None else load_contract()
    new = copy.deepcopy(old)
    change(new)
    new_path = tmp_path / "openapi.yaml"
    new_path.write_text(yaml.safe_dump(new, sort_keys=False))
    return check_breaking.compare(yaml.safe_dump(old, sort_keys=False), new_path, OPTIC)


def remove_task_field(document: Contract) -> None:
    task = schema(document, "Task")
    del task["properties"]["completed"]
    task["required"].remove("completed")


def require_new_field(document: Contract) -> None:
    task_input = schema(document, "TaskInput")
    task_input["properties"]["effort"] = {"type": "string"}
    task_input["required"].append("effort")


def add_tags_operation(document: Contract) -> None:
    document["paths"]["/api/{user_id}/tags"] = {
        "parameters": [{"$ref": "#/components/parameters/UserId"}],
        "get": {
            **document["paths"][TASKS]["get"],
            "operationId": "list_tags",
            "summary": "List tags",
        },
    }


BREAKING: dict[str, Callable[[Contract], object]] = {
    "removed_operation": lambda d: d["paths"][TASK].pop("delete"),
    "removed_response_field": remove_task_field,
    "retyped_response_field": lambda d: schema(d, "Task")["properties"]["id"].update(type="string"),
    "new_required_request_field": require_new_field,
    "changed_parameter_pattern": lambda d: d["components"]["parameters"]["UserId"]["schema"].update(
        pattern="^[a-z]+$"
    ),
    "pattern_on_a_field_that_had_none": lambda d: schema(d, "TaskInput")["properties"][
        "priority"
    ].update(pattern="^[a-z]+$"),
}

HARMLESS: dict[str, Callable[[Contract], object]] = {
    "nothing": lambda d: None,
    "new_optional_request_field": with_effort(["low", "high"]),
    "new_operation": add_tags_operation,
    "new_response_field": lambda d: schema(d, "Task")["properties"].update(
        effort={"type": "string"}
    ),
}


@pytest.mark.parametrize("change", sorted(BREAKING))
def test_breaking_change_fails(tmp_path: Path, change: str) -> None:
    verdict = compare(tmp_path, BREAKING[change])

    assert not verdict.ok
    assert "without a new major version" in verdict.explanation


def test_narrowed_request_enum_fails(tmp_path: Path) -> None:
    base = load_contract()
    with_effort(["low", "medium", "high"])(base)

    verdict = compare(tmp_path, with_effort(["low", "high"]), base=base)

    assert not verdict.ok


@pytest.mark.parametrize("change", sorted(HARMLESS))
def test_compatible_change_passes(tmp_path: Path, change: str) -> None:
    verdict = compare(tmp_path, HARMLESS[change])

    assert verdict.ok, verdict.explanation


def next_version(document: Contract, *, major: bool) -> str:
    numbers = [int(part) for part in str(document["info"]["version"]).split(".")]
    return f"{numbers[0] + 1}.0.0" if major else f"{numbers[0]}.{numbers[1] + 1}.0"


def test_new_major_version_allows_a_breaking_change(tmp_path: Path) -> None:
    def remove_and_bump(document: Contract) -> None:
        document["paths"][TASK].pop("delete")
        document["info"]["version"] = next_version(document, major=True)

    verdict = compare(tmp_path, remove_and_bump)

    assert verdict.ok


def test_new_minor_version_does_not_allow_a_breaking_change(tmp_path: Path) -> None:
    def remove_and_bump(document: Contract) -> None:
        document["paths"][TASK].pop("delete")
        document["info"]["version"] = next_version(document, major=False)

    assert not compare(tmp_path, remove_and_bump).ok


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_base_is_the_latest_tag_else_the_previous_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "openapi.yaml").write_text("one")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    assert check_breaking.default_base(tmp_path) is None

    (tmp_path / "openapi.yaml").write_text("two")
    git(tmp_path, "commit", "-qam", "second")
    assert check_breaking.default_base(tmp_path) == "HEAD~1"

    git(tmp_path, "tag", "v1.0.0", "HEAD~1")
    assert check_breaking.default_base(tmp_path) == "v1.0.0"
