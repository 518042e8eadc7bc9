"""How the built app routes a request before any operation runs: a 405 names every method the path
serves, a trailing slash is a 404 rather than a redirect, and the service's own paths answer beside
the contract's.

In-process, on a database the app never reaches: routing, authentication and these answers need
none.
"""

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from impl.app import create_app
from impl.db.url import normalize_database_url
from impl.settings import Settings

UNREACHED_DATABASE = "postgresql://taskapi@127.0.0.1:9/unreached"


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = Settings(
        _env_file=None,
        database_url=UNREACHED_DATABASE,
        auth_mode="hs256",
        better_auth_secret="s" * 32,
        metrics_enabled=True,
        access_log=False,
        tracing_enabled=False,
    )
    return create_app(
        settings, normalize_database_url(UNREACHED_DATABASE, connect_timeout_seconds=1)
    )


def request(app: FastAPI, method: str, path: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path)

    return asyncio.run(send())


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/u/tasks", "GET, HEAD, POST"),
        ("POST", "/api/u/tasks/1", "DELETE, GET, HEAD, PATCH, PUT"),
        ("GET", "/api/u/tasks/1/complete", "PATCH"),
        ("POST", "/health/live", "GET, HEAD"),
        ("POST", "/metrics", "GET, HEAD"),
    ],
)
def test_a_method_the_path_does_not_serve_is_405_naming_every_one_it_does(
    app: FastAPI, method: str, path: str, allowed: str
) -> None:
    response = request(app, method, path)

    assert response.status_code == 405
    assert response.headers["Allow"] == allowed


@pytest.mark.parametrize("path", ["/api/u/tasks/", "/health/live/"])
def test_a_trailing_slash_is_404_not_a_redirect(app: FastAPI, path: str) -> None:
    response = request(app, "GET", path)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("path", "status"),
    [("/health/live", 200), ("/api/u/tasks", 401), ("/openapi.json", 200), ("/metrics", 200)],
)
def test_the_contracts_paths_and_the_services_own_are_served(
    app: FastAPI, path: str, status: int
) -> None:
    assert request(app, "GET", path).status_code == status
