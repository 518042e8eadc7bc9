"""The JWT attacks of RFC 8725 (and their cousins), each one a row, in both authentication modes.

Given a service in hs256 mode (the shared secret) and one in jwks mode (keys fetched from a local
key set), both requiring an issuer and an audience, when GET /api/<user>/tasks carries a crafted
token, then the answer is 401 with `WWW-Authenticate: Bearer error="invalid_token"` and the
contract's Error body, both naming the documented reason of the row and echoing nothing the
token carried: never 500, never a stack trace in the log, never a fetch of a URL the token names.
tests/integration/test_authentication.py holds the plain hs256 matrix (every operation); this
file holds the attacks.
"""

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LOG_DIR, service_settings
from tests.support.contract import Contract
from tests.support.jwks import (
    JwksServer,
    SigningKey,
    b64url,
    claims,
    craft,
    ed25519_key,
    es256_key,
    es512_key,
    hs256_key,
    json_bytes,
    jwks_server,
    raw_json,
    rsa_key,
    without,
)
from tests.support.postgres import PostgresServer
from tests.support.refusals import assert_refused
from tests.support.server import running_service
from tests.support.tokens import SECRET

ISSUER = "https://auth.taskapi.test"
AUDIENCE = "taskapi"
LEEWAY_SECONDS = 30
MAX_TOKEN_BYTES = 8192
CURSOR_SECRET = "cursor-secret-" + "c" * 40
# A rejection is cheap: nothing it does (parsing, a key-set refetch) may take long.
REJECTION_SECONDS = 2.0

# The key set of the jwks service: one key per algorithm the mode accepts.
ED25519 = ed25519_key("service-ed25519")
ES256 = es256_key("service-es256")
ES512 = es512_key("service-es512")
RS256 = rsa_key("service-rs256", alg="RS256")
PS256 = rsa_key("service-ps256", alg="PS256")
SERVICE_KEYS = (ED25519, ES256, ES512, RS256, PS256)
SHARED_SECRET = hs256_key(SECRET)
# Keys the attacker holds: the service has never seen them.
ATTACKER = ed25519_key("attacker-ed25519")
ATTACKER_ES256 = es256_key("attacker-es256")


@dataclass(frozen=True)
class Mode:
    """A running service and the key its real issuer signs with."""

    name: str
    base_url: str
    key: SigningKey
    log_path: Path
    attacker: JwksServer  # a key set the attacker controls; nothing may ever fetch from it

    def claims(self, subject: str, **overrides: Any) -> dict[str, Any]:
        return {**claims(subject, issuer=ISSUER, audience=AUDIENCE), **overrides}

    def header(self, **fields: Any) -> dict[str, Any]:
        return self.key.header(**fields)

    def token(self, subject: str, **overrides: Any) -> str:
        """A valid token for `subject`, with claims changed by `overrides`."""
        return self.key.sign(self.claims(subject, **overrides))

    def sign(
        self, payload: dict[str, Any] | bytes, header: dict[str, Any] | bytes | None = None
    ) -> str:
        return self.key.sign(payload, header)


Attack = Callable[[Mode, str], str]


# ---------------------------------------------------------------------------------------------
# Fixtures: two services (one per mode), the service's key set and the attacker's.


@pytest.fixture(scope="module")
def attacker() -> Iterator[JwksServer]:
    with jwks_server([ATTACKER.public_jwk(), ATTACKER_ES256.public_jwk()]) as server:
        yield server


@pytest.fixture(scope="module")
def key_set() -> Iterator[JwksServer]:
    with jwks_server([key.public_jwk() for key in SERVICE_KEYS]) as server:
        yield server


def _settings(database_url: str, **overrides: str) -> dict[str, str]:
    return service_settings(
        database_url,
        JWT_ISSUER=ISSUER,
        JWT_AUDIENCE=AUDIENCE,
        JWT_LEEWAY_SECONDS=str(LEEWAY_SECONDS),
        PYTHONUNBUFFERED="1",  # so a stack trace reaches the log before the test reads it
        **overrides,
    )


@pytest.fixture(scope="module")
def hs256(postgres: PostgresServer, attacker: JwksServer) -> Iterator[Mode]:
    log_path = LOG_DIR / "service-token-attacks-hs256.log"
    with (
        postgres.fresh_database() as database_url,
        running_service(_settings(database_url, AUTH_MODE="hs256"), log_path) as base_url,
    ):
        yield Mode("hs256", base_url, SHARED_SECRET, log_path, attacker)


@pytest.fixture(scope="module")
def jwks(postgres: PostgresServer, key_set: JwksServer, attacker: JwksServer) -> Iterator[Mode]:
    """jwks mode; BETTER_AUTH_SECRET stays set (it is optional here), so HS256 is tempting."""
    log_path = LOG_DIR / "service-token-attacks-jwks.log"
    with postgres.fresh_database() as database_url:
        settings = _settings(
            database_url, AUTH_MODE="jwks", JWKS_URL=key_set.jwks_url, CURSOR_SECRET=CURSOR_SECRET
        )
        with running_service(settings, log_path) as base_url:
            yield Mode("jwks", base_url, ED25519, log_path, attacker)


@pytest.fixture(scope="module", params=["hs256", "jwks"])
def mode(request: pytest.FixtureRequest) -> Mode:
    service: Mode = request.getfixturevalue(request.param)
    return service


@pytest.fixture
def user() -> str:
    return f"alice_{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------------------------
# The request and what every rejection looks like


def get_tasks(mode: Mode, user_id: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{mode.base_url}/api/{user_id}/tasks",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


# Why a token is refused: one reason, or one per mode where the modes read it differently (the
# attacker's EdDSA key is an algorithm hs256 mode does not take; a cut Ed25519 signature is still
# well-formed base64url, which a cut HMAC is not).
Reason = str | dict[str, str]
ATTACKERS_EDDSA_KEY: Reason = {"hs256": "algorithm", "jwks": "malformed"}


def assert_rejected(
    mode: Mode, contract: Contract, user_id: str, token: str, reason: Reason
) -> None:
    log_size = mode.log_path.stat().st_size
    attacker_requests = mode.attacker.requests

    started = time.monotonic()
    response = get_tasks(mode, user_id, token)
    elapsed = time.monotonic() - started

    assert_refused(response, reason if isinstance(reason, str) else reason[mode.name])
    contract.assert_conforms(response)
    assert elapsed < REJECTION_SECONDS, f"the rejection took {elapsed:.2f}s"
    with mode.log_path.open("rb") as log:
        log.seek(log_size)
        assert b"Traceback" not in log.read(), f"a stack trace was logged: see {mode.log_path}"
    assert mode.attacker.requests == attacker_requests, "the service fetched a URL the token named"


def assert_accepted(mode: Mode, contract: Contract, user_id: str, token: str) -> None:
    response = get_tasks(mode, user_id, token)

    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    contract.assert_conforms(response)


# ---------------------------------------------------------------------------------------------
# Crafting helpers


def _parts(token: str) -> list[str]:
    return token.split(".")


def _until(mode: Mode, user_id: str, wanted: Callable[[str], bool]) -> str:
    """A valid token for which `wanted` holds, varying a `jti` claim until it does."""
    for attempt in range(1000):
        # "~~~" (0x7E7E7E) encodes as "fn5-": six of them put a '-' in the payload's text.
        token = mode.token(user_id, jti=f"{attempt}~~~~~~")
        if wanted(token):
            return token
    raise AssertionError("no such token")


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def padded_signature(mode: Mode, user_id: str) -> str:
    header, payload, signature = _parts(mode.token(user_id))
    return f"{header}.{payload}.{signature}{'=' * (-len(signature) % 4)}"


def padded_payload(mode: Mode, user_id: str) -> str:
    """Padding in the payload, signed over as sent: only the encoding rule can reject it."""
    header, payload, _ = _parts(_until(mode, user_id, lambda t: len(_parts(t)[1]) % 4 != 0))
    return mode.key.sign_parts(header, payload + "=" * (-len(payload) % 4))


def standard_alphabet_payload(mode: Mode, user_id: str) -> str:
    """'+' and '/' for '-' and '_' in the payload, signed over as sent."""
    header, payload, _ = _parts(
        _until(mode, user_id, lambda t: any(c in _parts(t)[1] for c in "-_"))
    )
    return mode.key.sign_parts(header, payload.replace("-", "+").replace("_", "/"))


def standard_alphabet_signature(mode: Mode, user_id: str) -> str:
    token = _until(mode, user_id, lambda t: any(c in _parts(t)[2] for c in "-_"))
    header, payload, signature = _parts(token)
    return f"{header}.{payload}.{signature.replace('-', '+').replace('_', '/')}"


def non_canonical_signature(mode: Mode, user_id: str) -> str:
    """The signature's last character with its unused low bits set: same bytes, other text."""
    header, payload, signature = _parts(mode.token(user_id))
    last = BASE64URL.index(signature[-1])
    assert last & 1 == 0, "a canonical encoding leaves the unused bits zero"
    return f"{header}.{payload}.{signature[:-1]}{BASE64URL[last | 1]}"


def invalid_character_in_payload(mode: Mode, user_id: str) -> str:
    """A '!' in the payload (lenient decoders skip it), signed over as sent."""
    header, payload, _ = _parts(mode.token(user_id))
    middle = len(payload) // 2
    return mode.key.sign_parts(header, f"{payload[:middle]}!{payload[middle:]}")


def sized_token(
    mode: Mode, user_id: str, *, at_most: int | None = None, over: int | None = None
) -> str:
    """A valid token padded (by a claim) to the longest <= at_most, or the shortest > over."""

    def token_of(padding: int) -> str:
        return mode.token(user_id, padding="x" * padding)

    limit = at_most if at_most is not None else over
    assert limit is not None
    low, high = 0, limit  # len(token_of(low)) <= limit < len(token_of(high))
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if len(token_of(middle)) <= limit else (low, middle)
    token = token_of(low) if at_most is not None else token_of(high)
    assert abs(len(token) - limit) <= 2, "the padding claim reaches every length but a few"
    return token


def with_signature_of_another_token(mode: Mode, user_id: str) -> str:
    header, payload, _ = _parts(mode.token(user_id))
    signature = _parts(mode.token(f"mallory_{user_id}"))[2]
    return f"{header}.{payload}.{signature}"


def zero_signature(mode: Mode) -> bytes:
    return bytes(len(mode.key.signature(b"x")))


def header_with_nested_member(mode: Mode, depth: int) -> bytes:
    return json_bytes(mode.header())[:-1] + b',"x":' + b"[" * depth + b"]" * depth + b"}"


def certificate_chain(key: SigningKey) -> list[str]:
    """`x5c`: standard base64 DER certificates, with padding (RFC 7515, section 4.1.6)."""
    return [base64.b64encode(key.self_signed_certificate()).decode()]


def alg_none(mode: Mode, spelling: str = "none") -> dict[str, Any]:
    return mode.header(alg=spelling)


# ---------------------------------------------------------------------------------------------
# Structure and encoding: a token that is not a compact JWS in canonical base64url


MALFORMED: list[Any] = [
    pytest.param(
        lambda m, u: m.token(u)[:-10],
        {"hs256": "malformed", "jwks": "signature"},
        id="truncated_signature",
    ),
    pytest.param(
        lambda m, u: m.token(u).rsplit(".", 1)[0] + ".", "signature", id="signature_removed"
    ),
    pytest.param(lambda m, u: m.token(u).rsplit(".", 1)[0], "malformed", id="two_parts"),
    pytest.param(lambda m, u: m.token(u) + "." + b64url(b"{}"), "malformed", id="four_parts"),
    pytest.param(
        lambda m, u: ".".join([b64url(b"{}")] * 5), "malformed", id="five_parts_like_a_jwe"
    ),
    pytest.param(lambda m, u: "..", "malformed", id="three_empty_parts"),
    pytest.param(
        lambda m, u: "@@@@" + m.token(u)[4:], "malformed", id="garbled_base64_in_the_header"
    ),
    pytest.param(invalid_character_in_payload, "malformed", id="invalid_character_in_the_payload"),
    pytest.param(padded_signature, "malformed", id="padded_signature"),
    pytest.param(padded_payload, "malformed", id="padded_payload"),
    pytest.param(
        standard_alphabet_payload, "malformed", id="standard_base64_alphabet_in_the_payload"
    ),
    pytest.param(
        standard_alphabet_signature, "malformed", id="standard_base64_alphabet_in_the_signature"
    ),
    pytest.param(non_canonical_signature, "malformed", id="non_canonical_base64_in_the_signature"),
    pytest.param(with_signature_of_another_token, "signature", id="signature_of_another_token"),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=b"[]"), "malformed", id="header_a_json_array"
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=b'"JWT"'), "malformed", id="header_a_json_string"
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=b"null"), "malformed", id="header_json_null"
    ),
    pytest.param(lambda m, u: m.sign(m.claims(u), header=b""), "malformed", id="header_empty"),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=b'{"alg"'), "malformed", id="header_not_json"
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=json_bytes(m.header()) + b" x"),
        "malformed",
        id="header_with_trailing_garbage",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=b'{"alg":"\xff\xfe"}'),
        "malformed",
        id="header_not_utf8",
    ),
    pytest.param(lambda m, u: m.sign(b"[]"), "malformed", id="payload_a_json_array"),
    pytest.param(
        lambda m, u: m.sign(b'"' + u.encode() + b'"'), "malformed", id="payload_a_json_string"
    ),
    pytest.param(lambda m, u: m.sign(b"not json"), "malformed", id="payload_not_json"),
    pytest.param(
        lambda m, u: m.sign(json_bytes(m.claims(u)) + b" x"),
        "malformed",
        id="payload_with_trailing_garbage",
    ),
    pytest.param(
        lambda m, u: m.sign(json_bytes(m.claims(u)).replace(b'"sub"', b'"sub\xff"')),
        "malformed",
        id="payload_not_utf8",
    ),
    # Deep nesting: a recursive parser overflows; a parse failure is a 401, never a 500.
    pytest.param(
        lambda m, u: craft(b"[" * 2500 + b"]" * 2500, m.claims(u), zero_signature(m)),
        "malformed",
        id="header_arrays_nested_2500_deep",
    ),
    pytest.param(
        lambda m, u: craft(b'{"":' * 1000 + b"1" + b"}" * 1000, m.claims(u), zero_signature(m)),
        "algorithm",
        id="header_objects_nested_1000_deep",
    ),
    pytest.param(
        lambda m, u: craft(header_with_nested_member(m, 1000), m.claims(u), zero_signature(m)),
        "signature",
        id="header_member_nested_1000_deep",
    ),
    pytest.param(
        lambda m, u: m.sign(b"[" * 2500 + b"]" * 2500),
        "malformed",
        id="payload_arrays_nested_2500_deep",
    ),
    pytest.param(
        lambda m, u: m.sign(b'{"":' * 1000 + b"1" + b"}" * 1000),
        "claims",
        id="payload_objects_nested_1000_deep",
    ),
    pytest.param(
        lambda m, u: sized_token(m, u, over=MAX_TOKEN_BYTES),
        "malformed",
        id="token_just_over_8_KiB",
    ),
    pytest.param(lambda m, u: m.token(u, padding="x" * 9000), "malformed", id="token_of_12_KiB"),
]


@pytest.mark.parametrize(("attack", "reason"), MALFORMED)
def test_malformed_token_is_rejected(
    mode: Mode, contract: Contract, user: str, attack: Attack, reason: Reason
) -> None:
    assert_rejected(mode, contract, user, attack(mode, user), reason)


# ---------------------------------------------------------------------------------------------
# The JOSE header: the algorithm, critical extensions, keys named by the token, the type


HEADERS: list[Any] = [
    pytest.param(
        lambda m, u: craft(alg_none(m), m.claims(u), b""), "algorithm", id="alg_none_unsigned"
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=alg_none(m)),
        "algorithm",
        id="alg_none_with_a_signature",
    ),
    pytest.param(
        lambda m, u: craft(alg_none(m, "NONE"), m.claims(u), b""),
        "algorithm",
        id="alg_NONE_unsigned",
    ),
    pytest.param(
        lambda m, u: craft(alg_none(m, "None"), m.claims(u), b""),
        "algorithm",
        id="alg_None_unsigned",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=without(m.header(), "alg")),
        "algorithm",
        id="alg_missing",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(alg="")), "algorithm", id="alg_empty"
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(alg=[m.key.alg])),
        "algorithm",
        id="alg_a_list",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(alg=m.key.alg.lower())),
        "algorithm",
        id="alg_in_lower_case",
    ),
    pytest.param(
        lambda m, u: m.sign(
            m.claims(u), header=m.header(crit=["urn:taskapi:unknown"], **{"urn:taskapi:unknown": 1})
        ),
        "malformed",
        id="crit_naming_an_unknown_extension",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(crit=["b64"], b64=False)),
        "malformed",
        id="crit_b64_unencoded_payload",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(crit=[])), "malformed", id="crit_empty"
    ),
    # Keys the token names are never fetched nor used: not even beside a valid signature.
    pytest.param(
        lambda m, u: ATTACKER.sign(m.claims(u), header=ATTACKER.header(jku=m.attacker.jwks_url)),
        ATTACKERS_EDDSA_KEY,
        id="jku_to_the_attackers_key_set",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(jku=m.attacker.jwks_url)),
        "malformed",
        id="jku_beside_a_valid_signature",
    ),
    pytest.param(
        lambda m, u: ATTACKER.sign(
            m.claims(u), header=ATTACKER.header(kid=None, x5u=f"{m.attacker.base_url}/cert.pem")
        ),
        ATTACKERS_EDDSA_KEY,
        id="x5u_to_the_attackers_certificate",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(x5u=f"{m.attacker.base_url}/cert.pem")),
        "malformed",
        id="x5u_beside_a_valid_signature",
    ),
    pytest.param(
        lambda m, u: ATTACKER.sign(
            m.claims(u), header=ATTACKER.header(kid=None, jwk=ATTACKER.public_jwk())
        ),
        ATTACKERS_EDDSA_KEY,
        id="jwk_embedding_the_attackers_key",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(jwk=ATTACKER.public_jwk())),
        "malformed",
        id="jwk_beside_a_valid_signature",
    ),
    pytest.param(
        lambda m, u: ATTACKER.sign(
            m.claims(u),
            header=ATTACKER.header(kid=None, x5c=certificate_chain(ATTACKER)),
        ),
        ATTACKERS_EDDSA_KEY,
        id="x5c_with_the_attackers_certificate",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(x5c=certificate_chain(ATTACKER))),
        "malformed",
        id="x5c_beside_a_valid_signature",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(typ="JOSE+JSON")),
        "malformed",
        id="typ_JOSE+JSON",
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(typ="xyz")), "malformed", id="typ_xyz"
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(typ="")), "malformed", id="typ_empty"
    ),
    pytest.param(
        lambda m, u: m.sign(m.claims(u), header=m.header(typ=1)), "malformed", id="typ_a_number"
    ),
]


@pytest.mark.parametrize(("attack", "reason"), HEADERS)
def test_dangerous_header_is_rejected(
    mode: Mode, contract: Contract, user: str, attack: Attack, reason: Reason
) -> None:
    assert_rejected(mode, contract, user, attack(mode, user), reason)


# ---------------------------------------------------------------------------------------------
# Time claims: exp, nbf and iat are finite JSON numbers, checked with the leeway


def _time_claim_rows() -> list[Any]:
    # Each value would pass a naive comparison (a far-future exp, a far-past nbf or iat), so only
    # the type rule can reject it.
    exp_values = {
        "null": "null",
        "1e999": "1e999",
        "Infinity": "Infinity",
        "NaN": "NaN",
        "a_list": "[9999999999]",
        "an_object": '{"at":9999999999}',
        "the_string_9999999999": '"9999999999"',
    }
    past_values = {
        "null": "null",
        "-1e999": "-1e999",
        "-Infinity": "-Infinity",
        "NaN": "NaN",
        "a_list": "[0]",
        "an_object": '{"at":0}',
        "the_string_0": '"0"',
        "true": "true",
        "false": "false",
    }
    rows = [pytest.param("exp", text, id=f"exp_{name}") for name, text in exp_values.items()]
    rows += [
        pytest.param(claim, text, id=f"{claim}_{name}")
        for claim in ("nbf", "iat")
        for name, text in past_values.items()
    ]
    return rows


@pytest.mark.parametrize(("claim", "json_text"), _time_claim_rows())
def test_time_claim_that_is_not_a_finite_number_is_rejected(
    mode: Mode, contract: Contract, user: str, claim: str, json_text: str
) -> None:
    token = mode.sign(raw_json(mode.claims(user), **{claim: json_text}))

    # RFC 8259 has no NaN, Infinity nor a number past a double's range: such a payload is not
    # JSON at all; the other values are JSON, but not a number.
    not_json = json_text.lstrip("-") in ("1e999", "Infinity", "NaN")
    assert_rejected(mode, contract, user, token, "malformed" if not_json else "claims")


def _now() -> int:
    return int(time.time())


TIMES: list[Any] = [
    pytest.param(lambda m, u: m.sign(without(m.claims(u), "exp")), "claims", id="exp_missing"),
    pytest.param(
        lambda m, u: m.token(u, iat=_now() - 600, exp=_now() - 3 * LEEWAY_SECONDS),
        "expired",
        id="expired_beyond_the_leeway",
    ),
    pytest.param(
        lambda m, u: m.token(u, nbf=_now() + 600), "not_yet_valid", id="nbf_in_the_future"
    ),
    pytest.param(
        lambda m, u: m.token(u, iat=_now() + 3600), "not_yet_valid", id="iat_far_in_the_future"
    ),
]


@pytest.mark.parametrize(("attack", "reason"), TIMES)
def test_token_outside_its_lifetime_is_rejected(
    mode: Mode, contract: Contract, user: str, attack: Attack, reason: Reason
) -> None:
    assert_rejected(mode, contract, user, attack(mode, user), reason)


# ---------------------------------------------------------------------------------------------
# Issuer and audience (both configured in both services)


ISSUERS_AND_AUDIENCES: list[Any] = [
    pytest.param(lambda m, u: m.token(u, iss="https://evil.example"), "issuer", id="wrong_iss"),
    pytest.param(lambda m, u: m.token(u, iss=AUDIENCE), "issuer", id="iss_is_the_audience"),
    pytest.param(
        lambda m, u: m.token(u, iss=ISSUER + "/"), "issuer", id="iss_with_a_trailing_slash"
    ),
    pytest.param(
        lambda m, u: m.token(u, iss=ISSUER + ".evil"), "issuer", id="iss_extending_the_issuer"
    ),
    pytest.param(lambda m, u: m.token(u, iss=[ISSUER]), "issuer", id="iss_a_list"),
    pytest.param(lambda m, u: m.sign(without(m.claims(u), "iss")), "issuer", id="iss_missing"),
    pytest.param(lambda m, u: m.token(u, aud="another-api"), "audience", id="wrong_aud"),
    pytest.param(lambda m, u: m.token(u, aud=ISSUER), "audience", id="aud_is_the_issuer"),
    pytest.param(
        lambda m, u: m.token(u, aud=AUDIENCE + "-evil"), "audience", id="aud_extending_the_audience"
    ),
    pytest.param(
        lambda m, u: m.token(u, aud=["another-api"]), "audience", id="aud_list_without_the_audience"
    ),
    pytest.param(lambda m, u: m.token(u, aud=[]), "audience", id="aud_empty_list"),
    pytest.param(lambda m, u: m.token(u, aud=1), "audience", id="aud_a_number"),
    pytest.param(lambda m, u: m.sign(without(m.claims(u), "aud")), "audience", id="aud_missing"),
]


@pytest.mark.parametrize(("attack", "reason"), ISSUERS_AND_AUDIENCES)
def test_token_for_another_issuer_or_audience_is_rejected(
    mode: Mode, contract: Contract, user: str, attack: Attack, reason: Reason
) -> None:
    assert_rejected(mode, contract, user, attack(mode, user), reason)


# ---------------------------------------------------------------------------------------------
# The subject: a user id as the contract's `user_id` path parameter defines it


SUBJECTS: list[Any] = [
    pytest.param(lambda m, u: m.sign(without(m.claims(u), "sub")), "claims", id="sub_missing"),
    pytest.param(lambda m, u: m.token(u, sub=""), "claims", id="sub_empty"),
    pytest.param(lambda m, u: m.token(u, sub=None), "claims", id="sub_null"),
    pytest.param(lambda m, u: m.token(u, sub=12345), "claims", id="sub_a_number"),
    pytest.param(lambda m, u: m.token(u, sub=[u]), "claims", id="sub_a_list"),
    pytest.param(lambda m, u: m.token(u, sub={"id": u}), "claims", id="sub_an_object"),
    pytest.param(lambda m, u: m.token(u, sub="a/b"), "claims", id="sub_with_a_slash"),
    pytest.param(
        lambda m, u: m.token(u, sub=f"{u}/../{u}"), "claims", id="sub_with_a_path_traversal"
    ),
    pytest.param(lambda m, u: m.token(u, sub="a" * 129), "claims", id="sub_of_129_characters"),
    pytest.param(lambda m, u: m.token(u, sub=f"{u}\n"), "claims", id="sub_with_a_trailing_newline"),
    pytest.param(lambda m, u: m.token(u, sub=f"{u} "), "claims", id="sub_with_a_trailing_space"),
    pytest.param(
        lambda m, u: m.token(u, sub=f"{u}\u00e9"), "claims", id="sub_with_a_non_ascii_letter"
    ),
    pytest.param(lambda m, u: m.token(u, sub=f"{u}\x00"), "claims", id="sub_with_a_nul"),
]


@pytest.mark.parametrize(("attack", "reason"), SUBJECTS)
def test_subject_that_is_not_a_user_id_is_rejected(
    mode: Mode, contract: Contract, user: str, attack: Attack, reason: Reason
) -> None:
    assert_rejected(mode, contract, user, attack(mode, user), reason)


# ---------------------------------------------------------------------------------------------
# A refusal says why in fixed words: nothing the token carried comes back, neither the token nor
# a value its author chose (script for a page that shows the message, or a header injection)


Plant = Callable[[Mode, str, str], str]
PLANTED: list[Any] = [
    pytest.param(lambda m, u, x: m.token(u, iss=f"https://{x}.example"), id="in_the_issuer"),
    pytest.param(lambda m, u, x: m.token(u, aud=x), id="in_the_audience"),
    pytest.param(lambda m, u, x: m.token(u, sub=f'{u}"<{x}>'), id="in_the_subject"),
    pytest.param(lambda m, u, x: m.token(u, exp=x), id="in_a_time_claim"),
    pytest.param(lambda m, u, x: m.sign(m.claims(u), header=m.header(alg=x)), id="as_the_alg"),
    pytest.param(lambda m, u, x: m.sign(m.claims(u), header=m.header(typ=x)), id="as_the_typ"),
    pytest.param(lambda m, u, x: ATTACKER.sign(m.claims(u), ATTACKER.header(kid=x)), id="as_kid"),
]


@pytest.mark.parametrize("plant", PLANTED)
def test_a_refusal_echoes_nothing_the_token_carried(
    mode: Mode, contract: Contract, user: str, plant: Plant
) -> None:
    # given a refused token carrying a value of the attacker's choosing
    marker = f"planted{uuid.uuid4().hex}"
    token = plant(mode, user, marker)

    # when it is sent
    response = get_tasks(mode, user, token)

    # then neither that value nor any part of the token is in the answer
    assert response.status_code == 401, response.text
    contract.assert_conforms(response)
    answer = response.text + "".join(
        f"{name}: {value}\n" for name, value in response.headers.items()
    )
    assert marker not in answer
    assert not [part for part in token.split(".") if len(part) >= 8 and part in answer]


# ---------------------------------------------------------------------------------------------
# Mode-specific: the other mode's algorithms, and key confusion in jwks mode


def _as(key: SigningKey, alg: str, kid: str | None = None) -> SigningKey:
    """`key`'s private half used with another algorithm and/or under another kid."""
    return SigningKey(alg, key.private, kid)


ASYMMETRIC_IN_HS256: list[Any] = [
    pytest.param(lambda m, u: ATTACKER.sign(m.claims(u)), "algorithm", id="eddsa"),
    pytest.param(lambda m, u: ATTACKER_ES256.sign(m.claims(u)), "algorithm", id="es256"),
    pytest.param(lambda m, u: RS256.sign(m.claims(u)), "algorithm", id="rs256"),
    pytest.param(lambda m, u: PS256.sign(m.claims(u)), "algorithm", id="ps256"),
    pytest.param(
        lambda m, u: _as(SHARED_SECRET, "HS384").sign(m.claims(u)),
        "algorithm",
        id="hs384_shared_secret",
    ),
]


@pytest.mark.parametrize(("attack", "reason"), ASYMMETRIC_IN_HS256)
def test_hs256_mode_accepts_no_other_algorithm(
    hs256: Mode, contract: Contract, user: str, attack: Attack, reason: Reason
) -> None:
    assert_rejected(hs256, contract, user, attack(hs256, user), reason)


def _hs256_keyed_with(secret: bytes, kid: str | None) -> SigningKey:
    return SigningKey("HS256", secret, kid)


KEY_CONFUSION: list[Any] = [
    pytest.param(
        lambda m, u: _hs256_keyed_with(RS256.public_pem(), RS256.kid).sign(m.claims(u)),
        "algorithm",
        id="hs256_keyed_with_the_rsa_public_key_pem",
    ),
    pytest.param(
        lambda m, u: _hs256_keyed_with(ED25519.public_pem(), ED25519.kid).sign(m.claims(u)),
        "algorithm",
        id="hs256_keyed_with_the_ed25519_public_key_pem",
    ),
    pytest.param(
        lambda m, u: _hs256_keyed_with(ED25519.public_raw(), ED25519.kid).sign(m.claims(u)),
        "algorithm",
        id="hs256_keyed_with_the_raw_ed25519_public_key",
    ),
    pytest.param(
        lambda m, u: _hs256_keyed_with(ES256.public_pem(), ES256.kid).sign(m.claims(u)),
        "algorithm",
        id="hs256_keyed_with_the_ec_public_key_pem",
    ),
    pytest.param(
        lambda m, u: _hs256_keyed_with(json.dumps(ED25519.public_jwk()).encode(), ED25519.kid).sign(
            m.claims(u)
        ),
        "algorithm",
        id="hs256_keyed_with_the_published_jwk",
    ),
    pytest.param(
        lambda m, u: _hs256_keyed_with(SECRET.encode(), ED25519.kid).sign(m.claims(u)),
        "algorithm",
        id="hs256_keyed_with_the_shared_secret",
    ),
    pytest.param(
        lambda m, u: SHARED_SECRET.sign(m.claims(u)),
        "algorithm",
        id="hs256_keyed_with_the_shared_secret_no_kid",
    ),
    pytest.param(
        lambda m, u: _as(RS256, "PS256", RS256.kid).sign(m.claims(u)),
        "algorithm",
        id="ps256_with_a_key_published_for_rs256",
    ),
    pytest.param(
        lambda m, u: _as(PS256, "RS256", PS256.kid).sign(m.claims(u)),
        "algorithm",
        id="rs256_with_a_key_published_for_ps256",
    ),
    pytest.param(
        lambda m, u: _as(ED25519, "EdDSA", ES256.kid).sign(m.claims(u)),
        "algorithm",
        id="eddsa_under_the_kid_of_the_ec_key",
    ),
    pytest.param(
        lambda m, u: _as(ATTACKER_ES256, "ES256", ED25519.kid).sign(m.claims(u)),
        "algorithm",
        id="attackers_es256_under_the_kid_of_the_ed25519_key",
    ),
    pytest.param(
        lambda m, u: _as(ATTACKER, "EdDSA", "no-such-kid").sign(m.claims(u)),
        "unknown_key",
        id="unknown_kid",
    ),
    pytest.param(
        lambda m, u: ED25519.sign(m.claims(u), header=ED25519.header(kid=None)),
        "unknown_key",
        id="kid_missing",
    ),
    pytest.param(
        lambda m, u: ED25519.sign(m.claims(u), header=ED25519.header(kid=7)),
        "malformed",
        id="kid_a_number",
    ),
    pytest.param(
        lambda m, u: ED25519.sign(m.claims(u), header=ED25519.header(kid=[ED25519.kid])),
        "malformed",
        id="kid_a_list",
    ),
]


@pytest.mark.parametrize(("attack", "reason"), KEY_CONFUSION)
def test_jwks_mode_uses_each_key_only_with_its_own_algorithm(
    jwks: Mode, contract: Contract, user: str, attack: Attack, reason: Reason
) -> None:
    assert_rejected(jwks, contract, user, attack(jwks, user), reason)


# ---------------------------------------------------------------------------------------------
# Positive controls: what a correct issuer sends is accepted, right up to each limit


ACCEPTED: list[Any] = [
    pytest.param(lambda m, u: m.token(u), id="plain"),
    pytest.param(lambda m, u: m.sign(m.claims(u), header=m.header(typ=None)), id="no_typ"),
    pytest.param(lambda m, u: m.sign(m.claims(u), header=m.header(typ="jwt")), id="typ_lower_case"),
    pytest.param(
        lambda m, u: m.token(u, iat=_now() - 600, exp=_now() - LEEWAY_SECONDS // 3),
        id="expired_within_the_leeway",
    ),
    pytest.param(
        lambda m, u: m.token(u, nbf=_now() + LEEWAY_SECONDS // 3), id="nbf_within_the_leeway"
    ),
    pytest.param(
        lambda m, u: m.token(u, iat=_now() + LEEWAY_SECONDS // 3), id="iat_within_the_leeway"
    ),
    pytest.param(lambda m, u: m.sign(without(m.claims(u), "iat")), id="no_iat"),
    pytest.param(lambda m, u: m.token(u, exp=_now() + 3600.5), id="fractional_exp"),
    pytest.param(lambda m, u: m.token(u, aud=["another-api", AUDIENCE]), id="audience_in_a_list"),
    pytest.param(
        lambda m, u: m.token(u, name="Alice", email="alice@example.com", emailVerified=True),
        id="profile_claims_as_better_auth_adds",
    ),
    pytest.param(lambda m, u: sized_token(m, u, at_most=MAX_TOKEN_BYTES), id="token_of_8_KiB"),
]


@pytest.mark.parametrize("issue", ACCEPTED)
def test_valid_token_is_accepted(mode: Mode, contract: Contract, user: str, issue: Attack) -> None:
    token = issue(mode, user)

    assert_accepted(mode, contract, user, token)


def test_subject_of_128_characters_is_accepted(mode: Mode, contract: Contract) -> None:
    user_id = f"u{uuid.uuid4().hex}".ljust(128, "x")

    assert_accepted(mode, contract, user_id, mode.token(user_id))


@pytest.mark.parametrize("key", [ES256, ES512, RS256, PS256], ids=lambda key: key.alg)
def test_jwks_mode_accepts_each_published_algorithm(
    jwks: Mode, contract: Contract, user: str, key: SigningKey
) -> None:
    assert_accepted(jwks, contract, user, key.sign(jwks.claims(user)))


def test_valid_token_for_another_user_is_forbidden(
    mode: Mode, contract: Contract, user: str
) -> None:
    bob = f"bob_{uuid.uuid4().hex[:8]}"

    response = get_tasks(mode, bob, mode.token(user))

    assert response.status_code == 403, f"{response.status_code}: {response.text}"
    assert response.json()["error"] == "forbidden"
    contract.assert_conforms(response)
