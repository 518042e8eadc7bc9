"""HS256: tokens signed with the secret shared with Better Auth (`AUTH_MODE=hs256`)."""

import hashlib
import hmac

from impl.auth.claims import ClaimRules
from impl.auth.compact import CompactToken, MalformedToken
from impl.auth.refusals import Refusal
from impl.auth.verifier import TokenAuthenticator

ALGORITHM = "HS256"


class SharedSecretAuthenticator(TokenAuthenticator):
    """Accepts HS256 only: a token naming any other algorithm is refused before its signature."""

    def __init__(self, secret: str, rules: ClaimRules) -> None:
        super().__init__(frozenset({ALGORITHM}), rules)
        self._secret = secret.encode()

    async def verify_signature(self, token: CompactToken) -> None:
        expected = hmac.new(self._secret, token.signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, token.signature):
            raise MalformedToken("the signature does not match", Refusal.SIGNATURE)
