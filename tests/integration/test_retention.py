"""Expired idempotency keys, deleted ids and items of the trash go for every user, whether or not
they write again."""

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from impl.db.migrations import connect
from tests.conftest import LOG_DIR, OwnDatabaseService, new_user, service_on_fresh_database
from tests.support.postgres import PostgresServer, target
from tests.support.server import taskapi_command
from tests.support.tokens import SECRET

PURGE_WAIT_SECONDS = 30
# Long past the default retentions (24 hours for keys, 30 days for deleted ids and the trash).
LONG_AGO = "interval '60 days'"
KEY = "retention-key-1"
# What `write_then_delete` leaves in the trash, two items (the task, the list) and what they hold,
# and in the task's history (its creation and deletion).
KEPT_IN_TRASH = 6


def sql(url: str, statement: str, *arguments: object) -> list[tuple[object, ...]]:
    async def run() -> list[tuple[object, ...]]:
        connection = await connect(target(url))
        try:
            return [tuple(row) for row in await connection.fetch(statement, *arguments)]
        finally:
            await connection.close()

    return asyncio.run(run())


def kept_for(url: str, user_id: str) -> tuple[int, int, int, int]:
    """How many idempotency keys, deleted task ids, deleted list ids, and rows of the trash (its
    items, and the tasks and lists they hold) and of tasks' history the database still holds for
    the user."""
    ((keys, deletions, list_deletions, trash),) = sql(
        url,
        "SELECT (SELECT count(*) FROM idempotency_keys WHERE user_id = $1),"
        " (SELECT count(*) FROM task_deletions WHERE user_id = $1),"
        " (SELECT count(*) FROM task_list_deletions WHERE user_id = $1),"
        " (SELECT count(*) FROM trash WHERE user_id = $1)"
        " + (SELECT count(*) FROM trashed_tasks WHERE user_id = $1)"
        " + (SELECT count(*) FROM trashed_lists WHERE user_id = $1)"
        " + (SELECT count(*) FROM task_history WHERE user_id = $1)",
        user_id,
    )
    return int(str(keys)), int(str(deletions)), int(str(list_deletions)), int(str(trash))


def age(url: str, user_id: str) -> None:
    """As if the user's keys, deleted ids and trash had been written long ago."""
    sql(
        url,
        f"WITH k AS (UPDATE idempotency_keys SET created_at = created_at - {LONG_AGO}"
        f" WHERE user_id = $1), l AS (UPDATE task_list_deletions"
        f" SET deleted_at = deleted_at - {LONG_AGO} WHERE user_id = $1),"
        f" t AS (UPDATE trash SET trashed_at = trashed_at - {LONG_AGO} WHERE user_id = $1),"
        f" h AS (UPDATE task_history SET recorded_at = recorded_at - {LONG_AGO}"
        " WHERE user_id = $1)"
        f" UPDATE task_deletions SET deleted_at = deleted_at - {LONG_AGO} WHERE user_id = $1",
        user_id,
    )


def wait_until_purged(url: str, user_id: str) -> None:
    deadline = time.monotonic() + PURGE_WAIT_SECONDS
    while kept_for(url, user_id) != (0, 0, 0, 0):
        assert time.monotonic() < deadline, f"still kept after {PURGE_WAIT_SECONDS}s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def purging_service(postgres: PostgresServer) -> Iterator[OwnDatabaseService]:
    """A service with the default retentions whose job runs a round every 0.2 s."""
    with service_on_fresh_database(
        postgres,
        "taskapi_retention",
        LOG_DIR / "service-retention.log",
        RETENTION_INTERVAL_SECONDS="0.2",
    ) as service:
        yield service


def write_then_delete(base_url: str) -> tuple[str, int]:
    """A user creates a task under an idempotency key and deletes it, and a list, deleted too;
    returns who and which task."""
    user = new_user("leaver")
    auth = {"Authorization": f"Bearer {user.token}"}
    with httpx.Client(base_url=base_url, headers=auth, timeout=10) as client:
        created = client.post(
            user.tasks_path, json={"title": "a secret plan"}, headers={"Idempotency-Key": KEY}
        )
        assert created.status_code == 201
        task_id = created.json()["id"]
        assert client.delete(user.task_path(task_id)).status_code == 204
        list_id = client.post(user.lists_path, json={"name": "a secret list"}).json()["id"]
        deleted = client.delete(user.list_path(list_id), params={"tasks": "delete"})
        assert deleted.status_code == 204
    return user.id, task_id


def test_a_user_who_never_writes_again_keeps_nothing_past_its_retention(
    purging_service: OwnDatabaseService,
) -> None:
    # given a user who wrote once (a key holding the task's title, deleted ids, the trash) and
    # left
    url = purging_service.database_url
    user_id, _ = write_then_delete(purging_service.base_url)
    assert kept_for(url, user_id) == (1, 1, 1, KEPT_IN_TRASH)

    # when their retention has passed, with no write of theirs since
    age(url, user_id)

    # then the service's own job deletes both
    wait_until_purged(url, user_id)


def test_what_is_still_within_its_retention_is_kept(purging_service: OwnDatabaseService) -> None:
    url = purging_service.database_url
    kept_user, _ = write_then_delete(purging_service.base_url)
    aged_user, _ = write_then_delete(purging_service.base_url)

    age(url, aged_user)
    wait_until_purged(url, aged_user)

    assert kept_for(url, kept_user) == (1, 1, 1, KEPT_IN_TRASH)


def test_a_sync_token_still_in_date_sees_the_deletion(
    purging_service: OwnDatabaseService,
) -> None:
    # given a sync token taken before a deletion, and the job running rounds since
    user = new_user("syncer")
    auth = {"Authorization": f"Bearer {user.token}"}
    with httpx.Client(base_url=purging_service.base_url, headers=auth, timeout=10) as client:
        task_id = client.post(user.tasks_path, json={"title": "t"}).json()["id"]
        token = client.get(f"{user.tasks_path}/changes").json()["sync_token"]
        assert client.delete(user.task_path(task_id)).status_code == 204
        wait_until_purged_elsewhere(purging_service)

        # when the client syncs
        changes = client.get(f"{user.tasks_path}/changes", params={"since": token})

    # then the deleted id is still there to be told
    assert changes.status_code == 200
    assert changes.json()["deleted"] == [task_id]


def wait_until_purged_elsewhere(service: OwnDatabaseService) -> None:
    """A full round of the job has run: another user's aged rows are gone."""
    other, _ = write_then_delete(service.base_url)
    age(service.database_url, other)
    wait_until_purged(service.database_url, other)


def test_taskapi_purge_deletes_every_expired_row_in_batches(postgres: PostgresServer) -> None:
    # given more expired rows than one batch holds, on a database no job purges
    with postgres.fresh_database("taskapi_purge") as url:
        settings = {"DATABASE_URL": url, "BETTER_AUTH_SECRET": SECRET}
        migrated = taskapi_command(settings, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        user_id = f"old_{uuid.uuid4().hex[:8]}"
        sql(
            url,
            "INSERT INTO idempotency_keys (user_id, key, request_hash, response, created_at)"
            f" SELECT $1, 'k' || n, '\\x00', '\\x00', now() - {LONG_AGO}"
            " FROM generate_series(1, 2500) AS n",
            user_id,
        )
        sql(
            url,
            "INSERT INTO task_deletions (user_id, task_id, deleted_at)"
            f" SELECT $1, n, now() - {LONG_AGO} FROM generate_series(1, 1200) AS n",
            user_id,
        )
        sql(
            url,
            "INSERT INTO task_list_deletions (user_id, list_id, deleted_at)"
            f" SELECT $1, n, now() - {LONG_AGO} FROM generate_series(1, 1100) AS n",
            user_id,
        )
        sql(
            url,
            "WITH items AS (INSERT INTO trash (user_id, kind, item_id, version, task_count,"
            f" trashed_at) SELECT $1, 'list', n, 1, 0, now() - {LONG_AGO}"
            " FROM generate_series(1, 1050) AS n RETURNING item_id)"
            " INSERT INTO trashed_lists (user_id, id, name, position, archived, version,"
            " created_at, updated_at) SELECT $1, item_id, 'old', 'a', false, 1, now(), now()"
            " FROM items",
            user_id,
        )
        sql(
            url,
            "INSERT INTO task_history (user_id, task_id, version, deleted, change, changed,"
            " recorded_at, title, completed, created_at, updated_at, priority, tags, list_id,"
            " position, reminders)"
            f" SELECT $1, 1, n, 0, 'edited', '{{}}', now() - {LONG_AGO}, 'old', false, now(),"
            " now(), 'medium', '{}', 1, 'a', '[]' FROM generate_series(1, 1020) AS n",
            user_id,
        )
        sql(url, "INSERT INTO task_deletions (user_id, task_id) VALUES ('recent', 1)")
        sql(
            url,
            "INSERT INTO trash (user_id, kind, item_id, version, task_count)"
            " VALUES ('recent', 'list', 1, 1, 0)",
        )
        sql(url, "INSERT INTO task_list_deletions (user_id, list_id) VALUES ('recent', 1)")

        # when `taskapi purge` runs, as from cron
        purged = taskapi_command(settings, "purge")
        left = (kept_for(url, user_id), kept_for(url, "recent"))

    # then every expired row is gone and the recent one stays
    assert purged.returncode == 0, purged.stderr
    assert (
        "purged 2500 idempotency key(s), 1200 deleted task id(s), 1100 deleted list id(s),"
        " 1050 item(s) of the trash and 1020 version(s) of tasks" in purged.stdout
    )
    assert left == ((0, 0, 0, 0), (0, 1, 1, 1))


def test_the_purge_leaves_an_expired_item_a_restore_holds_to_it(postgres: PostgresServer) -> None:
    # given an expired item of the trash, held by a restore under way (its row locked)
    with postgres.fresh_database("taskapi_purge_held") as url:
        settings = {"DATABASE_URL": url, "BETTER_AUTH_SECRET": SECRET}
        assert taskapi_command(settings, "migrate").returncode == 0
        sql(
            url,
            "WITH item AS (INSERT INTO trash (user_id, kind, item_id, version, task_count,"
            f" trashed_at) VALUES ('held', 'list', 1, 1, 0, now() - {LONG_AGO}) RETURNING 1)"
            " INSERT INTO trashed_lists (user_id, id, name, position, archived, version,"
            " created_at, updated_at) SELECT 'held', 1, 'old', 'a', false, 1, now(), now()"
            " FROM item",
        )

        async def purge_while_held() -> str:
            restore = await connect(target(url))
            try:
                async with restore.transaction():
                    await restore.execute("SELECT FROM trash WHERE user_id = 'held' FOR UPDATE")
                    # when the purge runs meanwhile
                    purged = await asyncio.to_thread(taskapi_command, settings, "purge")
                    return purged.stdout
            finally:
                await restore.close()

        while_held = asyncio.run(purge_while_held())
        left_while_held = kept_for(url, "held")
        after = taskapi_command(settings, "purge")

    # then it does not wait for the restore and leaves the item; once free, it goes
    assert "0 item(s) of the trash" in while_held
    assert left_while_held == (0, 0, 0, 2)
    assert "1 item(s) of the trash" in after.stdout
