"""`make token` mints what the configured mode verifies; `make dev-jwks` publishes the dev key."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contract_runtime.security import Principal
from impl.auth.claims import ClaimRules
from impl.auth.published_keys import KeySetPolicy, PublishedKeyAuthenticator, PublishedKeys
from impl.auth.shared_secret import SharedSecretAuthenticator
from tests.support.server import ROOT, free_port
from tests.support.tokens import SECRET

ISSUER = "http://127.0.0.1:3000"
RULES = ClaimRules(issuer=ISSUER, audience=ISSUER, leeway_seconds=30)


def mint(workdir: Path, **settings: str) -> str:
    """`make token USER=alice` (`taskapi token alice`), run in `workdir` with only `settings`."""
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **settings}
    result = subprocess.run(
        [sys.executable, "-m", "impl", "token", "alice"],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


@pytest.fixture
def published_dev_key(tmp_path: Path) -> Iterator[str]:
    """`make dev-jwks` (scripts/dev_jwks.py) serving from `tmp_path`; yields the JWKS URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "dev_jwks.py"), "--port", str(port)],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/auth/jwks"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(url, timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def verify_with_published_keys(url: str, token: str) -> Principal:
    async def verify() -> Principal:
        keys = PublishedKeys(
            KeySetPolicy(url, cache_seconds=60, refresh_seconds=1, timeout_seconds=2)
        )
        try:
            return await PublishedKeyAuthenticator(keys, RULES).authenticate(token)
        finally:
            await keys.close()

    return asyncio.run(verify())


def test_hs256_token_is_signed_with_the_shared_secret(tmp_path: Path) -> None:
    token = mint(tmp_path, BETTER_AUTH_SECRET=SECRET, BETTER_AUTH_URL=ISSUER)

    principal = asyncio.run(SharedSecretAuthenticator(SECRET, RULES).authenticate(token))

    assert principal == Principal(user_id="alice")


def test_jwks_token_verifies_against_the_published_dev_key(
    tmp_path: Path, published_dev_key: str
) -> None:
    token = mint(
        tmp_path,
        AUTH_MODE="jwks",
        BETTER_AUTH_URL=ISSUER,
        JWKS_URL=published_dev_key,
        CURSOR_SECRET=SECRET,
    )

    assert verify_with_published_keys(published_dev_key, token) == Principal(user_id="alice")
    assert (tmp_path / ".data" / "dev-jwks" / "signing-key.json").stat().st_mode & 0o077 == 0
