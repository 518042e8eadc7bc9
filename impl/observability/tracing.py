"""OpenTelemetry tracing (TRACING_ENABLED): a server span per request, a client span per statement.

Off by default, and imported only when on. The exporter and the resource follow OpenTelemetry's
own variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, ...); an
incoming W3C `traceparent` makes the request span a child of the caller's.
"""

import time
from contextvars import Token
from dataclasses import dataclass

from asyncpg.connection import LoggedQuery
from opentelemetry import context, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import Scope

from impl.observability.naming import statement_name

TRACER_NAME = "taskapi"
DEFAULT_SERVICE_NAME = "taskapi"
PROPAGATED_HEADERS = (b"traceparent", b"tracestate")


@dataclass(slots=True)
class RequestSpan:
    span: trace.Span
    token: Token[context.Context]
    method: str


class Tracing:
    """Spans for one process; `shutdown` flushes what is still queued."""

    def __init__(self, processor: SpanProcessor) -> None:
        self._provider = TracerProvider(resource=_resource())
        self._provider.add_span_processor(processor)
        self._tracer = self._provider.get_tracer(TRACER_NAME)
        self._propagator = TraceContextTextMapPropagator()

    def request_started(self, scope: Scope) -> RequestSpan:
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in PROPAGATED_HEADERS
        }
        method: str = scope["method"]
        span = self._tracer.start_span(
            method,
            context=self._propagator.extract(carrier) if carrier else None,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        )
        return RequestSpan(span, context.attach(trace.set_span_in_context(span)), method)

    def request_finished(
        self, request: RequestSpan, route: str, status: int, request_id: str
    ) -> None:
        span = request.span
        span.update_name(f"{request.method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("taskapi.request_id", request_id)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        context.detach(request.token)
        span.end()

    def statement_finished(self, record: LoggedQuery) -> None:
        # Called back after the statement, within the request's context: the span is dated
        # from the statement's own elapsed time.
        end = time.time_ns()
        name = statement_name(record.query)
        span = self._tracer.start_span(
            name,
            kind=SpanKind.CLIENT,
            start_time=end - int(record.elapsed * 1e9),
            attributes={"db.system.name": "postgresql", "db.query.summary": name},
        )
        if record.exception is not None:
            span.set_status(Status(StatusCode.ERROR, type(record.exception).__name__))
        span.end(end_time=end)

    def shutdown(self) -> None:
        self._provider.shutdown()


def _resource() -> Resource:
    """OpenTelemetry's resource from the environment, named taskapi unless OTEL_* names it."""
    detected = Resource.create()
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return detected.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return detected


def otlp_tracing() -> Tracing:
    """Spans batched to the OTLP/HTTP endpoint the OTEL_* variables name."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return Tracing(BatchSpanProcessor(OTLPSpanExporter()))
