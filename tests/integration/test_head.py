"""HEAD on every GET resource answers as GET does, without the body (RFC 9110, 9.3.2)."""

import httpx
import pytest

from tests.conftest import Api, User

# The headers a HEAD must give as its GET does (Date and the request id differ per answer).
COMPARED_HEADERS = ("content-type", "content-length", "etag", "www-authenticate", "retry-after")


# A representation may change between two requests (a sync token names the database's
# snapshot, which other transactions move, autoanalyze's among them, and may move back in
# length: a transaction in progress only while the HEAD ran lengthens its token alone). So a
# HEAD is compared with a GET on each side of it, all three taken again until the GETs agree
# with each other and with the HEAD; a HEAD that differs from its GET every time fails.
ATTEMPTS = 5


def assert_head_mirrors_get(http: httpx.Client, path: str, headers: dict[str, str]) -> None:
    seen: list[tuple[dict[str, str | None], ...]] = []
    for _ in range(ATTEMPTS):
        before = http.get(path, headers=headers)
        head = http.head(path, headers=headers)
        after = http.get(path, headers=headers)
        assert head.content == b""
        assert head.status_code == before.status_code
        if compared(before) == compared(head) == compared(after):
            return
        seen.append((compared(before), compared(head), compared(after)))
    pytest.fail(f"{path}: HEAD and GET disagreed on every one of {ATTEMPTS} attempts: {seen}")


def compared(response: httpx.Response) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in COMPARED_HEADERS}


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


@pytest.mark.parametrize("suffix", ["", "/changes", "/{id}"])
def test_head_of_a_task_resource_is_its_get_without_the_body(
    api: Api, alice: User, suffix: str
) -> None:
    task = api.request("POST", alice.tasks_path, token=alice.token, json={"title": "t"}).json()
    path = alice.tasks_path + suffix.replace("{id}", str(task["id"]))

    assert_head_mirrors_get(api.http, path, auth(alice))


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/openapi.json", "/docs"])
def test_head_of_the_service_paths_is_their_get_without_the_body(
    http: httpx.Client, path: str
) -> None:
    assert_head_mirrors_get(http, path, {})


def test_head_answers_the_errors_get_answers(api: Api, alice: User, bob: User) -> None:
    assert_head_mirrors_get(api.http, alice.tasks_path, {})
    assert_head_mirrors_get(api.http, alice.tasks_path, auth(bob))
    assert_head_mirrors_get(api.http, alice.task_path(999_999_999), auth(alice))
    assert_head_mirrors_get(api.http, alice.task_path("052"), auth(alice))


def test_a_conditional_head_is_304_like_a_conditional_get(api: Api, alice: User) -> None:
    created = api.request("POST", alice.tasks_path, token=alice.token, json={"title": "t"})
    headers = {**auth(alice), "If-None-Match": created.headers["ETag"]}

    assert_head_mirrors_get(api.http, alice.task_path(created.json()["id"]), headers)
    assert api.http.head(alice.task_path(created.json()["id"]), headers=headers).status_code == 304


def test_head_is_listed_in_allow_where_get_is(http: httpx.Client) -> None:
    response = http.request("POST", "/api/u/tasks/changes")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
