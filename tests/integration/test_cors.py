"""A browser frontend on an allowed origin can call the API; other origins get no CORS grant."""

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LOG_DIR, new_user, service_settings
from tests.support.postgres import PostgresServer
from tests.support.server import running_service

FRONTEND = "http://localhost:3000"


@pytest.fixture(scope="module")
def service_with_cors(postgres: PostgresServer) -> Iterator[str]:
    with postgres.fresh_database() as url:
        settings = service_settings(url, CORS_ORIGINS=f"{FRONTEND}, https://app.example.com")
        with running_service(settings, LOG_DIR / "service-cors.log") as base:
            yield base


def test_preflight_from_the_frontend_is_granted(service_with_cors: str) -> None:
    response = httpx.options(
        f"{service_with_cors}/api/alice/tasks",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_responses_to_the_frontend_expose_location_and_request_id(service_with_cors: str) -> None:
    user = new_user("frank")

    response = httpx.post(
        f"{service_with_cors}{user.tasks_path}",
        json={"title": "t"},
        headers={"Origin": FRONTEND, "Authorization": f"Bearer {user.token}"},
    )

    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    exposed = response.headers["Access-Control-Expose-Headers"]
    assert "Location" in exposed
    assert "X-Request-ID" in exposed


def test_errors_carry_cors_headers_too(service_with_cors: str) -> None:
    response = httpx.get(f"{service_with_cors}/api/alice/tasks", headers={"Origin": FRONTEND})

    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND


def test_other_origins_get_no_grant(service_with_cors: str) -> None:
    response = httpx.get(
        f"{service_with_cors}/health/live", headers={"Origin": "https://evil.example"}
    )

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_refused_preflight_is_an_error_in_the_contract_shape(service_with_cors: str) -> None:
    response = httpx.options(
        f"{service_with_cors}/api/alice/tasks",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "cors_preflight_rejected",
        "message": "Disallowed CORS origin",
        "details": None,
    }
