"""Fail when openapi.yaml breaks clients of an earlier version without a new major version.

Usage: python scripts/check_breaking.py --optic PATH [--base REF] [--repo DIR]

The earlier version is openapi.yaml at REF: by default the latest tag, else origin/main when it
differs from HEAD, else HEAD~1. Optic's breaking-change rules decide what breaks a client
(removed operations, removed or retyped response fields, new required request fields, narrowed
enums, ...). Optic does not compare regular expressions, so a `pattern` that changes on an
element both versions have, or appears on one that had none, also counts as breaking: whether it
narrows what clients may send cannot be told in general. A new major number in `info.version`
allows the break.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONTRACT = "openapi.yaml"
BREAKING_MARKER = "This is a breaking change"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    explanation: str


def git(repo: Path, *args: str) -> str | None:
    result = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def default_base(repo: Path) -> str | None:
    """The latest tag, else origin/main if it is not HEAD, else HEAD~1; None on a first commit."""
    tag = git(repo, "describe", "--tags", "--abbrev=0")
    if tag:
        return tag
    head = git(repo, "rev-parse", "HEAD")
    upstream = git(repo, "rev-parse", "--verify", "--quiet", "origin/main")
    if upstream and upstream != head:
        return "origin/main"
    if git(repo, "rev-parse", "--verify", "--quiet", "HEAD~1"):
        return "HEAD~1"
    return None


def major_version(contract_text: str) -> int:
    version = str(yaml.safe_load(contract_text)["info"]["version"])
    match = re.match(r"^v?(\d+)", version)
    if match is None:
        raise ValueError(f"info.version {version!r} does not start with a major number")
    return int(match.group(1))


def changed_patterns(old: Any, new: Any, pointer: str = "") -> list[str]:
    """Where a `pattern` changed, or was added to an element the old version already had."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        if "pattern" in new and old.get("pattern") != new["pattern"]:
            found.append(f"{pointer}/pattern")
        for key in old.keys() & new.keys():
            found += changed_patterns(old[key], new[key], f"{pointer}/{key}")
        return found
    if isinstance(old, list) and isinstance(new, list):
        return [
            change
            for index, (before, after) in enumerate(zip(old, new, strict=False))
            for change in changed_patterns(before, after, f"{pointer}/{index}")
        ]
    return []


def compare(old_text: str, new_path: Path, optic: Path) -> Verdict:
    """Run Optic on the two versions, add pattern changes, and apply the major-version rule."""
    with tempfile.TemporaryDirectory() as workdir:
        old_path = Path(workdir) / CONTRACT
        old_path.write_text(old_text, encoding="utf-8")
        result = subprocess.run(
            [str(optic), "diff", str(old_path), str(new_path), "--check"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "OPTIC_TELEMETRY_LEVEL": "off"},
            timeout=300,
        )
    report = result.stdout + result.stderr
    print(report)
    new_text = new_path.read_text()
    patterns = changed_patterns(yaml.safe_load(old_text), yaml.safe_load(new_text))
    for pointer in patterns:
        print(f"pattern changed (may narrow what clients send): {pointer}")
    if result.returncode == 0 and not patterns:
        return Verdict(True, "no breaking change")
    if result.returncode != 0 and BREAKING_MARKER not in report:
        return Verdict(False, f"optic failed (exit {result.returncode}) without a verdict")
    old_major, new_major = major_version(old_text), major_version(new_text)
    if new_major > old_major:
        return Verdict(True, f"breaking changes allowed: major version {old_major} -> {new_major}")
    return Verdict(
        False,
        "breaking change without a new major version: restore compatibility, "
        f"or raise info.version's major number (now {new_major})",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optic", type=Path, required=True)
    parser.add_argument("--base", help="git ref of the earlier version")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)

    base = args.base or default_base(args.repo)
    if base is None:
        print("check-breaking: no earlier version to compare with")
        return 0
    old_text = git(args.repo, "show", f"{base}:{CONTRACT}")
    if old_text is None:
        print(f"check-breaking: {base} has no {CONTRACT}; nothing to compare")
        return 0
    verdict = compare(old_text + "\n", args.repo / CONTRACT, args.optic)
    print(f"check-breaking against {base}: {verdict.explanation}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
