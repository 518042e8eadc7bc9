"""Idempotency-Key on create: a retried POST answers the first answer again and creates nothing."""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import LOG_DIR, Api, User, new_user, service_settings
from tests.support.contract import Contract
from tests.support.postgres import PostgresServer
from tests.support.server import running_service
from tests.support.writes import Call, list_all_tasks, patch_task, post_task, send_concurrently

CONCURRENT_RETRIES = 10
SHORT_TTL_SECONDS = 1


def new_key() -> str:
    return str(uuid.uuid4())


def with_key(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def assert_replay_of(first: httpx.Response, replay: httpx.Response) -> None:
    assert replay.status_code == 201
    assert replay.content == first.content, "the body is the first answer, byte for byte"
    assert replay.headers["Location"] == first.headers["Location"]
    assert replay.headers["ETag"] == first.headers["ETag"]
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_and_body_replay_the_first_answer(api: Api, alice: User) -> None:
    key = new_key()
    body = {"title": "Pay rent", "priority": "high", "tags": ["Home"]}
    first = post_task(api, alice, body, headers=with_key(key))

    replay = post_task(api, alice, body, headers=with_key(key))

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert_replay_of(first, replay)


def test_a_replay_creates_nothing(api: Api, alice: User) -> None:
    key = new_key()
    first = post_task(api, alice, {"title": "once"}, headers=with_key(key))

    for _ in range(3):
        post_task(api, alice, {"title": "once"}, headers=with_key(key))

    assert [task["id"] for task in list_all_tasks(api, alice)] == [first.json()["id"]]


def test_a_replay_answers_the_first_body_even_after_the_task_changed(api: Api, alice: User) -> None:
    key = new_key()
    first = post_task(api, alice, {"title": "draft"}, headers=with_key(key))
    patch_task(api, alice, first.json()["id"], {"title": "final"})

    replay = post_task(api, alice, {"title": "draft"}, headers=with_key(key))

    assert_replay_of(first, replay)


def test_the_same_key_with_another_body_is_422_and_creates_nothing(api: Api, alice: User) -> None:
    key = new_key()
    first = post_task(api, alice, {"title": "one"}, headers=with_key(key))

    reused = post_task(api, alice, {"title": "two"}, headers=with_key(key))

    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"
    assert [task["id"] for task in list_all_tasks(api, alice)] == [first.json()["id"]]


@pytest.mark.parametrize(
    "other",
    [
        {"title": "one", "priority": "low"},
        {"title": "one", "description": "now with a description"},
        {"title": "one", "tags": ["extra"]},
        {"title": "one", "due_at": "2026-12-01T10:00:00Z"},
    ],
)
def test_another_value_of_any_field_counts_as_another_body(
    api: Api, alice: User, other: dict[str, object]
) -> None:
    key = new_key()
    post_task(api, alice, {"title": "one"}, headers=with_key(key))

    reused = post_task(api, alice, other, headers=with_key(key))

    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"


def test_a_body_with_the_defaults_spelled_out_is_the_same_body(api: Api, alice: User) -> None:
    key = new_key()
    first = post_task(api, alice, {"title": "a"}, headers=with_key(key))
    spelled_out: dict[str, Any] = {
        "due_at": None,
        "tags": [],
        "priority": "medium",
        "description": None,
    }

    replay = post_task(api, alice, {**spelled_out, "title": "a"}, headers=with_key(key))

    assert_replay_of(first, replay)
    assert len(list_all_tasks(api, alice)) == 1


def test_keys_are_per_user(api: Api, alice: User, bob: User) -> None:
    key = new_key()
    post_task(api, alice, {"title": "alice's"}, headers=with_key(key))

    bobs = post_task(api, bob, {"title": "bob's"}, headers=with_key(key))

    assert bobs.status_code == 201
    assert "Idempotent-Replayed" not in bobs.headers
    assert bobs.json()["user_id"] == bob.id
    assert [task["title"] for task in list_all_tasks(api, bob)] == ["bob's"]
    assert [task["title"] for task in list_all_tasks(api, alice)] == ["alice's"]


def test_concurrent_requests_with_one_key_create_one_task_and_answer_it_to_all(
    api: Api, alice: User
) -> None:
    create = Call("POST", alice.tasks_path, json={"title": "once"}, headers=with_key(new_key()))

    answers = send_concurrently(api, alice, [create] * CONCURRENT_RETRIES)

    assert [r.status_code for r in answers] == [201] * CONCURRENT_RETRIES
    assert len({r.content for r in answers}) == 1
    assert len({r.headers["Location"] for r in answers}) == 1
    assert len({r.headers["ETag"] for r in answers}) == 1
    replayed = [r.headers.get("Idempotent-Replayed") for r in answers]
    assert sorted(replayed, key=str) == [None] + ["true"] * (CONCURRENT_RETRIES - 1)
    assert [task["id"] for task in list_all_tasks(api, alice)] == [answers[0].json()["id"]]


def test_without_a_key_every_post_creates(api: Api, alice: User) -> None:
    first = post_task(api, alice, {"title": "same"})
    second = post_task(api, alice, {"title": "same"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second.headers
    assert len(list_all_tasks(api, alice)) == 2


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "tab\there"])
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_422(
    api: Api, alice: User, key: str
) -> None:
    response = post_task(api, alice, {"title": "t"}, headers=with_key(key))

    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert list_all_tasks(api, alice) == []


def test_a_key_of_255_printable_characters_is_accepted(api: Api, alice: User) -> None:
    key = "".join(chr(c) for c in range(0x21, 0x7F)) * 3  # 94 * 3 = 282
    key = key[:255]

    first = post_task(api, alice, {"title": "t"}, headers=with_key(key))
    replay = post_task(api, alice, {"title": "t"}, headers=with_key(key))

    assert first.status_code == 201
    assert_replay_of(first, replay)


# Expiry


@pytest.fixture(scope="module")
def short_ttl_api(postgres: PostgresServer, contract: Contract) -> Iterator[Api]:
    """A service of its own that keeps idempotency keys for one second."""
    with postgres.fresh_database("taskapi_idempotency") as url:
        settings = service_settings(url, IDEMPOTENCY_KEY_TTL=str(SHORT_TTL_SECONDS))
        with (
            running_service(settings, LOG_DIR / "service-idempotency.log") as base_url,
            httpx.Client(base_url=base_url, timeout=10) as http,
        ):
            yield Api(http, contract)


def test_a_key_older_than_its_ttl_is_new_again(short_ttl_api: Api) -> None:
    api, carol, key = short_ttl_api, new_user("carol"), new_key()
    first = post_task(api, carol, {"title": "t"}, headers=with_key(key))
    replay = post_task(api, carol, {"title": "t"}, headers=with_key(key))

    time.sleep(SHORT_TTL_SECONDS + 1)
    after_expiry = post_task(api, carol, {"title": "t"}, headers=with_key(key))

    assert first.status_code == 201
    assert_replay_of(first, replay)
    assert after_expiry.status_code == 201
    assert "Idempotent-Replayed" not in after_expiry.headers
    assert after_expiry.json()["id"] != first.json()["id"]
    assert len(list_all_tasks(api, carol)) == 2


def test_an_expired_key_may_be_used_with_another_body(short_ttl_api: Api) -> None:
    api, carol, key = short_ttl_api, new_user("carol"), new_key()
    post_task(api, carol, {"title": "first"}, headers=with_key(key))

    time.sleep(SHORT_TTL_SECONDS + 1)
    other = post_task(api, carol, {"title": "second"}, headers=with_key(key))

    assert other.status_code == 201
    assert other.json()["title"] == "second"
