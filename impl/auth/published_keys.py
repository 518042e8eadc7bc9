"""Better Auth's published keys (`AUTH_MODE=jwks`): a JWKS fetched, cached and looked up by `kid`.

The key set is fetched on first use (the service starts whether or not the auth server is up),
kept for `cache_seconds`, and refetched:
- when it is older than that: by the request that finds it so; while that fetch runs, or while
  the auth server cannot be reached, the other requests keep using the keys already held;
- when a token names a key id the set does not hold (a rotation): at most once every
  `refresh_seconds`, so that a flood of made-up key ids is not a flood of fetches.
With no key set at all (the auth server has never answered), requests get 503 with Retry-After,
and a new fetch is tried at most once a second.
"""

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import (
    Algorithm,
    ECAlgorithm,
    OKPAlgorithm,
    RSAAlgorithm,
    RSAPSSAlgorithm,
)
from jwt.exceptions import InvalidKeyError

from impl.auth.claims import ClaimRules
from impl.auth.compact import CompactToken, MalformedToken
from impl.auth.refusals import Refusal
from impl.auth.verifier import TokenAuthenticator
from impl.errors import ApiError, ErrorCode

logger = logging.getLogger(__name__)

# Better Auth's jwt() plugin signs with EdDSA by default; ES256, ES512, RS256 and PS256 are its
# options.
ALGORITHMS = frozenset({"EdDSA", "ES256", "ES512", "RS256", "PS256"})
MAX_KEY_SET_BYTES = 1024 * 1024
MIN_RSA_BITS = 2048
FAILED_FETCH_BACKOFF_SECONDS = 1.0


class SigningKeysUnavailable(ApiError):
    """No key set could be fetched yet: the request cannot be judged, so it is not a 401."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.AUTH_UNAVAILABLE)


class KeySetUnreadable(Exception):
    """The auth server did not answer with a usable JWKS."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key and the one algorithm it may verify."""

    algorithm: str
    verifier: Algorithm
    key: Any

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            return bool(self.verifier.verify(message, self.key, signature))
        except (InvalidSignature, ValueError, TypeError):
            return False


def verification_key(jwk: Mapping[str, Any]) -> VerificationKey | None:
    """The key a JWK publishes for signatures, or None for one this service does not use."""
    if jwk.get("use", "sig") != "sig":
        return None
    kty, curve, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    verifier: Algorithm
    if kty == "OKP" and curve == "Ed25519" and alg in (None, "EdDSA", "Ed25519"):
        algorithm, verifier = "EdDSA", OKPAlgorithm()
    elif kty == "EC" and curve == "P-256" and alg in (None, "ES256"):
        algorithm, verifier = "ES256", ECAlgorithm(ECAlgorithm.SHA256)
    elif kty == "EC" and curve == "P-521" and alg in (None, "ES512"):
        algorithm, verifier = "ES512", ECAlgorithm(ECAlgorithm.SHA512)
    elif kty == "RSA" and alg in (None, "RS256"):
        algorithm, verifier = "RS256", RSAAlgorithm(RSAAlgorithm.SHA256)
    elif kty == "RSA" and alg == "PS256":
        algorithm, verifier = "PS256", RSAPSSAlgorithm(RSAPSSAlgorithm.SHA256)
    else:
        return None
    try:
        key = verifier.from_jwk(dict(jwk))
    except (InvalidKeyError, ValueError, TypeError, KeyError):
        return None
    # A published private key still verifies only as its public half.
    if isinstance(key, Ed25519PrivateKey | EllipticCurvePrivateKey | RSAPrivateKey):
        key = key.public_key()
    if isinstance(key, RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return None
    return VerificationKey(algorithm, verifier, key)


def read_key_set(body: bytes) -> dict[str, VerificationKey]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise KeySetUnreadable("the key set is not JSON") from error
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise KeySetUnreadable("the key set has no list of keys")
    usable: dict[str, VerificationKey] = {}
    for jwk in keys:
        if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str):
            key = verification_key(jwk)
            if key is not None:
                usable[jwk["kid"]] = key
    return usable


@dataclass(frozen=True, slots=True)
class KeySetPolicy:
    url: str
    cache_seconds: float
    refresh_seconds: float
    timeout_seconds: float


class PublishedKeys:
    """The auth server's key set, as fresh as the policy asks and no fresher."""

    def __init__(self, policy: KeySetPolicy) -> None:
        self._policy = policy
        self._client = httpx.AsyncClient(
            timeout=policy.timeout_seconds, follow_redirects=False, trust_env=False
        )
        self._keys: dict[str, VerificationKey] | None = None
        self._fetched_at = 0.0
        self._attempted_at = float("-inf")
        self._last_attempt_failed = False
        self._fetch: asyncio.Future[None] | None = None

    async def key(self, key_id: str) -> VerificationKey | None:
        keys = await self._current()
        found = keys.get(key_id)
        if found is None and time.monotonic() - self._attempted_at >= self._policy.refresh_seconds:
            await self._refresh()
            found = (self._keys or {}).get(key_id)
        return found

    async def _current(self) -> dict[str, VerificationKey]:
        now = time.monotonic()
        if self._keys is not None and now - self._fetched_at < self._policy.cache_seconds:
            return self._keys
        retry_allowed = (
            not self._last_attempt_failed
            or now - self._attempted_at >= FAILED_FETCH_BACKOFF_SECONDS
        )
        if self._keys is not None and (self._fetch is not None or not retry_allowed):
            return self._keys  # stale, while a fetch runs or the auth server cannot be reached
        if retry_allowed:
            await self._refresh()
        if self._keys is None:
            raise SigningKeysUnavailable
        return self._keys

    async def _refresh(self) -> None:
        """One fetch at a time; every caller waits for the same one."""
        if self._fetch is None:
            self._fetch = asyncio.ensure_future(self._fetch_and_keep())
            # Forgotten when it ends, whoever still waits for it: had the callers cleared it, a
            # fetch whose callers were all cancelled would stay "running" for good, and every
            # later request would keep the stale keys (a revoked key among them).
            self._fetch.add_done_callback(self._fetch_ended)
        # Shielded: a caller that goes away must not cancel the fetch the others wait for.
        await asyncio.shield(self._fetch)

    def _fetch_ended(self, fetch: "asyncio.Future[None]") -> None:
        if self._fetch is fetch:
            self._fetch = None

    async def _fetch_and_keep(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            keys = read_key_set(await self._download())
        except (httpx.HTTPError, KeySetUnreadable) as error:
            self._last_attempt_failed = True
            logger.warning("signing keys not fetched from %s: %s", self._policy.url, error)
            return
        self._keys = keys
        self._fetched_at = time.monotonic()
        self._last_attempt_failed = False

    async def _download(self) -> bytes:
        async with self._client.stream("GET", self._policy.url) as response:
            if response.status_code != 200:
                raise KeySetUnreadable(f"the auth server answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_KEY_SET_BYTES:
                    raise KeySetUnreadable("the key set is too large")
        return bytes(body)

    async def close(self) -> None:
        await self._client.aclose()


class PublishedKeyAuthenticator(TokenAuthenticator):
    """Accepts tokens signed by a key of the published set, with that key's own algorithm."""

    def __init__(self, keys: PublishedKeys, rules: ClaimRules) -> None:
        super().__init__(ALGORITHMS, rules)
        self._keys = keys

    async def verify_signature(self, token: CompactToken) -> None:
        if token.key_id is None:
            raise MalformedToken("the token names no key id", Refusal.UNKNOWN_KEY)
        key = await self._keys.key(token.key_id)
        if key is None:
            raise MalformedToken("the key id is not in the published set", Refusal.UNKNOWN_KEY)
        if key.algorithm != token.algorithm:
            raise MalformedToken("the algorithm is not the key's", Refusal.ALGORITHM)
        if not key.verifies(token.signing_input, token.signature):
            raise MalformedToken("the signature does not match", Refusal.SIGNATURE)
