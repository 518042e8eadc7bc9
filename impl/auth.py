"""Bearer-token verification: HS256 JWTs signed by Better Auth with the shared secret."""

from jose import JWTError, jwt

from generated.security import BaseAuthenticator, Principal
from impl.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"
# Audience and issuer are not configured for the shared-secret scheme; `sub` and `exp` must exist.
DECODE_OPTIONS = {"require_exp": True, "require_sub": True, "verify_aud": False}


class JwtAuthenticator(BaseAuthenticator):
    """Accepts only unexpired HS256 tokens signed with the secret and naming a subject."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def authenticate(self, token: str | None) -> Principal:
        if token is None:
            raise Unauthorized("A bearer token is required.", invalid_token=False)
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options=DECODE_OPTIONS)
        except JWTError as error:
            raise Unauthorized(
                "The bearer token is invalid or expired.", invalid_token=True
            ) from error
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("The bearer token names no subject.", invalid_token=True)
        return Principal(user_id=subject)


def require_owner(principal: Principal, user_id: str) -> str:
    """The user id a request may act on: its own, and nobody else's."""
    if principal.user_id != user_id:
        raise Forbidden("You may only access your own tasks.")
    return user_id
