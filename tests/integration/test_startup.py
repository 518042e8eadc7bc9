"""The service refuses to start on a bad configuration, naming the setting but never its value."""

import subprocess
import sys
import tempfile

import pytest

from tests.support.server import service_environment

SHORT_SECRET = "too-short-secret-31-bytes-long!"


def start(settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as workdir:
        return subprocess.run(
            [sys.executable, "-m", "impl"],
            cwd=workdir,
            env=service_environment(settings),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def test_secret_shorter_than_32_bytes_is_refused() -> None:
    assert len(SHORT_SECRET.encode()) == 31

    result = start({"BETTER_AUTH_SECRET": SHORT_SECRET, "DATABASE_URL": "postgresql://x@h/db"})

    assert result.returncode == 2
    assert "BETTER_AUTH_SECRET" in result.stderr
    assert SHORT_SECRET not in result.stdout + result.stderr


def test_missing_secret_is_refused() -> None:
    result = start({"DATABASE_URL": "postgresql://x@h/db"})

    assert result.returncode == 2
    assert "BETTER_AUTH_SECRET" in result.stderr


@pytest.mark.parametrize("url", ["mysql://user:hunter2@host/db", "not a url at all"])
def test_database_url_that_is_not_postgresql_is_refused(url: str) -> None:
    result = start({"BETTER_AUTH_SECRET": "s" * 32, "DATABASE_URL": url})

    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
