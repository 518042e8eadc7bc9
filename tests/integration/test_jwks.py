"""jwks mode against a local key set: fetched lazily and once, refetched sparingly, rotated live.

Given the service in jwks mode and a key set served by tests/support/jwks.py (which counts its
fetches and can go down), the key set is fetched once for many requests; a flood of unknown kids
costs at most a refetch or two; a newly published key verifies without a restart and a removed
one stops verifying once the cache expires; cached keys carry the service through an outage of
the auth server, and without any key set the answer is 503 auth_unavailable (not 401, not 500)
until the auth server is back. Also: BETTER_AUTH_URL alone is enough, and a bad configuration
is refused at start-up, naming the variable.
"""

import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import LOG_DIR, service_settings
from tests.support.contract import Contract
from tests.support.jwks import (
    DownMode,
    JwksServer,
    SigningKey,
    claims,
    ed25519_key,
    jwks_server,
    without,
)
from tests.support.postgres import PostgresServer
from tests.support.refusals import assert_refused
from tests.support.server import PRODUCTION, running_service, service_environment

CURSOR_SECRET = "cursor-secret-" + "c" * 40
# The auth server's keys. NAMED_ED25519 is published with the newer alg name "Ed25519";
# FOR_ENCRYPTION with "use": "enc", so it must never verify a signature.
CURRENT = ed25519_key("current")
NAMED_ED25519 = ed25519_key("named-ed25519")
FOR_ENCRYPTION = ed25519_key("for-encryption")
OLD = ed25519_key("old")
NEW = ed25519_key("new")
# Signs under kids nobody published.
STRANGER = ed25519_key("stranger")

DOWN_MODES = ["refusing", "failing", "hanging"]
FETCH_TIMEOUT_SECONDS = 1


@dataclass(frozen=True)
class Service:
    base_url: str
    key_set: JwksServer

    def get_tasks(self, user_id: str, token: str | None) -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{self.base_url}/api/{user_id}/tasks", headers=headers, timeout=10)


def new_user() -> str:
    return f"alice_{uuid.uuid4().hex[:8]}"


def jwks_settings(database_url: str, **overrides: str) -> dict[str, str]:
    """jwks mode with CURSOR_SECRET and without BETTER_AUTH_SECRET (optional in this mode)."""
    settings = service_settings(
        database_url,
        AUTH_MODE="jwks",
        CURSOR_SECRET=CURSOR_SECRET,
        JWKS_TIMEOUT_SECONDS=str(FETCH_TIMEOUT_SECONDS),
        **overrides,
    )
    del settings["BETTER_AUTH_SECRET"]
    return settings


@contextmanager
def jwks_service(
    postgres: PostgresServer, key_set: JwksServer, name: str, **overrides: str
) -> Iterator[Service]:
    """The service on a fresh database, reading `key_set` (unless `overrides` say otherwise)."""
    settings = {"JWKS_URL": key_set.jwks_url, **overrides}
    with (
        postgres.fresh_database() as database_url,
        running_service(
            jwks_settings(database_url, **settings), LOG_DIR / f"service-jwks-{name}.log"
        ) as base_url,
    ):
        yield Service(base_url, key_set)


def assert_auth_unavailable(response: httpx.Response, contract: Contract) -> None:
    assert response.status_code == 503, f"{response.status_code}: {response.text}"
    assert response.json()["error"] == "auth_unavailable"
    assert response.headers.get("Retry-After", "").isdigit(), "Retry-After must be seconds"
    contract.assert_conforms(response)


# ---------------------------------------------------------------------------------------------
# A steady auth server: default cache (300 s) and refetch interval (30 s); no iss/aud configured


@pytest.fixture(scope="module")
def steady(postgres: PostgresServer) -> Iterator[Service]:
    keys = [
        CURRENT.public_jwk(),
        NAMED_ED25519.public_jwk(alg="Ed25519"),
        FOR_ENCRYPTION.public_jwk(use="enc"),
    ]
    with (
        jwks_server(keys) as key_set,
        jwks_service(
            postgres, key_set, "steady", JWKS_CACHE_SECONDS="300", JWKS_REFRESH_SECONDS="30"
        ) as service,
    ):
        yield service


def test_many_requests_fetch_the_key_set_once(steady: Service) -> None:
    user = new_user()
    token = CURRENT.sign(claims(user))

    statuses = [steady.get_tasks(user, token).status_code for _ in range(50)]

    assert statuses == [200] * 50
    assert steady.key_set.fetches == 1


def test_a_jwk_whose_alg_is_the_newer_name_ed25519_verifies(steady: Service) -> None:
    user = new_user()

    response = steady.get_tasks(user, NAMED_ED25519.sign(claims(user)))

    assert response.status_code == 200, response.text


def test_a_key_published_for_encryption_never_verifies(steady: Service) -> None:
    user = new_user()

    response = steady.get_tasks(user, FOR_ENCRYPTION.sign(claims(user)))

    # then its kid is no key the service holds for signatures
    assert_refused(response, "unknown_key")


@pytest.mark.parametrize(
    "token_claims",
    [
        pytest.param({"iss": "https://anyone.example", "aud": "anything"}, id="any_iss_and_aud"),
        pytest.param({}, id="no_iss_nor_aud"),
    ],
)
def test_iss_and_aud_are_not_checked_when_none_is_configured(
    steady: Service, token_claims: dict[str, str]
) -> None:
    user = new_user()

    response = steady.get_tasks(user, CURRENT.sign({**claims(user), **token_claims}))

    assert response.status_code == 200, response.text


def test_a_flood_of_unknown_kids_makes_at_most_two_fetches(steady: Service) -> None:
    user = new_user()
    flood = [
        SigningKey("EdDSA", STRANGER.private, f"random-{uuid.uuid4().hex}").sign(claims(user))
        for _ in range(200)
    ]
    fetches_before = steady.key_set.fetches

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda token: steady.get_tasks(user, token).status_code, flood))

    assert statuses == [401] * 200
    assert steady.key_set.fetches - fetches_before <= 2
    assert steady.get_tasks(user, CURRENT.sign(claims(user))).status_code == 200


@pytest.mark.parametrize("how", DOWN_MODES)
def test_cached_keys_keep_verifying_while_the_auth_server_is_down(
    steady: Service, how: DownMode
) -> None:
    user = new_user()
    token = CURRENT.sign(claims(user))
    assert steady.get_tasks(user, token).status_code == 200

    steady.key_set.go_down(how)
    try:
        valid = steady.get_tasks(user, token)
        unknown_kid = steady.get_tasks(user, STRANGER.sign(claims(user)))
    finally:
        steady.key_set.come_up()

    assert valid.status_code == 200, valid.text
    assert_refused(unknown_kid, "unknown_key")


# ---------------------------------------------------------------------------------------------
# Rotation: a new key is picked up at once (unknown kid -> refetch, here at most once a second)


@pytest.fixture(scope="module")
def quick_refetch(postgres: PostgresServer) -> Iterator[Service]:
    with (
        jwks_server([OLD.public_jwk()]) as key_set,
        jwks_service(
            postgres, key_set, "quick-refetch", JWKS_CACHE_SECONDS="300", JWKS_REFRESH_SECONDS="1"
        ) as service,
    ):
        yield service


def test_a_newly_published_key_verifies_without_a_restart(quick_refetch: Service) -> None:
    user = new_user()
    assert quick_refetch.get_tasks(user, OLD.sign(claims(user))).status_code == 200
    time.sleep(1.2)  # past the refetch interval, well within the cache's 300 s

    quick_refetch.key_set.publish(NEW.public_jwk())
    with_new_key = quick_refetch.get_tasks(user, NEW.sign(claims(user)))
    with_old_key = quick_refetch.get_tasks(user, OLD.sign(claims(user)))

    assert with_new_key.status_code == 200, with_new_key.text
    assert with_old_key.status_code == 200, with_old_key.text
    assert quick_refetch.key_set.fetches == 2


# ---------------------------------------------------------------------------------------------
# A short cache (1 s): removed keys stop verifying; stale keys outlive the auth server


@pytest.fixture(scope="module")
def short_cache(postgres: PostgresServer) -> Iterator[Service]:
    with (
        jwks_server([OLD.public_jwk(), NEW.public_jwk()]) as key_set,
        jwks_service(
            postgres, key_set, "short-cache", JWKS_CACHE_SECONDS="1", JWKS_REFRESH_SECONDS="1"
        ) as service,
    ):
        yield service


def test_a_removed_key_stops_verifying_once_the_cache_expires(short_cache: Service) -> None:
    user = new_user()
    assert short_cache.get_tasks(user, OLD.sign(claims(user))).status_code == 200

    short_cache.key_set.remove(str(OLD.kid))
    time.sleep(1.5)  # past JWKS_CACHE_SECONDS
    with_old_key = short_cache.get_tasks(user, OLD.sign(claims(user)))
    with_new_key = short_cache.get_tasks(user, NEW.sign(claims(user)))

    assert_refused(with_old_key, "unknown_key")
    assert with_new_key.status_code == 200, with_new_key.text


@pytest.mark.parametrize("how", DOWN_MODES)
def test_stale_keys_are_used_while_the_auth_server_is_down(
    short_cache: Service, how: DownMode
) -> None:
    user = new_user()
    token = NEW.sign(claims(user))
    assert short_cache.get_tasks(user, token).status_code == 200

    short_cache.key_set.go_down(how)
    try:
        time.sleep(1.5)  # past JWKS_CACHE_SECONDS: the cached set is stale
        response = short_cache.get_tasks(user, token)
    finally:
        short_cache.key_set.come_up()

    assert response.status_code == 200, response.text


# ---------------------------------------------------------------------------------------------
# No key set at all: the auth server is down from the start


@pytest.fixture(scope="module", params=DOWN_MODES)
def down_from_start(request: pytest.FixtureRequest, postgres: PostgresServer) -> Iterator[Service]:
    """The service starts (the key set is fetched lazily) although the auth server is down."""
    with (
        jwks_server([CURRENT.public_jwk()], down=request.param) as key_set,
        jwks_service(
            postgres,
            key_set,
            f"down-from-start-{request.param}",
            JWKS_CACHE_SECONDS="300",
            JWKS_REFRESH_SECONDS="1",
        ) as service,
    ):
        yield service


def test_without_any_key_set_the_answer_is_503_until_the_auth_server_is_up(
    down_from_start: Service, contract: Contract
) -> None:
    user = new_user()
    token = CURRENT.sign(claims(user))

    started = time.monotonic()
    while_down = down_from_start.get_tasks(user, token)
    elapsed = time.monotonic() - started
    without_token = down_from_start.get_tasks(user, None)
    down_from_start.key_set.come_up()
    after = _first_success(down_from_start, user, token, within_seconds=10)

    assert_auth_unavailable(while_down, contract)
    assert elapsed < FETCH_TIMEOUT_SECONDS + 2, f"the 503 took {elapsed:.2f}s"
    assert without_token.status_code == 401
    assert without_token.headers.get("WWW-Authenticate") == "Bearer"
    assert after.status_code == 200, after.text


def _first_success(
    service: Service, user: str, token: str, within_seconds: float
) -> httpx.Response:
    """The first 200 for `token` (retrying as a client would), or the last answer."""
    deadline = time.monotonic() + within_seconds
    while True:
        response = service.get_tasks(user, token)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.25)


# ---------------------------------------------------------------------------------------------
# BETTER_AUTH_URL alone: the key set at <url>/api/auth/jwks, iss and aud both <url>


@pytest.fixture(scope="module")
def better_auth(postgres: PostgresServer) -> Iterator[Service]:
    with jwks_server([CURRENT.public_jwk()]) as key_set:
        settings = {"BETTER_AUTH_URL": key_set.base_url}
        with (
            postgres.fresh_database() as database_url,
            running_service(
                jwks_settings(database_url, **settings), LOG_DIR / "service-jwks-better-auth.log"
            ) as base_url,
        ):
            yield Service(base_url, key_set)


def test_better_auth_url_alone_gives_the_key_set_issuer_and_audience(better_auth: Service) -> None:
    user = new_user()
    url = better_auth.key_set.base_url

    response = better_auth.get_tasks(user, CURRENT.sign(claims(user, issuer=url, audience=url)))

    assert response.status_code == 200, response.text
    assert better_auth.key_set.fetches >= 1


@pytest.mark.parametrize(
    ("token_claims", "reason"),
    [
        pytest.param({"iss": "https://evil.example"}, "issuer", id="wrong_iss"),
        pytest.param({"aud": "https://evil.example"}, "audience", id="wrong_aud"),
        pytest.param({"iss": None}, "issuer", id="missing_iss"),
        pytest.param({"aud": None}, "audience", id="missing_aud"),
    ],
)
def test_better_auth_url_alone_requires_its_issuer_and_audience(
    better_auth: Service, token_claims: dict[str, str | None], reason: str
) -> None:
    user = new_user()
    url = better_auth.key_set.base_url
    issued = {**claims(user, issuer=url, audience=url), **token_claims}
    missing = [name for name, value in token_claims.items() if value is None]

    response = better_auth.get_tasks(user, CURRENT.sign(without(issued, *missing)))

    assert_refused(response, reason)


# ---------------------------------------------------------------------------------------------
# Start-up refusals


SHORT_SECRET = "too-short-secret-31-bytes-long!"


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        pytest.param(
            {"AUTH_MODE": "jwks", "CURSOR_SECRET": CURSOR_SECRET},
            "JWKS_URL",
            id="jwks_without_JWKS_URL_or_BETTER_AUTH_URL",
        ),
        pytest.param(
            {"AUTH_MODE": "jwks", "JWKS_URL": "http://127.0.0.1:9/api/auth/jwks"},
            "CURSOR_SECRET",
            id="jwks_without_CURSOR_SECRET_or_BETTER_AUTH_SECRET",
        ),
        pytest.param(
            {
                "AUTH_MODE": "jwks",
                "JWKS_URL": "http://127.0.0.1:9/api/auth/jwks",
                "CURSOR_SECRET": SHORT_SECRET,
            },
            "CURSOR_SECRET",
            id="jwks_with_a_CURSOR_SECRET_under_32_bytes",
        ),
        pytest.param({"AUTH_MODE": "hs256"}, "BETTER_AUTH_SECRET", id="hs256_without_a_secret"),
        pytest.param(
            {"AUTH_MODE": "bogus", "BETTER_AUTH_SECRET": CURSOR_SECRET},
            "AUTH_MODE",
            id="unknown_AUTH_MODE",
        ),
    ],
)
def test_inconsistent_auth_settings_are_refused_at_start_up(
    settings: dict[str, str], variable: str
) -> None:
    environment = service_environment({"DATABASE_URL": "postgresql://x@h/db", **settings})

    with tempfile.TemporaryDirectory() as workdir:
        result = subprocess.run(
            [sys.executable, "-m", "impl", *PRODUCTION],
            cwd=workdir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert variable in output, output
    assert SHORT_SECRET not in output
