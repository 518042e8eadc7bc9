"""Tokens of the real Better Auth (jwt plugin: EdDSA, JWKS) against the service in JWKS mode."""

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import LOG_DIR, Api, service_settings
from tests.support.better_auth import (
    Session,
    b64url_decode,
    b64url_encode,
    better_auth_server,
    sign_up,
    token_from_get_session,
    token_from_token_endpoint,
    unverified_part,
)
from tests.support.contract import Contract
from tests.support.operations import OPERATIONS, Operation, ids
from tests.support.postgres import PostgresServer
from tests.support.refusals import assert_refused
from tests.support.server import running_service
from tests.support.tokens import SECRET

CURSOR_SECRET = "interop-cursor-secret-" + "c" * 32


@dataclass(frozen=True)
class AuthUser:
    """A Better Auth user: the id its sign-up answered and a JWT its jwt plugin issued."""

    session: Session
    token: str = field(repr=False)

    @property
    def id(self) -> str:
        """The token's subject: the user id the service puts in the URL."""
        sub: str = unverified_part(self.token, 1)["sub"]
        return sub

    @property
    def tasks_path(self) -> str:
        return f"/api/{self.id}/tasks"

    def task_path(self, task_id: object) -> str:
        return f"{self.tasks_path}/{task_id}"


@pytest.fixture(scope="module")
def better_auth_url() -> Iterator[str]:
    with better_auth_server(LOG_DIR / "better-auth.log") as url:
        yield url


@pytest.fixture(scope="module")
def alice(better_auth_url: str) -> AuthUser:
    session = sign_up(better_auth_url, "alice")
    return AuthUser(session, token_from_token_endpoint(better_auth_url, session))


@pytest.fixture(scope="module")
def bob(better_auth_url: str) -> AuthUser:
    session = sign_up(better_auth_url, "bob")
    return AuthUser(session, token_from_get_session(better_auth_url, session))


@pytest.fixture(scope="module")
def jwks(better_auth_url: str) -> dict[str, Any]:
    key_set: dict[str, Any] = httpx.get(f"{better_auth_url}/api/auth/jwks", timeout=10).json()
    return key_set


@pytest.fixture(scope="module")
def jwks_api(postgres: PostgresServer, contract: Contract, better_auth_url: str) -> Iterator[Api]:
    """The service in JWKS mode on a database of its own, trusting the Better Auth server."""
    with postgres.fresh_database() as database_url:
        settings = service_settings(
            database_url,
            AUTH_MODE="jwks",
            BETTER_AUTH_URL=better_auth_url,
            CURSOR_SECRET=CURSOR_SECRET,
        )
        with (
            running_service(settings, LOG_DIR / "service-jwks.log") as url,
            httpx.Client(base_url=url, timeout=10) as http,
        ):
            yield Api(http, contract)


def create_task(api: Api, user: AuthUser, title: str) -> dict[str, Any]:
    response = api.request("POST", user.tasks_path, token=user.token, json={"title": title})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def listed_ids(api: Api, user: AuthUser) -> set[object]:
    response = api.request("GET", user.tasks_path, token=user.token)
    assert response.status_code == 200, response.text
    return {task["id"] for task in response.json()["items"]}


def hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    signing_input = ".".join(
        b64url_encode(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(signature)}"


def test_better_auth_issues_eddsa_tokens_for_its_user_ids(
    better_auth_url: str, jwks: dict[str, Any], alice: AuthUser, bob: AuthUser
) -> None:
    kids = {key["kid"] for key in jwks["keys"]}
    assert {(key["kty"], key["crv"], key["alg"]) for key in jwks["keys"]} == {
        ("OKP", "Ed25519", "EdDSA")
    }
    assert alice.id != bob.id
    for user in (alice, bob):
        header, claims = unverified_part(user.token, 0), unverified_part(user.token, 1)
        assert header["alg"] == "EdDSA"
        assert header["kid"] in kids
        assert claims["sub"] == user.session.user_id
        assert claims["iss"] == better_auth_url
        assert claims["aud"] == better_auth_url


def test_each_user_creates_lists_gets_and_deletes_only_their_own_tasks(
    jwks_api: Api, alice: AuthUser, bob: AuthUser
) -> None:
    created = {
        user.id: [create_task(jwks_api, user, f"{name} {n}") for n in range(2)]
        for name, user in (("alice", alice), ("bob", bob))
    }

    for user in (alice, bob):
        own = created[user.id]
        assert listed_ids(jwks_api, user) == {task["id"] for task in own}
        fetched = jwks_api.request("GET", user.task_path(own[0]["id"]), token=user.token)
        assert fetched.status_code == 200, fetched.text
        assert fetched.json() == own[0]
        deleted = jwks_api.request("DELETE", user.task_path(own[0]["id"]), token=user.token)
        assert deleted.status_code == 204, deleted.text
        gone = jwks_api.request("GET", user.task_path(own[0]["id"]), token=user.token)
        assert gone.status_code == 404, gone.text
        assert listed_ids(jwks_api, user) == {own[1]["id"]}


@pytest.mark.parametrize("operation", OPERATIONS, ids=ids)
def test_token_of_one_user_on_another_users_url_is_403(
    jwks_api: Api, alice: AuthUser, bob: AuthUser, operation: Operation
) -> None:
    bobs_task = create_task(jwks_api, bob, "bob's")

    response = jwks_api.request(
        operation.method,
        operation.path(bob.id, bobs_task["id"]),
        token=alice.token,
        json=operation.body,
    )

    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden"
    unchanged = jwks_api.request("GET", bob.task_path(bobs_task["id"]), token=bob.token)
    assert unchanged.json() == bobs_task


def test_token_whose_subject_was_changed_is_401(
    jwks_api: Api, alice: AuthUser, bob: AuthUser
) -> None:
    header, payload, signature = alice.token.split(".")
    claims = json.loads(b64url_decode(payload))
    forged_payload = b64url_encode(json.dumps({**claims, "sub": bob.id}).encode())
    forged = f"{header}.{forged_payload}.{signature}"

    for path in (bob.tasks_path, alice.tasks_path):
        assert_refused(jwks_api.request("GET", path, token=forged), "signature")
    assert_refused(
        jwks_api.request("POST", bob.tasks_path, token=forged, json={"title": "x"}), "signature"
    )


@pytest.mark.parametrize("key_kind", ["service_secret", "better_auth_public_key"])
def test_hs256_token_with_the_right_claims_is_401(
    jwks_api: Api, jwks: dict[str, Any], alice: AuthUser, key_kind: str
) -> None:
    """Only the key set's algorithms count: neither the HS256 secret nor the public key as one."""
    real_header = unverified_part(alice.token, 0)
    claims = unverified_part(alice.token, 1)
    [public_key] = [key for key in jwks["keys"] if key["kid"] == real_header["kid"]]
    keys = {
        "service_secret": SECRET.encode(),
        "better_auth_public_key": b64url_decode(public_key["x"]),
    }
    token = hs256({"alg": "HS256", "typ": "JWT", "kid": real_header["kid"]}, claims, keys[key_kind])

    assert_refused(jwks_api.request("GET", alice.tasks_path, token=token), "algorithm")


# Every algorithm the pinned jwt() plugin can sign with (its JWKOptions), EdDSA its default.
PLUGIN_ALGORITHMS = ["EdDSA", "ES256", "ES512", "PS256", "RS256"]


@pytest.mark.parametrize("algorithm", PLUGIN_ALGORITHMS)
def test_a_token_of_each_algorithm_the_plugin_offers_is_accepted(
    postgres: PostgresServer, contract: Contract, algorithm: str
) -> None:
    # Given Better Auth whose jwt plugin signs with `algorithm`, and a user it signed up
    with better_auth_server(LOG_DIR / "better-auth-algorithms.log", algorithm=algorithm) as url:
        session = sign_up(url, "carol")
        carol = AuthUser(session, token_from_token_endpoint(url, session))
        assert unverified_part(carol.token, 0)["alg"] == algorithm

        # When the service in JWKS mode is called with the user's token
        with (
            postgres.fresh_database() as database_url,
            running_service(
                service_settings(
                    database_url,
                    AUTH_MODE="jwks",
                    BETTER_AUTH_URL=url,
                    CURSOR_SECRET=CURSOR_SECRET,
                ),
                LOG_DIR / "service-jwks-algorithms.log",
            ) as service_url,
            httpx.Client(base_url=service_url, timeout=10) as http,
        ):
            api = Api(http, contract)
            task = create_task(api, carol, f"signed with {algorithm}")

            # Then the token is accepted: the user's task is written and listed
            assert listed_ids(api, carol) == {task["id"]}
