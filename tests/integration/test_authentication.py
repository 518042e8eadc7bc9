"""Every operation needs a valid HS256 token: anything else is 401 with WWW-Authenticate."""

import base64
import json
import re
import time
from functools import cache

import pytest
import rsa

from impl.auth.refusals import Refusal
from tests.conftest import Api, User
from tests.support.contract import Contract
from tests.support.operations import OPERATIONS, Operation, ids
from tests.support.refusals import assert_refused
from tests.support.tokens import claims_for, sign, token_for


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@cache
def _rsa_private_key_pem() -> str:
    _, private_key = rsa.newkeys(1024)
    return private_key.save_pkcs1().decode()


def bad_tokens(user_id: str) -> dict[str, str]:
    claims = claims_for(user_id)
    now = int(time.time())
    return {
        "expired": token_for(user_id, expires_in=-60),
        "wrong_secret": token_for(user_id, secret="another-secret-" + "x" * 40),
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "hs512": token_for(user_id, algorithm="HS512"),
        "rs256": sign(claims, secret=_rsa_private_key_pem(), algorithm="RS256"),
        "missing_sub": sign({"iat": now, "exp": now + 3600}),
        "missing_exp": sign({"sub": user_id, "iat": now}),
        "numeric_sub": sign({**claims, "sub": 12345}),
        "empty_sub": sign({**claims, "sub": ""}),
        "not_yet_valid": sign({**claims, "nbf": now + 3600}),
        "malformed": "not-a-jwt",
        "truncated": token_for(user_id)[:-10],
    }


BAD_TOKEN_KINDS = sorted(bad_tokens("someone"))
# Why each of them is refused (this service checks no issuer nor audience: see
# test_token_attacks.py for those, and test_jwks.py for unknown keys).
REFUSED_BECAUSE = {
    "expired": "expired",
    "not_yet_valid": "not_yet_valid",
    "malformed": "malformed",
    "truncated": "malformed",
    "wrong_secret": "signature",
    "alg_none": "algorithm",
    "hs512": "algorithm",
    "rs256": "algorithm",
    "missing_sub": "claims",
    "missing_exp": "claims",
    "numeric_sub": "claims",
    "empty_sub": "claims",
}


@pytest.mark.parametrize("operation", OPERATIONS, ids=ids)
def test_missing_token_is_401(api: Api, alice: User, operation: Operation) -> None:
    response = api.request(operation.method, operation.path(alice.id), json=operation.body)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
@pytest.mark.parametrize("operation", OPERATIONS, ids=ids)
def test_bad_token_is_401(api: Api, alice: User, operation: Operation, kind: str) -> None:
    token = bad_tokens(alice.id)[kind]

    response = api.request(
        operation.method, operation.path(alice.id), token=token, json=operation.body
    )

    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
def test_a_refused_token_is_told_why_in_the_challenge_and_the_body(
    api: Api, alice: User, kind: str
) -> None:
    # given a token that is wrong in exactly one way
    token = bad_tokens(alice.id)[kind]

    # when it is sent
    response = api.request("GET", alice.tasks_path, token=token)

    # then the 401 names that way: error_description in WWW-Authenticate, details.reason
    assert_refused(response, REFUSED_BECAUSE[kind])


def test_the_contract_documents_every_reason_a_token_is_refused_for(contract: Contract) -> None:
    description = contract.document["components"]["responses"]["Unauthorized"]["description"]

    documented = set(re.findall(r"`([a-z_]+)` \(", description))

    assert documented == {refusal.value for refusal in Refusal}


@pytest.mark.parametrize("header", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Token abc", "Bearer a b"])
def test_authorization_that_is_not_a_bearer_token_is_401(
    api: Api, alice: User, header: str
) -> None:
    response = api.request("GET", alice.tasks_path, headers={"Authorization": header})

    assert response.status_code == 401


def test_bearer_scheme_is_case_insensitive(api: Api, alice: User) -> None:
    response = api.request(
        "GET", alice.tasks_path, headers={"Authorization": f"bearer {alice.token}"}
    )

    assert response.status_code == 200


def test_rejected_tasks_are_not_written(api: Api, alice: User) -> None:
    for token in bad_tokens(alice.id).values():
        api.request("POST", alice.tasks_path, token=token, json={"title": "sneaky"})

    assert api.request("GET", alice.tasks_path, token=alice.token).json() == {
        "items": [],
        "next_cursor": None,
    }


# Every operation that authenticates, including the two OPERATIONS leaves out.
EVERY_AUTHENTICATED_OPERATION = (
    *OPERATIONS,
    Operation("update_task", "PATCH", "/{id}", {"title": "t"}),
    Operation("list_task_changes", "GET", "/changes"),
)
REPEATED_AUTHORIZATIONS = {
    "two users": lambda alice, bob: [alice.token, bob.token],
    "the same token twice": lambda alice, bob: [alice.token, alice.token],
    "a valid token after a bad one": lambda alice, bob: ["not-a-jwt", alice.token],
}


@pytest.mark.parametrize("repeat", sorted(REPEATED_AUTHORIZATIONS))
@pytest.mark.parametrize("operation", EVERY_AUTHENTICATED_OPERATION, ids=ids)
def test_a_repeated_authorization_header_is_400_whichever_tokens_it_holds(
    api: Api, alice: User, bob: User, operation: Operation, repeat: str
) -> None:
    # Given a task of alice's (so that the task operations could succeed),
    task = api.request("POST", alice.tasks_path, token=alice.token, json={"title": "kept"})
    tokens = REPEATED_AUTHORIZATIONS[repeat](alice, bob)

    # when a request carries two Authorization headers (a proxy might pick either one),
    response = api.http.request(
        operation.method,
        operation.path(alice.id, task.json()["id"]),
        json=operation.body,
        headers=[("Authorization", f"Bearer {token}") for token in tokens],
    )

    # then neither is taken: 400 invalid_request, as RFC 6750 asks, and nothing changed.
    api.contract.assert_conforms(response)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_request"'
    after = api.request("GET", alice.tasks_path, token=alice.token).json()["items"]
    assert [(t["title"], t["version"]) for t in after] == [("kept", 1)]
