"""What both modes share: read the token strictly, check its signature, then its claims."""

import logging
import time
from abc import abstractmethod

from contract_runtime.security import Principal
from impl.auth.claims import ClaimRules, subject_of
from impl.auth.compact import CompactToken, MalformedToken, parse
from impl.errors import ApiError, ErrorCode, Unauthorized

logger = logging.getLogger(__name__)


class TokenAuthenticator:
    """A bearer token becomes a Principal only if its form, signature and claims all hold.

    Any failure is a 401 (never a 500) that names its reason (impl.auth.refusals) in fixed
    words; the details go to the debug log, the token nowhere.
    """

    def __init__(self, algorithms: frozenset[str], rules: ClaimRules) -> None:
        self._algorithms = algorithms
        self._rules = rules

    async def authenticate(self, token: str | None) -> Principal:
        if token is None:
            raise Unauthorized
        try:
            compact = parse(token, self._algorithms)
            await self.verify_signature(compact)
            subject = subject_of(compact.payload, self._rules, time.time())
        except MalformedToken as refused:
            logger.debug("bearer token refused (%s): %s", refused.reason, refused)
            raise Unauthorized(refused.reason) from None
        return Principal(user_id=subject)

    @abstractmethod
    async def verify_signature(self, token: CompactToken) -> None:
        """Return if `token` is signed by a key this mode trusts; raise MalformedToken if not."""


def require_owner(principal: Principal, user_id: str) -> str:
    """The user id a request may act on: its own, and nobody else's."""
    if principal.user_id != user_id:
        raise ApiError(ErrorCode.FORBIDDEN)
    return user_id
