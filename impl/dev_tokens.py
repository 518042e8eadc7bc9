"""Development tokens (`taskapi token <user id>`, `make token`), as the configured mode verifies.

hs256: signed with BETTER_AUTH_SECRET. jwks: signed with a local stand-in for Better Auth's
signing key, an Ed25519 key kept in .data/dev-jwks/ (git-ignored, created on first use), whose
public half `make dev-jwks` publishes as a JWKS; point JWKS_URL at it. Either way with the
configured issuer and audience, if any.
"""

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from impl.settings import Settings

KEY_FILE = Path(".data/dev-jwks/signing-key.json")
KEY_ID = "dev-ed25519"


def private_key() -> Ed25519PrivateKey:
    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        KEY_FILE.touch(mode=0o600)
        KEY_FILE.write_text(OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate()))
    key = OKPAlgorithm.from_jwk(KEY_FILE.read_text())
    assert isinstance(key, Ed25519PrivateKey), f"{KEY_FILE} does not hold an Ed25519 private key"
    return key


def public_key_set() -> dict[str, Any]:
    public = json.loads(OKPAlgorithm.to_jwk(private_key().public_key()))
    return {"keys": [{**public, "kid": KEY_ID, "alg": "EdDSA", "use": "sig"}]}


def sign(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, private_key(), algorithm="EdDSA", headers={"kid": KEY_ID})


def claims_for(
    user_id: str, minutes: int, issuer: str | None, audience: str | None
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + minutes * 60}
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    return claims


def mint(settings: Settings, user_id: str, minutes: int) -> str:
    claims = claims_for(user_id, minutes, settings.issuer, settings.audience)
    if settings.auth_mode == "jwks":
        return sign(claims)
    assert settings.better_auth_secret is not None, "Settings requires it in hs256 mode"
    return jwt.encode(claims, settings.better_auth_secret.get_secret_value(), algorithm="HS256")
