"""The service reads each of the contract's patterns as a client's `RegExp` does, and the
database holds user ids to the contract's rule.

The contract's patterns are ECMA-262; the service validates with pydantic-core's engine, given
the patterns as scripts/codegen/ecma_patterns.py writes them out. Every pattern is run over the
same edge cases (each kind of space, line terminator, control and format character, digits and
letters of other scripts, an astral character, a trailing line feed) by Node's `RegExp` with the
`u` flag and by pydantic, and the verdicts must be the same. The migrations cannot import the
rule the generated code exports for `user_id`: their CHECK constraints are run over the same
cases, and must accept exactly the user ids it does.
"""

import ast
import asyncio
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import asyncpg
import pytest
import yaml
from pydantic import StringConstraints, TypeAdapter, ValidationError

from generated.parameters import USER_ID_MAX_LENGTH, USER_ID_MIN_LENGTH, USER_ID_PATTERN
from impl.db.migrations import connect, migrate
from tests.support.postgres import PostgresServer, target
from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


# A script the generators' interpreter runs by path.
_script = load_script("scripts/codegen/ecma_patterns.py")
translate: Callable[[str], str] = _script.translate
patterns: Callable[[object], list[str]] = _script.patterns
UntranslatablePattern: type[Exception] = _script.UntranslatablePattern
CONTRACT_PATTERNS = sorted(set(patterns(yaml.safe_load((ROOT / "openapi.yaml").read_text()))))

EDGE_CHARACTERS = [
    *'\x00\x08\t\n\x0b\x0c\r\x0e\x1f !"-._~0A_az\x7f\x80\x85\x9f\xa0',
    "\u1680",
    "\u180e",
    "\u2000",
    "\u200a",
    "\u200b",
    "\u2028",
    "\u2029",
    "\u202f",
    "\u205f",
    "\u3000",
    "\ufeff",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: a digit, not 0-9
    "\u00e9",
    "\u01c5",
    "\U0001f600",
]
EDGE_CASES = [
    "",
    "ok",
    "Buy milk",
    '"1"',
    "a\n",
    *EDGE_CHARACTERS,
    *(f"a{c}" for c in EDGE_CHARACTERS),
    *(f"{c}a" for c in EDGE_CHARACTERS),
    *(f"a{c}b" for c in EDGE_CHARACTERS),
    *(f"{c}{c}" for c in EDGE_CHARACTERS),
]
NODE_VERDICTS = """
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(cases.map(([p, s]) => new RegExp(p, "u").test(s))));
"""


def node_verdicts(cases: list[tuple[str, str]]) -> list[bool]:
    result = subprocess.run(
        ["node", "-e", NODE_VERDICTS],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
    )
    verdicts: list[bool] = json.loads(result.stdout)
    return verdicts


def service_verdict(pattern: str, text: str, **lengths: int) -> bool:
    """Whether the service's engine takes `text`, given a pattern as the generated code holds it."""
    adapter = TypeAdapter(Annotated[str, StringConstraints(pattern=pattern, **lengths)])
    try:
        adapter.validate_python(text)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("pattern", CONTRACT_PATTERNS)
def test_each_contract_pattern_gives_the_service_and_a_client_the_same_verdicts(
    pattern: str,
) -> None:
    cases = [(pattern, text) for text in EDGE_CASES]

    expected = node_verdicts(cases)
    actual = [service_verdict(translate(pattern), text) for text in EDGE_CASES]

    disagreements = [
        (text, client, service)
        for text, client, service in zip(EDGE_CASES, expected, actual, strict=True)
        if client != service
    ]
    assert disagreements == []


def test_the_generated_code_holds_only_translated_patterns() -> None:
    translated = {translate(pattern) for pattern in CONTRACT_PATTERNS}
    generated = "\n".join(path.read_text() for path in (ROOT / "generated").glob("*.py"))
    found = {
        ast.literal_eval(literal)
        for literal in re.findall(
            r"(?:pattern=|_PATTERN = )(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')", generated
        )
    }

    assert found
    assert found <= translated


@pytest.mark.parametrize(
    ("pattern", "meaning"),
    [
        ("^\\s$", "[\\t\\n\\x0B\\x0C\\r \\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F"),
        ("^\\d+$", "[0-9]+"),
        ("^\\W$", "[^A-Za-z0-9_]"),
        ("^a.b$", "a[^\\n\\r\\u2028\\u2029]b"),
        ("^[.\\d]$", "[.0-9]"),
    ],
)
def test_shorthands_are_written_out(pattern: str, meaning: str) -> None:
    assert meaning in translate(pattern)


@pytest.mark.parametrize("pattern", ["^[\\S]$", "\\bword\\b", "^[^]$"])
def test_what_cannot_be_written_out_stops_generation(pattern: str) -> None:
    with pytest.raises(UntranslatablePattern):
        translate(pattern)


# PostgreSQL's text cannot hold U+0000 at all, so no constraint is asked about it.
USER_ID_CASES = sorted(
    {
        *(text for text in EDGE_CASES if "\x00" not in text),
        *(".", "..", "...", ".a", "a.", "..a", "a..", "-", "_", "user_123", "a/b", "%2e"),
        *("a" * 128, "a" * 129),
    }
)


def is_user_id(text: str) -> bool:
    """The contract's rule, as the generated code exports it."""
    return service_verdict(
        USER_ID_PATTERN, text, min_length=USER_ID_MIN_LENGTH, max_length=USER_ID_MAX_LENGTH
    )


async def violations(url: str, user_ids: list[str]) -> list[str | None]:
    """The CHECK constraint that refuses a task of each user id in the migrated schema, if one
    does (each write rolled back)."""
    await migrate(target(url))
    connection = await connect(target(url))
    violated: list[str | None] = []
    try:
        for user_id in user_ids:
            transaction = connection.transaction()
            await transaction.start()
            try:
                await connection.execute(
                    "INSERT INTO tasks (user_id, title) VALUES ($1, 'Buy milk')", user_id
                )
            except asyncpg.CheckViolationError as violation:
                violated.append(violation.constraint_name)
            else:
                violated.append(None)
            finally:
                await transaction.rollback()
    finally:
        await connection.close()
    return violated


def test_the_database_stores_tasks_for_exactly_the_user_ids_of_the_contract(
    postgres: PostgresServer,
) -> None:
    with postgres.fresh_database() as url:
        violated = asyncio.run(violations(url, USER_ID_CASES))

    disagreements = [
        (user_id, constraint)
        for user_id, constraint in zip(USER_ID_CASES, violated, strict=True)
        if (constraint is None) != is_user_id(user_id)
    ]
    assert disagreements == []
    # A task's first write makes its owner's Inbox (migration 0016), whose row is checked first.
    owner_checks = ("tasks_user_id", "task_lists_user_id")
    assert all(name.startswith(owner_checks) for name in violated if name is not None)
