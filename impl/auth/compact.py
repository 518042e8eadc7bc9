"""A JWS in compact serialization, read strictly before anything trusts it (RFC 7515, RFC 8725).

Nothing here verifies a signature; it refuses what no honest issuer sends, cheaply and without
ever raising anything but `MalformedToken`: oversized tokens, anything but three canonical
unpadded base64url parts, a header that is not a flat JSON object, and header parameters that
would make a verifier fetch keys or honour extensions (`jku`, `x5u`, `jwk`, `x5c`, `crit`).
"""

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from impl.auth.refusals import Refusal

MAX_TOKEN_BYTES = 8192
PART = re.compile(r"[A-Za-z0-9_-]*")
# Header parameters that point at keys or extensions: a verifier must never follow them.
REFUSED_HEADER_PARAMETERS = ("jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit")


class MalformedToken(Exception):
    """Not a token this service could ever accept; the message is for the log, not the client.

    `reason` is what the client and the metrics are told: one of a fixed few codes.
    """

    def __init__(self, message: str, reason: Refusal = Refusal.MALFORMED) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CompactToken:
    algorithm: str
    key_id: str | None
    signing_input: bytes
    signature: bytes
    payload: bytes


def decode_part(part: str) -> bytes:
    """Canonical unpadded base64url only: no '=', no '+' or '/', no stray trailing bits."""
    if PART.fullmatch(part) is None or len(part) % 4 == 1:
        raise MalformedToken("a part is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as error:
        raise MalformedToken("a part is not base64url") from error
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != part:
        raise MalformedToken("a part is not canonical base64url")
    return raw


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:  # also too deeply nested, NaN, Infinity
        raise MalformedToken(f"the {what} is not JSON") from error
    if not isinstance(value, dict):
        raise MalformedToken(f"the {what} is not a JSON object")
    return value


def parse(token: str, algorithms: frozenset[str]) -> CompactToken:
    """The parts of `token`, whose header names one of `algorithms`."""
    if len(token) > MAX_TOKEN_BYTES or not token.isascii():
        raise MalformedToken("the token is too long or not ASCII")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("the token does not have three parts")
    header_part, payload_part, signature_part = parts
    header = json_object(decode_part(header_part), "header")
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in algorithms:
        raise MalformedToken("the algorithm is not allowed", Refusal.ALGORITHM)
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
        raise MalformedToken("the token type is not JWT")
    refused = [name for name in REFUSED_HEADER_PARAMETERS if name in header]
    if refused:
        raise MalformedToken(f"the header carries {refused[0]}")
    key_id = header.get("kid")
    if key_id is not None and not isinstance(key_id, str):
        raise MalformedToken("the key id is not a string")
    return CompactToken(
        algorithm=algorithm,
        key_id=key_id,
        signing_input=f"{header_part}.{payload_part}".encode("ascii"),
        signature=decode_part(signature_part),
        payload=decode_part(payload_part),
    )
