"""OpenTelemetry tracing, off by default: a server span per request, a client span per statement,
joined to the caller's trace by `traceparent`.

The first tests serve the app in this process, over real HTTP, with an in-memory exporter; the
last runs `serve` with TRACING_ENABLED and reads what its OTLP exporter sends to a collector
stand-in on loopback.
"""

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from impl.app import create_app
from impl.observability.tracing import Tracing
from impl.settings import Settings
from tests.conftest import LOG_DIR, User, new_user, service_settings
from tests.support.locks import wait_until
from tests.support.postgres import target
from tests.support.server import free_port, running_service
from tests.support.tokens import SECRET

TASKS_ROUTE = "/api/{user_id}/tasks"
TASK_ROUTE = "/api/{user_id}/tasks/{task_id}"


@dataclass(frozen=True)
class TracedService:
    base_url: str
    spans: InMemorySpanExporter


@pytest.fixture(scope="module")
def traced_service(database_url: str) -> Iterator[TracedService]:
    """The app with an in-memory span exporter, served by uvicorn on a thread of this process."""
    exporter = InMemorySpanExporter()
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        better_auth_secret=SECRET,
        log_level="WARNING",
    )
    # Migrating at start, as `serve` does in these tests: this module may run before any other
    # has started the service on the session's database.
    app = create_app(
        settings,
        target(database_url),
        migrate=True,
        tracing=Tracing(SimpleSpanProcessor(exporter)),
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: server.started, timeout=30)
        yield TracedService(base_url, exporter)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


def spans_of_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        span
        for span in exporter.get_finished_spans()
        if span.context is not None and span.context.trace_id == trace_id
    ]


def traceparent() -> tuple[str, int, int]:
    trace_id, parent_id = secrets.randbits(128) | 1, secrets.randbits(64) | 1
    return f"00-{trace_id:032x}-{parent_id:016x}-01", trace_id, parent_id


def test_a_request_is_a_server_span_in_the_callers_trace_with_its_statements_inside(
    traced_service: TracedService,
) -> None:
    # Given a caller that propagates its trace,
    header, trace_id, parent_id = traceparent()
    alice = new_user("alice")
    # when it lists tasks,
    response = httpx.get(
        f"{traced_service.base_url}{alice.tasks_path}",
        headers={**auth(alice), "traceparent": header},
    )
    assert response.status_code == 200
    wait_until(
        lambda: (
            {"list_tasks", f"GET {TASKS_ROUTE}"}
            <= {span.name for span in spans_of_trace(traced_service.spans, trace_id)}
        )
    )

    # then the request is a server span named by its route, a child of the caller's span,
    spans = spans_of_trace(traced_service.spans, trace_id)
    (server,) = [span for span in spans if span.kind is SpanKind.SERVER]
    assert server.name == f"GET {TASKS_ROUTE}"
    assert server.parent is not None
    assert server.parent.span_id == parent_id
    assert server.attributes is not None
    assert server.attributes["http.route"] == TASKS_ROUTE
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["taskapi.request_id"] == response.headers["X-Request-ID"]
    # and its statements are client spans inside it, named as the statements name themselves
    # (a new connection's first statements include asyncpg's own type lookups, unnamed).
    statements = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert "list_tasks" in [span.name for span in statements]
    assert server.context is not None
    assert server.start_time is not None
    for statement in statements:
        assert statement.parent is not None
        assert statement.parent.span_id == server.context.span_id
        assert statement.start_time is not None
        assert server.start_time <= statement.start_time


def test_a_task_requests_span_is_named_by_the_contracts_path_template(
    traced_service: TracedService,
) -> None:
    # Given a request on one task, whose route Starlette matches as `{task_id:<convertor>}`,
    header, trace_id, _ = traceparent()
    alice = new_user("alice")
    # when it is served,
    response = httpx.get(
        f"{traced_service.base_url}{alice.task_path(1)}",
        headers={**auth(alice), "traceparent": header},
    )
    assert response.status_code == 404
    wait_until(
        lambda: any(
            span.kind is SpanKind.SERVER for span in spans_of_trace(traced_service.spans, trace_id)
        )
    )

    # then its span and route attribute spell the path as the contract does.
    (server,) = [
        span
        for span in spans_of_trace(traced_service.spans, trace_id)
        if span.kind is SpanKind.SERVER
    ]
    assert server.name == f"GET {TASK_ROUTE}"
    assert server.attributes is not None
    assert server.attributes["http.route"] == TASK_ROUTE


def test_spans_carry_no_user_id_or_token(traced_service: TracedService) -> None:
    header, trace_id, _ = traceparent()
    alice = new_user("alice")
    httpx.post(
        f"{traced_service.base_url}{alice.tasks_path}",
        json={"title": "traced"},
        headers={**auth(alice), "traceparent": header},
    )
    wait_until(
        lambda: (
            {"insert_task", f"POST {TASKS_ROUTE}"}
            <= {span.name for span in spans_of_trace(traced_service.spans, trace_id)}
        )
    )

    for span in spans_of_trace(traced_service.spans, trace_id):
        rendered = span.to_json()
        assert alice.id not in rendered
        assert alice.token not in rendered
        assert "traced" not in rendered


def test_a_request_without_traceparent_starts_a_trace_and_an_unmatched_path_is_named_so(
    traced_service: TracedService,
) -> None:
    traced_service.spans.clear()

    response = httpx.get(f"{traced_service.base_url}/nowhere")

    assert response.status_code == 404
    wait_until(lambda: len(traced_service.spans.get_finished_spans()) >= 1)
    (server,) = [
        span for span in traced_service.spans.get_finished_spans() if span.kind is SpanKind.SERVER
    ]
    assert server.name == "GET unmatched"
    assert server.parent is None
    assert server.status.status_code is StatusCode.UNSET


class CollectorStandIn(BaseHTTPRequestHandler):
    """Takes OTLP/HTTP trace exports (protobuf) and keeps the span names it was sent."""

    received: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = {
                attribute.key: attribute.value.string_value
                for attribute in resource_spans.resource.attributes
            }["service.name"]
            for scope_spans in resource_spans.scope_spans:
                self.received.extend(f"{service}: {span.name}" for span in scope_spans.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_serve_with_tracing_enabled_exports_over_otlp(database_url: str) -> None:
    received: list[str] = []
    handler = type("Collector", (CollectorStandIn,), {"received": received})
    collector = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    collector_thread = threading.Thread(target=collector.serve_forever, daemon=True)
    collector_thread.start()
    alice = new_user("alice")
    settings = service_settings(
        database_url,
        TRACING_ENABLED="true",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.server_port}",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    try:
        # Given `serve` with tracing on and a collector at the OTLP endpoint,
        with running_service(settings, LOG_DIR / "service-otlp.log") as base_url:
            # when a request is served,
            response = httpx.get(f"{base_url}{alice.tasks_path}", headers=auth(alice))
            assert response.status_code == 200
            # then its spans reach the collector, from a service named taskapi.
            wait_until(lambda: f"taskapi: GET {TASKS_ROUTE}" in received, timeout=15)
        assert "taskapi: list_tasks" in received
    finally:
        collector.shutdown()
        collector_thread.join(timeout=10)
        collector.server_close()
