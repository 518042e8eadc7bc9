"""What a newcomer meets: the README's quick start on a fresh clone, and the wheel installed in a
clean virtualenv outside the checkout.

The quick start is read from README.md and run as written (only its port is changed, to a free
one), so the README cannot drift from what is tested.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from impl.contract import load_contract
from tests.conftest import LOG_DIR, new_user
from tests.support.postgres import PostgresServer
from tests.support.server import (
    ROOT,
    SERVICE_VARIABLES,
    free_port,
    running_service,
    stop,
    taskapi_command,
    wait_until_live,
)
from tests.support.tokens import SECRET

README_PORT = "127.0.0.1:8000"
# A fresh machine installs the service's packages and the docs bundles: minutes, not seconds.
SETUP_TIMEOUT_SECONDS = 600
README_SECTION = re.compile(r"^## Two commands\n(.*?)^## ", re.MULTILINE | re.DOTALL)
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def quick_start() -> tuple[str, str]:
    """The README's first command (`make run`) and the block that calls the API after it."""
    section = README_SECTION.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert section is not None, "README.md has no '## Two commands' section"
    blocks = SH_BLOCK.findall(section.group(1))
    assert len(blocks) >= 2, "the quick start is two sh blocks: the commands, then the calls"
    (run,) = [
        line.split("#", 1)[0].strip() for line in blocks[0].splitlines() if "make run" in line
    ]
    return run, blocks[1]


@pytest.fixture(scope="module")
def fresh_clone() -> Iterator[Path]:
    """The repository's tracked files, as `git clone` gives them, in a folder of their own
    (readable by the embedded server's system user)."""
    parent = Path(tempfile.mkdtemp(prefix="taskapi-clone-"))
    parent.chmod(0o755)
    clone = parent / "taskapi"
    try:
        subprocess.run(
            ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
            check=True,
            timeout=120,
        )
        # The working tree's tracked files, so that what is tested is what will be committed.
        tracked = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.split(b"\0")
        for name in filter(None, tracked):
            source, target = ROOT / name.decode(), clone / name.decode()
            if source.is_symlink() or not source.exists():
                continue
            shutil.copy2(source, target)
        yield clone
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def newcomer_environment() -> dict[str, str]:
    """The shell of someone who has configured nothing."""
    return {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}


def test_the_readme_quick_start_works_as_written_on_a_fresh_clone(fresh_clone: Path) -> None:
    run_command, calls = quick_start()
    port = str(free_port())
    environment = {**newcomer_environment(), "API_PORT": port}
    log_path = LOG_DIR / "fresh-clone-make-run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("wb") as log:
        # given a fresh clone, when the README's first command runs (in a session of its own,
        # so that stopping it stops what it started, as Ctrl-C would)
        make_run = subprocess.Popen(
            run_command.split(),
            cwd=fresh_clone,
            env=environment,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            wait_until_live(
                f"http://127.0.0.1:{port}/health/live",
                make_run,
                log_path,
                name=run_command,
                timeout_seconds=SETUP_TIMEOUT_SECONDS,
            )
            ready_after = time.monotonic() - started
            # and then the README's calls, as written, with curl telling each status
            script = "\n".join(
                [
                    "set -euo pipefail",
                    "curl() { command curl --silent --show-error"
                    " --write-out '\\nHTTP %{http_code}\\n' \"$@\"; }",
                    calls.replace(README_PORT, f"127.0.0.1:{port}"),
                ]
            )
            called = subprocess.run(
                ["bash", "-c", script],
                cwd=fresh_clone,
                env=environment,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            os.killpg(make_run.pid, signal.SIGTERM)
            stop(make_run, timeout_seconds=30)

    # then the token is minted, the task created and listed
    assert called.returncode == 0, called.stdout + called.stderr
    statuses = re.findall(r"^HTTP (\d{3})$", called.stdout, re.MULTILINE)
    assert statuses == ["201", "200"], called.stdout + called.stderr
    assert called.stdout.count('"title":"Buy milk"') == 2, called.stdout
    # the same .env `make run` wrote; its secret is the random one it made
    assert (fresh_clone / ".env").stat().st_mode & 0o077 == 0
    print(f"make run on a fresh clone: serving after {ready_after:.0f} s")


def test_the_wheel_serves_from_a_clean_virtualenv_outside_the_checkout(
    fresh_clone: Path, postgres: PostgresServer, tmp_path: Path
) -> None:
    contract = load_contract()
    version = contract["info"]["version"]
    environment = newcomer_environment()
    started = time.monotonic()
    # given the wheel `make wheel` builds
    subprocess.run(
        ["make", "--no-print-directory", "wheel"],
        cwd=fresh_clone,
        env=environment,
        check=True,
        capture_output=True,
        timeout=SETUP_TIMEOUT_SECONDS,
    )
    wheel = fresh_clone / "dist" / f"taskapi-{version}-py3-none-any.whl"
    assert wheel.is_file(), sorted(p.name for p in (fresh_clone / "dist").iterdir())
    # when it is installed into a new virtualenv in a folder that is not the checkout
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        timeout=SETUP_TIMEOUT_SECONDS,
    )
    installed_after = time.monotonic() - started
    taskapi = (str(venv / "bin" / "taskapi"),)
    shutil.rmtree(fresh_clone / "dist")

    user = new_user("installed")
    with postgres.fresh_database("taskapi_wheel") as url:
        settings = {"DATABASE_URL": url, "BETTER_AUTH_SECRET": SECRET, "LOG_LEVEL": "WARNING"}
        migrated = taskapi_command(settings, "migrate", program=taskapi)
        with (
            running_service(
                settings, LOG_DIR / "service-installed-wheel.log", program=taskapi
            ) as base,
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {user.token}"}, timeout=10
            ) as client,
        ):
            created = client.post(user.tasks_path, json={"title": "from the wheel"})
            listed = client.get(user.tasks_path)
            served_contract = client.get("/openapi.json")
            docs = client.get("/docs")
            redoc_bundle = client.get("/redoc/assets/redoc.standalone.js")

    reported_version = taskapi_command({}, "--version", program=taskapi).stdout.strip()
    # then it migrates, serves, and carries its contract and docs with it
    assert migrated.returncode == 0, migrated.stderr
    assert (created.status_code, listed.status_code) == (201, 200)
    assert [task["title"] for task in listed.json()["items"]] == ["from the wheel"]
    assert served_contract.json() == contract
    assert (docs.status_code, redoc_bundle.status_code) == (200, 200)
    assert reported_version == f"taskapi {version}"
    print(f"make wheel, then a clean install: {installed_after:.0f} s")


def test_an_installation_without_its_migrations_refuses_to_start(tmp_path: Path) -> None:
    # given the service's code without its sql/ (an incomplete install)
    copy = tmp_path / "site"
    shutil.copytree(ROOT / "impl", copy / "impl", symlinks=False)
    shutil.copytree(ROOT / "generated", copy / "generated")
    shutil.copytree(ROOT / "contract_runtime", copy / "contract_runtime")
    for migration in (copy / "impl" / "resources" / "sql").glob("*.sql"):
        migration.unlink()
    settings = {
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "BETTER_AUTH_SECRET": SECRET,
    }

    # when it is asked to serve
    refused = taskapi_command(settings, "serve", python_path=copy)

    # then it refuses, naming the cause
    assert refused.returncode == 1
    assert "no migrations found" in refused.stderr
