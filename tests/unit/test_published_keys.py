"""The JWKS cache goes on refreshing whatever happens to the request that started a fetch."""

import asyncio
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from impl.auth.published_keys import KeySetPolicy, PublishedKeys

KEY_ID = "k1"
STALE_READS = 5


def key_set() -> bytes:
    public = json.loads(OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate().public_key()))
    return json.dumps({"keys": [{**public, "kid": KEY_ID, "alg": "EdDSA"}]}).encode()


class AuthServer(PublishedKeys):
    """Published keys whose download is the auth server's answer, held until released: the
    auth server is the one party here that the tests stand in for."""

    def __init__(self) -> None:
        # Keys are stale as soon as they are fetched: every read should start a refresh.
        super().__init__(KeySetPolicy("http://auth.invalid/jwks", 0, 0, 1))
        self.downloads = 0
        self.started = asyncio.Event()
        self.released = asyncio.Event()
        self.body = key_set()

    async def _download(self) -> bytes:
        self.downloads += 1
        self.started.set()
        await self.released.wait()
        return self.body


async def settle() -> None:
    """Let the callbacks of what has just finished run."""
    for _ in range(3):
        await asyncio.sleep(0)


async def reads_after_a_cancelled_first_fetch() -> int:
    keys = AuthServer()
    try:
        # given a request that starts the first fetch and is cancelled while it runs
        first = asyncio.create_task(keys.key(KEY_ID))
        await keys.started.wait()
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        # and the fetch, which went on for the others, finishing
        keys.released.set()
        await settle()
        assert await keys.key(KEY_ID) is not None

        # when later requests find the keys stale
        for _ in range(STALE_READS):
            await keys.key(KEY_ID)
            await settle()
        return keys.downloads
    finally:
        await keys.close()


def test_a_cancelled_request_does_not_stop_later_refreshes() -> None:
    downloads = asyncio.run(reads_after_a_cancelled_first_fetch())

    # then each stale read refreshed, as if the first request had not gone away
    assert downloads == 2 + STALE_READS
