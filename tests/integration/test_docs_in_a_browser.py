"""/docs and /redoc in headless Chromium with every host but 127.0.0.1 unresolvable.

Swagger UI authorizes with a real token and runs "Try it out" on create and list; ReDoc shows every
operation of openapi.yaml; nothing the pages load comes from anywhere but the service itself.
"""

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from impl.docs import CONTENT_SECURITY_POLICY, INSTALL_COMMAND, missing_assets
from tests.conftest import User, new_user
from tests.support.browser import PLAYWRIGHT_DIR, run_browser_script
from tests.support.contract import Contract

BROWSING_TIMEOUT_SECONDS = 90
# Schemes a page may use without a request leaving the machine.
LOCAL_SCHEMES = ("data", "blob", "about")


@dataclass(frozen=True)
class Browsing:
    user: User
    title: str
    result: dict[str, Any]
    # The user's task titles as the API lists them right after the browsing (each test starts
    # from an empty table, so it is read here).
    stored_titles: list[str]


@pytest.fixture(scope="module")
def browsing(service_url: str, contract: Contract) -> Browsing:
    if missing_assets() or not PLAYWRIGHT_DIR.is_dir():
        pytest.fail(f"Swagger UI, ReDoc or playwright-core is missing: run `{INSTALL_COMMAND}`")
    user = new_user("docs")
    title = f"From Swagger UI {uuid.uuid4().hex[:8]}"
    operations = [
        {"operationId": operation_id, "summary": _summary(contract, method, path)}
        for method, path, operation_id in sorted(contract.operations())
    ]
    env = {
        "BASE_URL": service_url,
        "TOKEN": user.token,
        "USER_ID": user.id,
        "TITLE": title,
        "OPERATIONS": json.dumps(operations),
    }
    result = run_browser_script("docs.mjs", env, BROWSING_TIMEOUT_SECONDS)
    listed = httpx.get(
        f"{service_url}{user.tasks_path}", headers={"Authorization": f"Bearer {user.token}"}
    ).json()
    return Browsing(user, title, result, [task["title"] for task in listed["items"]])


def _summary(contract: Contract, method: str, path: str) -> str:
    summary: str = contract.document["paths"][path][method.lower()]["summary"]
    return summary


def test_the_pages_load_without_errors(browsing: Browsing) -> None:
    # Any CSP violation, script error or failed step is listed (screenshots in reports/browser).
    assert browsing.result["problems"] == []


def test_try_it_out_creates_a_task_with_the_token_from_authorize(
    browsing: Browsing, service_url: str
) -> None:
    create = browsing.result["swagger"]["create"]

    assert create["status"] == "201"
    assert json.loads(create["body"])["title"] == browsing.title
    assert create["requestUrl"] == f"{service_url}{browsing.user.tasks_path}"
    assert browsing.stored_titles == [browsing.title]


def test_try_it_out_lists_the_task(browsing: Browsing) -> None:
    listed = browsing.result["swagger"]["list"]

    assert listed["status"] == "200"
    assert [task["title"] for task in json.loads(listed["body"])["items"]] == [browsing.title]


def test_redoc_shows_every_operation(browsing: Browsing, contract: Contract) -> None:
    shown = browsing.result["redoc"]

    assert set(shown) == {operation_id for _, _, operation_id in contract.operations()}
    for operation_id, found in shown.items():
        assert found["found"], operation_id
        assert found["heading"] == found["summary"], operation_id


def test_no_request_leaves_the_machine(browsing: Browsing, service_url: str) -> None:
    urls = [request.split(" ", 1)[1] for request in browsing.result["requests"]]
    remote = [
        url
        for url in urls
        if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).hostname != "127.0.0.1"
    ]

    assert remote == []
    assert f"{service_url}/openapi.json" in urls


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_pages_allow_only_their_own_origin(http: httpx.Client, path: str) -> None:
    response = http.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "https://" not in response.text
