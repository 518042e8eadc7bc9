"""A local stand-in for Better Auth's signing key, for trying AUTH_MODE=jwks by hand.

The Ed25519 key lives in .data/dev-jwks/ (git-ignored), created on first use. `make token`
signs with it in jwks mode, and `make dev-jwks` publishes its public half as a JWKS.
"""

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

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
