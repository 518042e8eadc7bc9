"""Stream tokens: what opens a user's event stream where `Authorization` cannot be sent."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from generated.documents import StreamToken
from impl.signing import TokenSigner

# Sealed for no user in particular: the holder is in the claims, and a token names one user.
NO_ASSOCIATED_USER = ""


class StreamTokens:
    """Issues tokens that open one user's event stream until they expire, and nothing else:
    sealed under their own purpose, so neither a cursor nor a sync token passes for one."""

    def __init__(
        self, secret: str, lifetime: timedelta, clock: Callable[[], float] = time.time
    ) -> None:
        self._signer = TokenSigner(secret, "event stream token")
        self._lifetime = lifetime
        self._clock = clock

    def issue(self, user_id: str) -> StreamToken:
        expires = int(self._clock() + self._lifetime.total_seconds())
        return {
            "stream_token": self._signer.sign(NO_ASSOCIATED_USER, {"u": user_id, "e": expires}),
            "expires_at": datetime.fromtimestamp(expires, UTC),
        }

    def holder(self, token: str) -> str | None:
        """The user whose stream `token` opens; None if it is not one issued here, or expired."""
        claims = self._signer.verify(NO_ASSOCIATED_USER, token)
        if claims is None or not isinstance(claims.get("u"), str):
            return None
        expires = claims.get("e")
        if not isinstance(expires, int) or self._clock() >= expires:
            return None
        return str(claims["u"])
