"""An unexpected error is logged with its stack trace and answered with a generic 500."""

import asyncio
import io
import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from impl.error_handlers import register_error_handlers
from impl.lifecycle import Lifecycle
from impl.middleware import RequestContextMiddleware
from impl.observability.logs import ACCESS_LOGGER, AccessLog, UserIdHasher
from impl.observability.observer import Observer


class SecretLeakingBug(RuntimeError):
    pass


async def failing_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise SecretLeakingBug("connection string postgresql://u:hunter2@db/x")


def call(headers: dict[str, str] | None = None, log: io.StringIO | None = None) -> httpx.Response:
    access_log = AccessLog(UserIdHasher("k" * 32), "json", log or io.StringIO())
    app = RequestContextMiddleware(
        failing_app, Observer(None, None, access_log), Lifecycle(drain_seconds=0)
    )

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/api/u/tasks", headers=headers)

    return asyncio.run(get())


def test_unexpected_error_is_a_generic_500_naming_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="impl.middleware"):
        response = call()

    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert response.json() == {
        "error": "internal_error",
        "message": "An unexpected error occurred.",
        "details": {"request_id": request_id},
    }
    assert "hunter2" not in response.text
    (record,) = caplog.records
    assert request_id in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is SecretLeakingBug


def access_line(log: io.StringIO) -> dict[str, object]:
    (line,) = log.getvalue().splitlines()
    entry: dict[str, object] = json.loads(line)
    assert entry["logger"] == ACCESS_LOGGER
    return entry


def test_client_request_id_is_kept_as_the_correlation_id_beside_the_servers_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = io.StringIO()
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        response = call({"X-Request-ID": "req-12345678"}, log)

    request_id = response.headers["X-Request-ID"]
    assert request_id != "req-12345678"
    assert len(request_id) == 32
    entry = access_line(log)
    assert entry["request_id"] == request_id
    assert entry["correlation_id"] == "req-12345678"
    assert entry["status"] == 500


@pytest.mark.parametrize("offered", ["short", "has space in it", "x" * 65, "semi;colon-id"])
def test_unusable_request_id_is_no_correlation_id(
    offered: str, caplog: pytest.LogCaptureFixture
) -> None:
    log = io.StringIO()
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        response = call({"X-Request-ID": offered}, log)

    assert response.headers["X-Request-ID"] != offered
    assert len(response.headers["X-Request-ID"]) == 32
    assert access_line(log)["correlation_id"] is None


async def brew_coffee() -> None:
    raise HTTPException(status_code=418)


def test_a_framework_error_with_no_code_of_its_own_is_an_unexpected_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the framework raising a status the catalog has no code for
    app = FastAPI()
    app.add_api_route("/coffee", brew_coffee)
    register_error_handlers(app, app.routes, Observer(None, None, None))

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/coffee")

    # When it is raised
    with caplog.at_level(logging.ERROR, logger="impl.error_handlers"):
        response = asyncio.run(get())

    # Then the client gets the generic 500, and the log names the status
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    (record,) = caplog.records
    assert "418" in record.getMessage()
