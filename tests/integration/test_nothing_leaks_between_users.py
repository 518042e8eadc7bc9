"""What alice is handed tells her nothing of what other users do.

Given alice and bob on one service, whatever bob writes: no part of alice's cursors and sync
tokens can be read (they are encrypted, so they show no transaction counter), and her task ids
are drawn at random from 1 to 2^53 - 1, the largest integer a JavaScript client reads exactly
(so they show no sequence). The (astronomically rare) draw of an id the user already holds is
drawn again, and an id that once belonged to a deleted task can be given, deleted and synced
again like any other.
"""

import base64
import binascii
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import (
    LOG_DIR,
    Api,
    OwnDatabaseService,
    User,
    new_user,
    service_on_fresh_database,
)
from tests.support.contract import Contract
from tests.support.listing import list_page
from tests.support.postgres import PostgresServer, execute
from tests.support.sync import changes_path, sync
from tests.support.writes import create_task

MAX_SAFE_INTEGER = 2**53 - 1
# Random ids this far apart are all but certain (the odds against are about one in a million).
FAR_APART = 2**32


def readable_parts(token: str) -> list[str]:
    """The parts of `token` that decode, as base64url, to text (JSON, say)."""
    readable = []
    for part in token.split("."):
        try:
            readable.append(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode())
        except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
            continue
    return readable


def bob_creates(api: Api, bob: User, count: int) -> None:
    for number in range(count):
        create_task(api, bob, title=f"bob's {number}")


def test_a_list_cursor_reads_as_nothing(api: Api, alice: User, bob: User) -> None:
    # given alice's tasks, and bob's writes
    for title in ("one", "two"):
        create_task(api, alice, title=title)
    bob_creates(api, bob, 3)

    # when alice pages through hers
    cursor = list_page(api, alice, [("limit", "1")])["next_cursor"]

    # then her cursor holds nothing she can read
    assert isinstance(cursor, str)
    assert readable_parts(cursor) == []


def test_sync_tokens_read_as_nothing_whatever_bob_writes(api: Api, alice: User, bob: User) -> None:
    # given alice's sync token
    create_task(api, alice, title="mine")
    before = sync(api, alice).token

    # when bob creates 10 tasks and alice syncs again
    bob_creates(api, bob, 10)
    after = sync(api, alice, since=before).token

    # then neither token holds anything she can read (no snapshot of the database's transactions)
    assert readable_parts(before) == []
    assert readable_parts(after) == []


def test_a_changes_cursor_reads_as_nothing(api: Api, alice: User, bob: User) -> None:
    for title in ("one", "two"):
        create_task(api, alice, title=title)
    bob_creates(api, bob, 3)

    response = api.request("GET", changes_path(alice, limit=1), token=alice.token)

    cursor = response.json()["next_cursor"]
    assert isinstance(cursor, str)
    assert readable_parts(cursor) == []


def test_alices_next_id_says_nothing_of_bobs_creates(api: Api, alice: User, bob: User) -> None:
    # given alice's task
    first = create_task(api, alice, title="first")["id"]

    # when bob creates 7 tasks, and alice one more
    bob_creates(api, bob, 7)
    second = create_task(api, alice, title="second")["id"]

    # then the gap between her ids is not bob's count plus one, nor anything like a count
    assert second - first != 8
    assert abs(second - first) > FAR_APART


def test_task_ids_are_spread_over_the_integers_a_javascript_client_reads_exactly(
    api: Api, alice: User
) -> None:
    ids = [create_task(api, alice, title=f"task {n}")["id"] for n in range(20)]

    assert all(1 <= task_id <= MAX_SAFE_INTEGER for task_id in ids)
    assert len(set(ids)) == len(ids)
    assert max(ids) > 2**40


# ---------------------------------------------------------------------------------------------
# Ids drawn twice: a service whose draws are rigged to give 42 again at chosen moments

RIGGED_ID = 42


def rig_draws(database_url: str, draws_of_42: tuple[int, ...]) -> None:
    """The n-th id drawn is 42 for each n in `draws_of_42`, and drawn as before otherwise."""
    execute(
        database_url,
        f"""
        CREATE SEQUENCE rigged_draws;
        ALTER FUNCTION random_task_id() RENAME TO fair_task_id;
        CREATE FUNCTION random_task_id() RETURNS bigint LANGUAGE sql VOLATILE AS $$
            SELECT CASE WHEN nextval('rigged_draws') IN ({", ".join(map(str, draws_of_42))})
                        THEN {RIGGED_ID} ELSE fair_task_id() END
        $$;
        ALTER TABLE tasks ALTER COLUMN id SET DEFAULT random_task_id();
        """,
    )


@pytest.fixture
def rigged(postgres: PostgresServer) -> Iterator[OwnDatabaseService]:
    with service_on_fresh_database(
        postgres, "taskapi_rigged_ids", LOG_DIR / "service-rigged-ids.log"
    ) as service:
        yield service


@pytest.fixture
def rigged_api(rigged: OwnDatabaseService, contract: Contract) -> Iterator[Api]:
    with httpx.Client(base_url=rigged.base_url, timeout=10) as http:
        yield Api(http, contract)


def test_an_id_the_user_already_holds_is_drawn_again(
    rigged: OwnDatabaseService, rigged_api: Api
) -> None:
    # given draws that give 42 first, then 42 again twice, each time to a user who holds 42
    rig_draws(rigged.database_url, (1, 2, 4))
    alice = new_user("alice")
    holder = create_task(rigged_api, alice, title="holds 42")

    # when alice creates a task, then another under an Idempotency-Key
    plain = create_task(rigged_api, alice, title="plain")
    keyed = rigged_api.request(
        "POST",
        alice.tasks_path,
        token=alice.token,
        json={"title": "keyed"},
        headers={"Idempotency-Key": "rigged-1"},
    )

    # then each is created, under an id of its own
    assert keyed.status_code == 201, keyed.text
    ids = [holder["id"], plain["id"], keyed.json()["id"]]
    assert ids[0] == RIGGED_ID
    assert len(set(ids)) == 3
    listed = rigged_api.request("GET", alice.tasks_path, token=alice.token).json()["items"]
    assert sorted(task["id"] for task in listed) == sorted(ids)


def test_two_users_may_hold_the_same_id(rigged: OwnDatabaseService, rigged_api: Api) -> None:
    rig_draws(rigged.database_url, (1, 2))
    alice, bob = new_user("alice"), new_user("bob")

    alices = create_task(rigged_api, alice, title="alice's")
    bobs = create_task(rigged_api, bob, title="bob's")

    assert alices["id"] == bobs["id"] == RIGGED_ID
    assert rigged_api.request("GET", alice.task_path(RIGGED_ID), token=alice.token).json() == alices


def changes_since(api: Api, user: User, token: str) -> tuple[list[dict[str, Any]], list[int]]:
    changes = sync(api, user, since=token)
    return changes.items, changes.deleted


def test_the_id_of_a_task_in_the_trash_is_not_given_again(
    rigged: OwnDatabaseService, rigged_api: Api
) -> None:
    # given a task of alice's in the trash, and its id drawn again for a new task
    rig_draws(rigged.database_url, (1, 2))
    alice = new_user("alice")
    old = create_task(rigged_api, alice, title="old")
    deleted = rigged_api.request("DELETE", alice.task_path(old["id"]), token=alice.token)
    assert deleted.status_code == 204, deleted.text

    # when the new task is created, then it gets another id, and the old one comes back with its
    new = create_task(rigged_api, alice, title="new")
    restore = f"/api/{alice.id}/trash/tasks/{RIGGED_ID}/restore"
    restored = rigged_api.request("POST", restore, token=alice.token)

    assert old["id"] == RIGGED_ID != new["id"]
    assert (restored.status_code, restored.json()["title"]) == (200, "old")


def test_the_id_of_a_deleted_task_can_be_given_deleted_and_synced_again(
    rigged: OwnDatabaseService, rigged_api: Api
) -> None:
    # given a task of alice's that her replica holds, deleted and removed from the trash for
    # good, and its id drawn for a new task
    rig_draws(rigged.database_url, (1, 2))
    alice = new_user("alice")
    old = create_task(rigged_api, alice, title="old")
    synced = sync(rigged_api, alice).token
    deleted = rigged_api.request("DELETE", alice.task_path(old["id"]), token=alice.token)
    assert deleted.status_code == 204, deleted.text
    removed = rigged_api.request(
        "DELETE", f"/api/{alice.id}/trash/tasks/{old['id']}", token=alice.token
    )
    assert removed.status_code == 204, removed.text
    new = create_task(rigged_api, alice, title="new")
    assert new["id"] == old["id"] == RIGGED_ID

    # when her replica syncs, then it gets the new task and no deletion it could apply after it
    assert changes_since(rigged_api, alice, synced) == ([new], [])

    # and when the new task is deleted too, then that deletion is synced like any other
    again = rigged_api.request("DELETE", alice.task_path(new["id"]), token=alice.token)
    assert again.status_code == 204, again.text
    assert changes_since(rigged_api, alice, synced) == ([], [RIGGED_ID])
