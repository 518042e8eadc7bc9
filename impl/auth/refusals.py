"""Why a bearer token was refused: a few stable codes, each with one fixed sentence.

The code is the 401's `details.reason` and the label its metric counts; the sentence is its
`message` and the `error_description` of its WWW-Authenticate challenge (RFC 6750), so it holds
neither '"' nor '\\'. Neither ever holds anything the token carried: every value in a refused
token is the choice of whoever made it. openapi.yaml documents the codes (the `Unauthorized`
response); tests hold the two lists together.
"""

from enum import StrEnum


class Refusal(StrEnum):
    MALFORMED = "malformed"
    ALGORITHM = "algorithm"
    UNKNOWN_KEY = "unknown_key"
    SIGNATURE = "signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    ISSUER = "issuer"
    AUDIENCE = "audience"
    CLAIMS = "claims"
    STREAM_TOKEN = "stream_token"  # noqa: S105 (a reason code)

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]


DESCRIPTIONS = {
    Refusal.MALFORMED: (
        "The bearer token is malformed: not a JWT in canonical compact form, or its header"
        " carries a parameter this service refuses."
    ),
    Refusal.ALGORITHM: "The bearer token is signed with an algorithm this service does not accept.",
    Refusal.UNKNOWN_KEY: "The bearer token names no key the auth server publishes for signatures.",
    Refusal.SIGNATURE: "The bearer token's signature does not verify.",
    Refusal.EXPIRED: "The bearer token has expired.",
    Refusal.NOT_YET_VALID: "The bearer token is not valid yet: its nbf or iat is in the future.",
    Refusal.ISSUER: "The bearer token was not issued by the issuer this service trusts.",
    Refusal.AUDIENCE: "The bearer token is not meant for this service's audience.",
    Refusal.CLAIMS: (
        "The bearer token lacks a claim this service requires (exp, and a sub that is a user"
        " id), or a claim has the wrong type."
    ),
    Refusal.STREAM_TOKEN: (
        "The stream token is not one this service issued, or it has expired: ask for a new one."
    ),
}
