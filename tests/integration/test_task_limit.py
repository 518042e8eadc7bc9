"""A user holds at most MAX_TASKS_PER_USER tasks, also under concurrent creates."""

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LOG_DIR, Api, User, new_user, service_settings
from tests.support.contract import Contract
from tests.support.postgres import PostgresServer
from tests.support.server import running_service
from tests.support.writes import Call, create_task, list_all_tasks, post_task, send_concurrently

LIMIT = 3
CONCURRENT_CREATES = 10


@pytest.fixture(scope="module")
def limited_api(postgres: PostgresServer, contract: Contract) -> Iterator[Api]:
    """A service of its own whose users may hold 3 tasks each."""
    with postgres.fresh_database("taskapi_task_limit") as url:
        settings = service_settings(url, MAX_TASKS_PER_USER=str(LIMIT))
        with (
            running_service(settings, LOG_DIR / "service-task-limit.log") as base_url,
            httpx.Client(base_url=base_url, timeout=10) as http,
        ):
            yield Api(http, contract)


@pytest.fixture
def carol() -> User:
    return new_user("carol")


@pytest.fixture
def dave() -> User:
    return new_user("dave")


def fill(api: Api, user: User) -> list[int]:
    """Create tasks until `user` holds as many as allowed; their ids."""
    return [create_task(api, user, title=f"task {n}")["id"] for n in range(LIMIT)]


def assert_limit_reached(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    error = response.json()
    assert error["error"] == "task_limit_reached"
    assert error["details"] == {"limit": LIMIT}


def test_creating_past_the_limit_is_409_and_creates_nothing(limited_api: Api, carol: User) -> None:
    held = fill(limited_api, carol)

    response = post_task(limited_api, carol, {"title": "one too many"})

    assert_limit_reached(response)
    assert sorted(t["id"] for t in list_all_tasks(limited_api, carol)) == sorted(held)


def test_the_limit_is_per_user(limited_api: Api, carol: User, dave: User) -> None:
    fill(limited_api, carol)

    held = fill(limited_api, dave)

    assert len(held) == LIMIT
    assert_limit_reached(post_task(limited_api, dave, {"title": "one too many"}))


def test_deleting_a_task_frees_a_slot(limited_api: Api, carol: User) -> None:
    held = fill(limited_api, carol)

    deleted = limited_api.request("DELETE", carol.task_path(held[0]), token=carol.token)
    created = post_task(limited_api, carol, {"title": "in the freed slot"})
    one_more = post_task(limited_api, carol, {"title": "one too many"})

    assert deleted.status_code == 204
    assert created.status_code == 201
    assert_limit_reached(one_more)
    assert len(list_all_tasks(limited_api, carol)) == LIMIT


def test_updates_at_the_limit_still_succeed(limited_api: Api, carol: User) -> None:
    held = fill(limited_api, carol)

    replaced = limited_api.request(
        "PUT", carol.task_path(held[0]), token=carol.token, json={"title": "renamed"}
    )

    assert replaced.status_code == 200


def test_concurrent_creates_never_overshoot_the_limit(limited_api: Api, carol: User) -> None:
    creates = [
        Call("POST", carol.tasks_path, json={"title": f"racer {n}"})
        for n in range(CONCURRENT_CREATES)
    ]

    answers = send_concurrently(limited_api, carol, creates)

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] * LIMIT + [409] * (CONCURRENT_CREATES - LIMIT)
    for refused in (r for r in answers if r.status_code == 409):
        assert_limit_reached(refused)
    created = {r.json()["id"] for r in answers if r.status_code == 201}
    assert {t["id"] for t in list_all_tasks(limited_api, carol)} == created


def test_a_replay_at_the_limit_is_still_the_201_replay(limited_api: Api, carol: User) -> None:
    key = {"Idempotency-Key": "the-last-slot"}
    create_task(limited_api, carol, title="first")
    create_task(limited_api, carol, title="second")
    last = post_task(limited_api, carol, {"title": "third"}, headers=key)

    replay = post_task(limited_api, carol, {"title": "third"}, headers=key)

    assert last.status_code == 201
    assert replay.status_code == 201
    assert replay.content == last.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(list_all_tasks(limited_api, carol)) == LIMIT


def test_a_batch_creates_until_the_limit_and_refuses_the_rest(
    limited_api: Api, carol: User
) -> None:
    # given: one task held, room for two more
    create_task(limited_api, carol, title="held")
    creates = [{"op": "create", "body": {"title": f"new {n}"}} for n in range(4)]

    # when
    response = limited_api.request(
        "POST", f"{carol.tasks_path}/batch", token=carol.token, json={"operations": creates}
    )

    # then
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["status"] for result in results] == [201, 201, 409, 409]
    assert results[2]["error"]["details"] == {"limit": LIMIT}
    assert {t["title"] for t in list_all_tasks(limited_api, carol)} == {"held", "new 0", "new 1"}
    deleted = limited_api.request(
        "DELETE", carol.task_path(results[0]["task"]["id"]), token=carol.token
    )
    assert deleted.status_code == 204
    assert post_task(limited_api, carol, {"title": "room again"}).status_code == 201
    assert_limit_reached(post_task(limited_api, carol, {"title": "full again"}))


def test_the_limit_counts_tasks_outside_the_trash_and_a_restore_past_it_is_409(
    limited_api: Api, carol: User
) -> None:
    # given a full user who deleted a task (now in the trash) and took its slot
    held = fill(limited_api, carol)
    limited_api.request("DELETE", carol.task_path(held[0]), token=carol.token)
    assert post_task(limited_api, carol, {"title": "in the freed slot"}).status_code == 201

    # when the deleted task is restored
    restore = f"/api/{carol.id}/trash/tasks/{held[0]}/restore"
    refused = limited_api.request("POST", restore, token=carol.token)

    # then it is refused as a create would be, and stays in the trash until there is room
    assert_limit_reached(refused)
    assert len(list_all_tasks(limited_api, carol)) == LIMIT
    limited_api.request("DELETE", carol.task_path(held[1]), token=carol.token)
    assert limited_api.request("POST", restore, token=carol.token).status_code == 200


def test_a_list_whose_tasks_would_pass_the_limit_is_not_restored(
    limited_api: Api, carol: User
) -> None:
    # given a list deleted with two tasks, and the slots they freed taken
    created = limited_api.request("POST", carol.lists_path, token=carol.token, json={"name": "L"})
    list_id = created.json()["id"]
    for n in range(2):
        create_task(limited_api, carol, title=f"in L {n}", list_id=list_id)
    path = f"{carol.list_path(list_id)}?tasks=delete"
    assert limited_api.request("DELETE", path, token=carol.token).status_code == 204
    fill(limited_api, carol)

    # when the list is restored
    refused = limited_api.request(
        "POST", f"/api/{carol.id}/trash/lists/{list_id}/restore", token=carol.token
    )

    # then neither it nor its tasks come back
    assert_limit_reached(refused)
    assert (
        limited_api.request("GET", carol.list_path(list_id), token=carol.token).status_code == 404
    )


def test_a_restore_in_a_batch_past_the_limit_is_refused_and_stays_in_the_trash(
    limited_api: Api, carol: User
) -> None:
    # given a full user with a task in the trash
    held = fill(limited_api, carol)
    limited_api.request("DELETE", carol.task_path(held[0]), token=carol.token)
    create_task(limited_api, carol, title="in the freed slot")

    # when a batch restores it
    response = limited_api.request(
        "POST",
        f"{carol.tasks_path}/batch",
        token=carol.token,
        json={"operations": [{"op": "restore", "task_id": held[0]}]},
    )

    # then that operation is refused, and the task is still in the trash, whole
    [result] = response.json()["results"]
    assert result["status"] == 409
    trash = limited_api.request("GET", f"/api/{carol.id}/trash", token=carol.token).json()
    assert [item["id"] for item in trash["items"]] == [held[0]]
    assert len(list_all_tasks(limited_api, carol)) == LIMIT
