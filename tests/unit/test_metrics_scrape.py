"""A scrape of `/metrics` collects off the event loop, and answers exactly what the metrics hold.

In multi-process mode a scrape reads every worker's files; on the loop, each read would hold up
every request the worker serves meanwhile.
"""

import asyncio
import threading
from pathlib import Path

import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request

import impl.observability.metrics
from impl.observability.metrics import Metrics

SCRAPE: dict[str, object] = {"type": "http", "method": "GET", "path": "/metrics", "headers": []}


def scrape_in_a_loop(metrics: Metrics) -> tuple[int, str, bytes, threading.Thread]:
    async def scrape() -> tuple[int, str, bytes, threading.Thread]:
        response = await metrics.endpoint(Request(SCRAPE))
        return (
            response.status_code,
            response.headers["content-type"],
            bytes(response.body),
            threading.current_thread(),
        )

    return asyncio.run(scrape())


@pytest.fixture
def collecting_threads(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The threads the exposition is rendered on, one per scrape."""
    threads: list[threading.Thread] = []

    def recorded(registry: CollectorRegistry) -> bytes:
        threads.append(threading.current_thread())
        return generate_latest(registry)

    monkeypatch.setattr(impl.observability.metrics, "generate_latest", recorded)
    return threads


@pytest.mark.parametrize("mode", ["one process", "multi-process"])
def test_a_scrape_is_collected_off_the_event_loop(
    mode: str, tmp_path: Path, collecting_threads: list[threading.Thread]
) -> None:
    metrics = Metrics(tmp_path if mode == "multi-process" else None)

    _, _, _, loop_thread = scrape_in_a_loop(metrics)

    (collecting_thread,) = collecting_threads
    assert collecting_thread is not loop_thread


def test_a_scrape_answers_the_exposition_unchanged() -> None:
    metrics = Metrics(None)
    metrics.request_started()
    metrics.request_finished("/api/{user_id}/tasks", "GET", 200, 0.003)
    metrics.token_rejections.labels("expired").inc()

    status, content_type, body, _ = scrape_in_a_loop(metrics)

    assert status == 200
    assert content_type == CONTENT_TYPE_LATEST
    assert body == metrics.exposition()
    assert b'taskapi_auth_token_rejections_total{reason="expired"} 1.0' in body
