"""Opaque tokens handed to clients (paging cursors, sync tokens): encrypted, and bound to a user.

A token is the claims as JSON, padded with spaces to a multiple of 48 bytes, sealed with AES-SIV
(RFC 5297) under a key derived from a configured secret and the token's purpose, with the user
id as associated data; then written as unpadded base64url. Its holder can neither read nor
change it: the claims hold the database's snapshot and global ids, which would tell one user how
busy the others are. A token issued for one user or one purpose is refused for any other.

SIV is deterministic: the same claims for the same user give the same token, which says no more
than the claims' equality (a sync token's claims carry the time it was taken, so two are never
equal), and the same key can seal any number of tokens with no nonce to repeat. Padding leaves a
token's length only a coarse hint of how long its claims are.
"""

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

PADDED_TO_BYTES = 48
LEGACY_MAC_BYTES = 16


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _claims(document: bytes) -> dict[str, Any] | None:
    try:
        claims = orjson.loads(document)
    except orjson.JSONDecodeError:
        return None
    return claims if isinstance(claims, dict) else None


class TokenSigner:
    def __init__(self, secret: str, purpose: str) -> None:
        key = hmac.new(
            secret.encode(), f"taskapi token encryption key: {purpose}".encode(), hashlib.sha512
        ).digest()
        self._cipher = AESSIV(key)
        self._legacy_key = hmac.new(
            secret.encode(), f"taskapi token key: {purpose}".encode(), hashlib.sha256
        ).digest()

    def sign(self, user_id: str, claims: dict[str, Any]) -> str:
        document = orjson.dumps(claims)
        # JSON may end in any amount of whitespace.
        padded = document.ljust(-(-len(document) // PADDED_TO_BYTES) * PADDED_TO_BYTES)
        return _encode(self._cipher.encrypt(padded, [user_id.encode()]))

    def verify(self, user_id: str, token: str) -> dict[str, Any] | None:
        """The claims of a token this signer issued for `user_id`; None for anything else."""
        if "." in token:
            return self._verify_legacy(user_id, token)
        try:
            sealed = _decode(token)
        except (binascii.Error, ValueError):
            return None
        # The one spelling this signer writes: a base64 decoder drops the unused bits of the last
        # character (and skips characters outside the alphabet), so 16 texts decode to one token.
        if _encode(sealed) != token:
            return None
        try:
            document = self._cipher.decrypt(sealed, [user_id.encode()])
        except (InvalidTag, ValueError):
            return None
        return _claims(document)

    def _verify_legacy(self, user_id: str, token: str) -> dict[str, Any] | None:
        """A token issued before tokens were encrypted: readable JSON, then an HMAC of it and
        the user id.

        Still accepted so that the upgrade does not break the sync tokens clients hold (none is
        issued any more); drop this once the sync retention period (30 days by default) has
        passed since the release that encrypts them was deployed (docs/adr/0012).
        """
        payload, _, mac = token.partition(".")
        message = f"{user_id}\n{payload}".encode()
        expected = _encode(
            hmac.new(self._legacy_key, message, hashlib.sha256).digest()[:LEGACY_MAC_BYTES]
        )
        # Compared as text, for the reason `verify` re-encodes.
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        try:
            return _claims(_decode(payload))
        except (binascii.Error, ValueError):
            return None
