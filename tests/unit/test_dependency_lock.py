"""The service's dependencies are installed from a lock that agrees with pyproject.toml.

`make lock` writes `requirements/service.txt`; `make run` and `make install` install from it with
`--require-hashes`. A pin changed in one and not the other fails here, not on a user's machine.
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "service.txt"
# The extras the lock is resolved with: what `make run` and a traced deployment install.
LOCKED_EXTRAS = ("embedded", "tracing")
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, tuple[str, int]]:
    """Each locked package's version and how many hashes it carries."""
    entries: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in LOCK.read_text().splitlines():
        pin = PIN.match(line)
        if pin:
            current = canonical(pin[1])
            entries[current] = (pin[2], 0)
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
    return entries


def declared() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in LOCKED_EXTRAS:
        requirements += project["optional-dependencies"][extra]
    pins: dict[str, str] = {}
    for requirement in requirements:
        pin = PIN.match(requirement)
        assert pin, f"{requirement!r} in pyproject.toml is not pinned with =="
        pins[canonical(pin[1])] = pin[2]
    return pins


def test_every_declared_dependency_is_locked_at_its_pinned_version() -> None:
    lock = locked()

    differences = {
        name: (version, lock.get(name, ("missing", 0))[0])
        for name, version in declared().items()
        if lock.get(name, ("missing", 0))[0] != version
    }

    assert not differences, f"pyproject.toml vs {LOCK.name} (run make lock): {differences}"


def test_every_locked_package_carries_a_hash() -> None:
    unhashed = [name for name, (_, hashes) in locked().items() if hashes == 0]

    assert locked(), f"{LOCK} names no package"
    assert not unhashed, f"locked without a hash: {unhashed}"
