"""The claims of a verified token: times as JSON numbers, issuer, audience and subject."""

import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import StringConstraints, TypeAdapter, ValidationError

from generated.parameters import USER_ID_MAX_LENGTH, USER_ID_MIN_LENGTH, USER_ID_PATTERN
from impl.auth.compact import MalformedToken, json_object
from impl.auth.refusals import Refusal

# The subject is the user in every URL its token may call: it is read as the routes read the
# path's `user_id`, by the contract's rule and the same engine, so that no token is valid for a
# user id that no URL can name.
USER_ID = TypeAdapter(
    Annotated[
        str,
        StringConstraints(
            min_length=USER_ID_MIN_LENGTH, max_length=USER_ID_MAX_LENGTH, pattern=USER_ID_PATTERN
        ),
    ]
)


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """What every token must claim; issuer or audience None means "not checked"."""

    issuer: str | None
    audience: str | None
    leeway_seconds: float


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    """RFC 7519 NumericDate: a JSON number, nothing else (not a string, not a boolean)."""
    value = claims.get(name)
    if value is None and name not in claims:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedToken(f"{name} is not a number", Refusal.CLAIMS)
    return float(value)


def subject_of(payload: bytes, rules: ClaimRules, now: float) -> str:
    """The token's subject, if every claim holds at `now`."""
    claims = json_object(payload, "payload")
    expires = _numeric_date(claims, "exp")
    if expires is None:
        raise MalformedToken("exp is missing", Refusal.CLAIMS)
    if expires <= now - rules.leeway_seconds:
        raise MalformedToken("the token has expired", Refusal.EXPIRED)
    for name in ("nbf", "iat"):
        moment = _numeric_date(claims, name)
        if moment is not None and moment > now + rules.leeway_seconds:
            raise MalformedToken(f"{name} is in the future", Refusal.NOT_YET_VALID)
    if rules.issuer is not None and claims.get("iss") != rules.issuer:
        raise MalformedToken("the issuer is not the configured one", Refusal.ISSUER)
    if rules.audience is not None and not _names_audience(claims.get("aud"), rules.audience):
        raise MalformedToken("the audience is not the configured one", Refusal.AUDIENCE)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not _is_user_id(subject):
        raise MalformedToken("the subject is missing or not a user id", Refusal.CLAIMS)
    return subject


def _is_user_id(text: str) -> bool:
    try:
        USER_ID.validate_python(text)
    except ValidationError:
        return False
    return True


def _names_audience(audience: object, expected: str) -> bool:
    if isinstance(audience, str):
        return audience == expected
    return (
        isinstance(audience, list)
        and all(isinstance(entry, str) for entry in audience)
        and expected in audience
    )
