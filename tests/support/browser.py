"""A browser script of tests/browser/ run in Debian's chromium with playwright-core."""

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.conftest import LOG_DIR
from tests.support.server import ROOT

BROWSER_SCRIPTS = ROOT / "tests" / "browser"
# Installed by `make docs-assets` beside the bundles it copies into the package.
PLAYWRIGHT_DIR = ROOT / ".tools" / "docs-assets" / "node_modules" / "playwright-core"
SCREENSHOT_DIR = LOG_DIR / "browser"


def run_browser_script(script: str, env: dict[str, str], timeout_seconds: float) -> dict[str, Any]:
    """Run tests/browser/`script` with `env` besides the browser's own settings; returns the JSON
    line it prints last."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: run `make setup` (it installs Debian's chromium)")
    if not PLAYWRIGHT_DIR.is_dir():
        pytest.fail("playwright-core is missing: run `make docs-assets`")
    finished = subprocess.run(
        ["node", str(BROWSER_SCRIPTS / script)],
        env={
            **os.environ,
            "CHROMIUM": chromium,
            "PLAYWRIGHT_DIR": str(PLAYWRIGHT_DIR),
            "SCREENSHOT_DIR": str(SCREENSHOT_DIR),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result
