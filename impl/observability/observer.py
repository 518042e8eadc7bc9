"""One place that hears what happens (requests, the pool, statements, refusals) and tells the
metrics, the traces and the access log, whichever of them are on."""

from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING

from asyncpg.connection import LoggedQuery
from starlette.types import Scope

from contract_runtime.security import Principal
from impl.observability.logs import AccessLog
from impl.observability.metrics import Metrics
from impl.observability.naming import route_template, statement_name

if TYPE_CHECKING:
    from impl.observability.tracing import RequestSpan, Tracing


@dataclass(slots=True)
class Exchange:
    """One request being served, as the observer tracks it."""

    started: float
    span: "RequestSpan | None"


class Observer:
    """Built once by the app factory; each part may be None (off)."""

    def __init__(
        self,
        metrics: Metrics | None,
        tracing: "Tracing | None",
        access_log: AccessLog | None,
    ) -> None:
        self.metrics = metrics
        self._tracing = tracing
        self._access_log = access_log

    @property
    def watches_statements(self) -> bool:
        return self.metrics is not None or self._tracing is not None

    def request_started(self, scope: Scope) -> Exchange:
        if self.metrics is not None:
            self.metrics.request_started()
        span = self._tracing.request_started(scope) if self._tracing is not None else None
        return Exchange(perf_counter(), span)

    def request_finished(
        self,
        exchange: Exchange,
        scope: Scope,
        status: int,
        request_id: str,
        correlation_id: str | None,
    ) -> None:
        seconds = perf_counter() - exchange.started
        route = route_template(scope)
        method: str = scope["method"]
        if self.metrics is not None:
            self.metrics.request_finished(route, method, status, seconds)
        if exchange.span is not None and self._tracing is not None:
            self._tracing.request_finished(exchange.span, route, status, request_id)
        if self._access_log is not None:
            principal = scope.get("state", {}).get("principal")
            self._access_log.request_finished(
                method=method,
                route=route,
                status=status,
                seconds=seconds,
                request_id=request_id,
                correlation_id=correlation_id,
                principal=principal if isinstance(principal, Principal) else None,
            )

    def token_rejected(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.token_rejections.labels(reason).inc()

    def unavailable(self, code: str) -> None:
        """A 503 or 504 answered, by its error code."""
        if self.metrics is not None:
            self.metrics.unavailable_responses.labels(code).inc()

    def edge_refused(self, status: int, code: str) -> None:
        """A request the server's edge answered itself (impl.edge.EdgeObserver)."""
        if self.metrics is not None:
            self.metrics.edge_refusals.labels(str(status), code).inc()

    def slow_reader_dropped(self) -> None:
        """A connection dropped because its client read nothing for the send timeout."""
        if self.metrics is not None:
            self.metrics.slow_readers_dropped.inc()

    # The event streams' reports (impl.events.hub.StreamObserver).

    def streams_opened(self, count: int) -> None:
        if self.metrics is not None:
            self.metrics.event_streams_open.inc(count)

    def event_sent(self, event: str) -> None:
        if self.metrics is not None:
            self.metrics.event_sent(event)

    def fanned_out(self, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.event_fanout.observe(seconds)

    # The pool's reports (impl.db.pool.PoolObserver).

    def connections_opened(self, count: int) -> None:
        if self.metrics is not None:
            self.metrics.pool_open_connections.inc(count)

    def connections_lent(self, count: int) -> None:
        if self.metrics is not None:
            self.metrics.pool_checked_out_connections.inc(count)

    def requests_waiting(self, count: int) -> None:
        if self.metrics is not None:
            self.metrics.pool_waiting_requests.inc(count)

    def statement_finished(self, record: LoggedQuery) -> None:
        if self.metrics is not None:
            self.metrics.statement_finished(
                statement_name(record.query), record.exception is not None, record.elapsed
            )
        if self._tracing is not None:
            self._tracing.statement_finished(record)

    def shutdown(self) -> None:
        if self._tracing is not None:
            self._tracing.shutdown()
        if self.metrics is not None:
            self.metrics.process_exiting()
