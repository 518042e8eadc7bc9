"""An unexpected error is logged with its stack trace and answered with a generic 500."""

import asyncio
import logging

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from impl.middleware import RequestContextMiddleware


class SecretLeakingBug(RuntimeError):
    pass


async def failing_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise SecretLeakingBug("connection string postgresql://u:hunter2@db/x")


def call(app: RequestContextMiddleware, headers: dict[str, str] | None = None) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/api/u/tasks", headers=headers)

    return asyncio.run(get())


def test_unexpected_error_is_a_generic_500_naming_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="impl.middleware"):
        response = call(RequestContextMiddleware(failing_app), {"X-Request-ID": "req-12345678"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-12345678"
    assert response.json() == {
        "error": "internal_error",
        "message": "An unexpected error occurred.",
        "details": {"request_id": "req-12345678"},
    }
    assert "hunter2" not in response.text
    (record,) = caplog.records
    assert "req-12345678" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is SecretLeakingBug


@pytest.mark.parametrize("offered", ["short", "has space in it", "x" * 65, "semi;colon-id"])
def test_unusable_request_id_is_replaced(offered: str) -> None:
    response = call(RequestContextMiddleware(failing_app), {"X-Request-ID": offered})

    assert response.headers["X-Request-ID"] != offered
    assert len(response.headers["X-Request-ID"]) == 32
