"""Every credential the contract's security schemes name, read by one authenticator."""

from contract_runtime.security import BaseAuthenticator, Principal
from impl.auth.refusals import Refusal
from impl.auth.verifier import TokenAuthenticator
from impl.errors import Unauthorized
from impl.events.tokens import StreamTokens

# The contract's name of the scheme `stream_events` accepts besides bearer tokens.
STREAM_TOKEN_SCHEME = "streamToken"  # noqa: S105 (a scheme name)


class Credentials(BaseAuthenticator):
    """Bearer tokens, as the configured mode verifies them; stream tokens, as issued here."""

    def __init__(self, bearer: TokenAuthenticator, stream_tokens: StreamTokens) -> None:
        self._bearer = bearer
        self._stream_tokens = stream_tokens

    async def authenticate(self, token: str | None) -> Principal:
        return await self._bearer.authenticate(token)

    async def authenticate_key(self, scheme: str, key: str) -> Principal:
        holder = self._stream_tokens.holder(key) if scheme == STREAM_TOKEN_SCHEME else None
        if holder is None:
            raise Unauthorized(Refusal.STREAM_TOKEN)
        return Principal(user_id=holder)
