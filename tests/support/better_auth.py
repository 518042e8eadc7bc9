"""The real Better Auth server of tests/interop/better_auth, run by PID, and its users' tokens."""

import base64
import binascii
import json
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import ROOT, free_port, stop

SOURCE_DIR = ROOT / "tests" / "interop" / "better_auth"
# `make pytest` installs the pinned package here with `npm ci` and copies server.mjs next to it,
# since an ES module finds its imports in the node_modules of its own folder, not via NODE_PATH.
INSTALL_DIR = ROOT / ".tools" / "better-auth"
INSTALL_TARGET = ".tools/better-auth/server.mjs"
INSTALLED_COPIES = ("server.mjs", "package.json", "package-lock.json")
READY_LINE = "better-auth ready on "
STARTUP_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10
SESSION_COOKIE = "better-auth.session_token"


@contextmanager
def better_auth_server(log_path: Path, *, algorithm: str = "EdDSA") -> Iterator[str]:
    """Serve Better Auth on a free port with a fresh secret, its jwt plugin signing with
    `algorithm`; yields its base URL once ready."""
    _check_installed()
    port = free_port()
    # Nothing from the shell configures it: Better Auth reads BETTER_AUTH_* as fallbacks.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("BETTER_AUTH", "NODE_"))}
    env = {**inherited, "BETTER_AUTH_SECRET": secrets.token_urlsafe(48), "JWT_ALG": algorithm}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            ["node", "server.mjs", str(port)], cwd=INSTALL_DIR, env=env, stdout=log, stderr=log
        )
        try:
            yield _wait_until_ready(process, log_path, start)
        finally:
            stop(process, timeout_seconds=STOP_TIMEOUT_SECONDS)


def _check_installed() -> None:
    for name in INSTALLED_COPIES:
        installed = INSTALL_DIR / name
        if not installed.exists() or installed.read_bytes() != (SOURCE_DIR / name).read_bytes():
            raise RuntimeError(
                f"{installed} is missing or differs from {SOURCE_DIR / name}:"
                f" run `make {INSTALL_TARGET}`"
            )


def _wait_until_ready(process: "subprocess.Popen[bytes]", log_path: Path, start: int) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with log_path.open("rb") as log:
            log.seek(start)
            for line in log.read().decode(errors="replace").splitlines():
                if line.startswith(READY_LINE):
                    return line.removeprefix(READY_LINE).strip()
        if process.poll() is not None:
            raise RuntimeError(f"Better Auth exited with {process.returncode}: see {log_path}")
        time.sleep(0.05)
    raise RuntimeError(
        f"Better Auth did not start within {STARTUP_TIMEOUT_SECONDS}s: see {log_path}"
    )


@dataclass(frozen=True)
class Session:
    """A signed-up user: Better Auth's user id and the session cookie its sign-up set."""

    user_id: str
    cookie: str = field(repr=False)


def sign_up(base_url: str, name: str) -> Session:
    """Create a user with email and password, as a browser on the auth server's own origin would."""
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    response = httpx.post(
        f"{base_url}/api/auth/sign-up/email",
        json={"name": name, "email": email, "password": secrets.token_urlsafe(18)},
        headers={"Origin": base_url},
        timeout=10,
    )
    if response.status_code != 200:
        raise RuntimeError(f"sign-up answered {response.status_code}")
    cookie = response.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise RuntimeError(f"sign-up set no {SESSION_COOKIE} cookie")
    user_id: str = response.json()["user"]["id"]
    return Session(user_id, cookie)


def token_from_token_endpoint(base_url: str, session: Session) -> str:
    """A JWT from the jwt plugin's GET /api/auth/token, authenticated by the session cookie."""
    response = httpx.get(f"{base_url}/api/auth/token", headers=_cookie(session), timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"/api/auth/token answered {response.status_code}")
    token: str = response.json()["token"]
    return token


def token_from_get_session(base_url: str, session: Session) -> str:
    """A JWT from the `set-auth-jwt` header the jwt plugin adds to GET /api/auth/get-session."""
    response = httpx.get(f"{base_url}/api/auth/get-session", headers=_cookie(session), timeout=10)
    token: str | None = response.headers.get("set-auth-jwt")
    if response.status_code != 200 or not token:
        raise RuntimeError(f"get-session answered {response.status_code} without set-auth-jwt")
    return token


def _cookie(session: Session) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={session.cookie}"}


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64url") from error


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverified_part(token: str, index: int) -> dict[str, Any]:
    """The JSON header (0) or claims (1) of a JWT, read without checking its signature."""
    part: dict[str, Any] = json.loads(b64url_decode(token.split(".")[index]))
    return part
