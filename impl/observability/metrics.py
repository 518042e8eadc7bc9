"""Prometheus metrics: what an operator watches, in the exposition format at `/metrics`.

With several worker processes each one writes its values to files in one shared directory
(prometheus-client's multi-process mode, chosen by PROMETHEUS_MULTIPROC_DIR before the first
import), and a scrape, whichever worker answers it, sums every worker's files.
"""

import asyncio
import os
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import Response

from impl.processes import is_running

# From a cached read (~1 ms) to a request that waited out the pool (5 s) or a statement timeout.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A change's way to every open stream of its user: the target is well under 100 ms.
FANOUT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# prometheus-client's own variable: set, every process that imports it keeps its values in files
# there. Read from the environment, where prometheus-client reads it, so the two always agree.
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# The gauge files of worker processes that are gone (a crashed worker leaves them behind).
LIVE_GAUGE_FILE_PREFIX = "gauge_live"


class Metrics:
    """Every metric the service records; one instance per process, built by the app factory."""

    def __init__(self, multiprocess_dir: Path | None) -> None:
        self._multiprocess_dir = multiprocess_dir
        # In multi-process mode the values live in files, not in a registry: metrics are left
        # unregistered and a scrape reads the files.
        registry = None if multiprocess_dir is not None else CollectorRegistry()
        self._registry = registry
        self.request_duration = Histogram(
            "taskapi_http_request_duration_seconds",
            "Time from the request's arrival to its last response byte; _count is the request "
            "count. `route` is the path template (`unmatched` for no route).",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.requests_in_flight = Gauge(
            "taskapi_http_requests_in_flight",
            "Requests being served now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_max_connections = Gauge(
            "taskapi_db_pool_max_connections",
            "Connections the pools may open (DB_POOL_SIZE per worker).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_open_connections = Gauge(
            "taskapi_db_pool_open_connections",
            "Connections open (idle or checked out).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_checked_out_connections = Gauge(
            "taskapi_db_pool_checked_out_connections",
            "Connections lent to a request.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_waiting_requests = Gauge(
            "taskapi_db_pool_waiting_requests",
            "Requests waiting for a connection because every one is checked out.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.statement_duration = Histogram(
            "taskapi_db_statement_duration_seconds",
            "Time of one database statement, by the name it carries, and whether it failed.",
            ["statement", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.token_rejections = Counter(
            "taskapi_auth_token_rejections_total",
            "Requests answered 401, by why the bearer token was refused.",
            ["reason"],
            registry=registry,
        )
        # The labelled series already made, by their label values: `labels()` takes a lock and
        # checks its arguments on every call. Both sets are bounded (routes, statements).
        self._request_children: dict[tuple[str, str, int], Histogram] = {}
        self._statement_children: dict[tuple[str, bool], Histogram] = {}
        self.unavailable_responses = Counter(
            "taskapi_unavailable_responses_total",
            "Requests answered 503 or 504, by the error code: service_unavailable (database "
            "down), service_busy (pool exhausted), database_timeout, auth_unavailable, "
            "shutting_down.",
            ["code"],
            registry=registry,
        )

        self.edge_refusals = Counter(
            "taskapi_http_edge_refusals_total",
            "Requests the server's HTTP edge answered itself, before the application, by status "
            "and error code: bad_request (not HTTP/1.1, or no single valid Host), "
            "request_timeout (a slow head), uri_too_long, header_fields_too_large, "
            "not_implemented.",
            ["status", "code"],
            registry=registry,
        )

        self.slow_readers_dropped = Counter(
            "taskapi_http_slow_readers_dropped_total",
            "Connections dropped because the client read nothing of an answer for"
            " SEND_TIMEOUT_SECONDS (an event stream's stalled reader, say).",
            registry=registry,
        )
        self.event_streams_open = Gauge(
            "taskapi_event_streams_open",
            "Event streams open now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.events_sent = Counter(
            "taskapi_events_sent_total",
            "Events handed to streams to send, by event name (ready, changed, resync, reminder,"
            " closing).",
            ["event"],
            registry=registry,
        )
        self._event_children: dict[str, Counter] = {}
        self.event_fanout = Histogram(
            "taskapi_event_fanout_seconds",
            "From a write's notification (stamped in the database just before its commit) to"
            " its event being handed to the last stream of its user on this worker.",
            buckets=FANOUT_BUCKETS,
            registry=registry,
        )

    @classmethod
    def for_this_process(cls) -> "Metrics":
        directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
        return cls(Path(directory) if directory else None)

    def request_started(self) -> None:
        self.requests_in_flight.inc()

    def request_finished(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.request_duration.labels(
                route, method, str(status)
            )
        child.observe(seconds)
        self.requests_in_flight.dec()

    def statement_finished(self, name: str, failed: bool, seconds: float) -> None:
        key = (name, failed)
        child = self._statement_children.get(key)
        if child is None:
            child = self._statement_children[key] = self.statement_duration.labels(
                name, "error" if failed else "ok"
            )
        child.observe(seconds)

    def event_sent(self, event: str) -> None:
        child = self._event_children.get(event)
        if child is None:
            child = self._event_children[event] = self.events_sent.labels(event)
        child.inc()

    def exposition(self) -> bytes:
        """Every metric of every worker, in the Prometheus text format."""
        if self._registry is not None:
            return generate_latest(self._registry)
        assert self._multiprocess_dir is not None
        _forget_dead_workers(self._multiprocess_dir)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self._multiprocess_dir))
        return generate_latest(registry)

    async def endpoint(self, request: Request) -> Response:
        # On a worker thread: in multi-process mode the scrape reads every worker's files, and
        # the event loop serves requests meanwhile.
        exposition = await asyncio.to_thread(self.exposition)
        return Response(exposition, media_type=CONTENT_TYPE_LATEST)

    def process_exiting(self) -> None:
        """A worker's gauges stop counting once it has shut down."""
        if self._multiprocess_dir is not None:
            mark_process_dead(os.getpid(), str(self._multiprocess_dir))


def _forget_dead_workers(directory: Path) -> None:
    """Drop the live gauges of workers that died without shutting down (killed, crashed)."""
    for path in directory.glob(f"{LIVE_GAUGE_FILE_PREFIX}*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not is_running(int(pid)):
            mark_process_dead(int(pid), str(directory))
