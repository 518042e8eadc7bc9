"""Opaque tokens handed to clients (paging cursors, sync tokens): signed, and bound to a user.

A token is `<payload>.<mac>`, both base64url: the payload is JSON the client must not read or
change, the MAC an HMAC-SHA256 (truncated to 128 bits) over the user id and the payload, keyed
with a key derived from a configured secret and the token's purpose. A token issued for one
user or one purpose is refused for any other.
"""

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson

MAC_BYTES = 16


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: str, purpose: str) -> None:
        self._key = hmac.new(
            secret.encode(), f"taskapi token key: {purpose}".encode(), hashlib.sha256
        ).digest()

    def _mac(self, user_id: str, payload: str) -> bytes:
        message = f"{user_id}\n{payload}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:MAC_BYTES]

    def sign(self, user_id: str, claims: dict[str, Any]) -> str:
        payload = _encode(orjson.dumps(claims))
        return f"{payload}.{_encode(self._mac(user_id, payload))}"

    def verify(self, user_id: str, token: str) -> dict[str, Any] | None:
        """The claims of a token this signer issued for `user_id`; None for anything else."""
        payload, _, mac = token.partition(".")
        # Compared as text, the one spelling this signer writes: a base64 decoder drops the
        # unused bits of the last character (and skips characters outside the alphabet), so
        # comparing decoded bytes took 16 spellings of each token as genuine.
        expected = _encode(self._mac(user_id, payload))
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        try:
            claims = orjson.loads(_decode(payload))
        except (binascii.Error, ValueError):
            return None
        return claims if isinstance(claims, dict) else None
