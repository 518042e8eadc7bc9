"""Generated means generated: what our templates render is named by the contract, and the
runtime it imports stays below it (contract_runtime ← generated ← impl)."""

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "scripts" / "codegen" / "templates").glob("*.jinja2"))
RUNTIME_MODULES = sorted((ROOT / "contract_runtime").glob("*.py"))
# The names the templates give the interface itself: the router factory, and the owner check of
# a tag whose operations are secured.
INTERFACE_NAMES = {"create_router", "authorize"}


def contract_names() -> set[str]:
    """Each operationId (a route and an abstract method) and each tag's `Base<Tag>Api`."""
    contract: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    operations = {
        operation["operationId"]
        for item in contract["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    interfaces = {
        "Base" + "".join(part.capitalize() for part in re.split(r"[-_]", tag["name"])) + "Api"
        for tag in contract["tags"]
    }
    return operations | interfaces | INTERFACE_NAMES


def definitions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_a_template_defines_nothing_the_contract_does_not_name(template: Path) -> None:
    rendered = ROOT / "generated" / f"{template.stem}.py"
    assert rendered.is_file(), f"{template.name} renders no generated/{rendered.name}"

    named = contract_names()
    static = [name for name in definitions(rendered) if name not in named]

    assert static == [], (
        f"{template.name} defines {static}, which no operation or tag of openapi.yaml names: "
        "code that does not change with the contract belongs in contract_runtime/"
    )


@pytest.mark.parametrize("module", RUNTIME_MODULES, ids=lambda path: path.name)
def test_the_runtime_imports_neither_the_generated_code_nor_the_implementation(
    module: Path,
) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]

    upward = [name for name in imported if name.split(".")[0] in ("generated", "impl", "tests")]

    assert upward == [], f"contract_runtime/{module.name} imports {upward}"
