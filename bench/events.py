"""`python -m bench events`: what open event streams cost the service, and how soon they tell.

Our service alone, on the small data set, its streams held by lightweight clients of the bench's
own (one asyncio protocol per stream: raw HTTP/1.1 over loopback, the chunked body undone and
the Server-Sent Events parsed line by line), so that the client side is not the bottleneck.

1. Memory: one worker holding 2,000 open streams, laid out as 1,000 users x 2 and as 2,000
   users x 1 (a fresh server for each): its RSS before, with them open, and once they are
   closed again.
2. Fan-out: 2 workers, 2,000 streams (the 1,000 writers x 2, wherever the kernel put each
   connection), then 50 title changes a second (`PATCH`, open loop) for 20 s, each user written
   once; per write, the delay to the `changed` event on every stream of its user, from the
   request sent (before its commit, so an upper bound on the delay from the commit) and from its
   answer (after the commit). Beside it, the server's own `taskapi_event_fanout_seconds` over
   the same writes.
3. The request path: on the same server, wrk on reads and writes (bench/throughput.py's
   machinery) with those 2,000 streams open and with none, in interleaved rounds: open ÷ closed.
"""

import asyncio
import bisect
import math
import os
import random
import resource
import statistics
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
import uvloop
from prometheus_client.parser import text_string_to_metric_families

from bench.database import SMALL, seeded_database
from bench.extras import rss_kib
from bench.servers import RunningServer, ServerConfig, running_server
from bench.throughput import ThroughputPlan, checked_load
from bench.workload import write_workload
from bench.wrk import Load
from tests.support.postgres import PostgresServer, fetch
from tests.support.tokens import token_for

STREAMS = 2_000
# Streams opened at once: enough to open 2,000 in seconds, few enough for the listen backlog.
OPEN_CONCURRENCY = 50
READY_TIMEOUT_SECONDS = 30
CLOSE_TIMEOUT_SECONDS = 15
# Streams opened and closed before the memory baseline: what the first one loads is not per stream.
WARM_STREAMS = 20
SETTLE_SECONDS = 2.0
WRITES_PER_SECOND = 50
WRITE_SECONDS = 20
# Keep-alive connections the writes start with; an open loop opens more if they are all busy.
WRITE_CONNECTIONS = 4
# Below the service's keep-alive timeout (KEEP_ALIVE_TIMEOUT_SECONDS, 5 s by default).
IDLE_SECONDS = 2.0
# After the last write, how long its events may take before they count as missed.
DRAIN_SECONDS = 5.0
DRAIN_POLL_SECONDS = 0.1
TARGET_P99_MS = 100
FANOUT_WORKERS = 2
# A read of users without streams (the listed users' 50-task pages), a read of users with streams
# (get), and two writes to users with streams, each of which their streams hear about.
REQUEST_PATH_OPERATIONS = ("list", "get", "create", "toggle")
STATES = ("closed", "open")
# The events that tell a client to sync: a `resync` takes in a `changed` due with it.
SYNC_EVENTS = ("changed", "resync")
FIGURES = ("requests_per_second", "p50_ms", "p99_ms", "worker_cpu_us_per_request")
SEED = 20261207
# A top-level task of each user that does not recur, for the fan-out's title changes.
A_TASK_EACH_SQL = """
SELECT DISTINCT ON (user_id) user_id, id FROM tasks
WHERE user_id = ANY($1::text[]) AND parent_id IS NULL AND recurrence IS NULL
ORDER BY user_id, id
"""


def measure_events(
    postgres: PostgresServer, plan: ThroughputPlan, secret: str, work_dir: Path, log_dir: Path
) -> dict[str, Any]:
    """The three measurements, on one seeded database; servers are started here and stopped."""
    open_files = _raise_open_files_limit(2 * STREAMS + 1_000)
    with seeded_database(postgres, "events", SMALL) as database:
        data_dir = work_dir / "events"
        data_dir.mkdir()
        write_workload(data_dir, database, secret)
        data = database.data
        writers = data.other_users()
        # The second layout's other 1,000 users hold no tasks (a stream does not need any).
        absent = [data.user_id(n) for n in range(data.users + 1, data.users + 1 + len(writers))]
        tokens = {user: token_for(user, secret=secret) for user in [*writers, *absent]}
        tasks = {row["user_id"]: row["id"] for row in fetch(database.url, A_TASK_EACH_SQL, writers)}
        if len(tasks) != len(writers):
            raise RuntimeError("events: some writers hold no task to change")
        layouts = (
            ("1,000 users x 2", writers, STREAMS // len(writers)),
            ("2,000 users x 1", [*writers, *absent], 1),
        )
        report: dict[str, Any] = {"open_files_limit": open_files, "memory": []}
        with asyncio.Runner(loop_factory=uvloop.Loop) as runner:
            for number, (label, users, per_user) in enumerate(layouts, 1):
                config = ServerConfig(database.url, secret, 1, plan.overrides)
                log = log_dir / f"events-memory-{number}.log"
                print(f"  events: memory, 1 worker, {label}", flush=True)
                with running_server("ours", config, log) as server:
                    figures = runner.run(_memory(server, users, per_user, tokens))
                report["memory"].append({"layout": label, **figures})
            config = ServerConfig(database.url, secret, FANOUT_WORKERS, plan.overrides)
            with running_server("ours", config, log_dir / "events-fanout.log") as server:
                print(
                    f"  events: fan-out, {FANOUT_WORKERS} workers, {WRITES_PER_SECOND} writes/s"
                    f" for {WRITE_SECONDS} s over {len(writers)} users x 2 streams",
                    flush=True,
                )
                report["fanout"] = runner.run(_fanout(server, writers, tokens, tasks))
                if plan.rounds:
                    report["request_path"] = runner.run(
                        _request_path(server, data_dir, writers, tokens, plan)
                    )
    return report


# The memory of one worker ------------------------------------------------------------------------


async def _memory(
    server: RunningServer, users: Sequence[str], per_user: int, tokens: dict[str, str]
) -> dict[str, Any]:
    pids = server.serving_pids()
    warm = await open_streams(server, users[:WARM_STREAMS], 1, tokens)
    await close_streams(server, warm)
    await asyncio.sleep(SETTLE_SECONDS)
    before = sum(rss_kib(pid) for pid in pids)
    started = time.perf_counter()
    streams = await open_streams(server, users, per_user, tokens)
    opened_seconds = time.perf_counter() - started
    try:
        await asyncio.sleep(SETTLE_SECONDS)
        with_streams = sum(rss_kib(pid) for pid in pids)
        server_count = (await scrape_metrics(server)).streams_open
        _check_open(streams)
    finally:
        await close_streams(server, streams)
    await asyncio.sleep(SETTLE_SECONDS)
    after = sum(rss_kib(pid) for pid in pids)
    print(
        f"  events: {len(streams)} streams open in {opened_seconds:.1f} s; RSS {before / 1024:.1f}"
        f" → {with_streams / 1024:.1f} MiB, {after / 1024:.1f} MiB once closed",
        flush=True,
    )
    return {
        "workers": len(pids),
        "users": len(users),
        "streams_per_user": per_user,
        "streams": len(streams),
        "opened_seconds": round(opened_seconds, 2),
        "streams_open_by_server": server_count,
        "first_events": first_events(streams),
        "rss_kib": {"before": before, "with_streams": with_streams, "after_closing": after},
        "kib_per_stream": round((with_streams - before) / len(streams), 2),
    }


# Fan-out: from a write to its events -------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    user: str
    sent_at: float
    answered_at: float


async def _fanout(
    server: RunningServer, users: Sequence[str], tokens: dict[str, str], tasks: dict[str, int]
) -> dict[str, Any]:
    streams = await open_streams(server, users, STREAMS // len(users), tokens)
    by_user: dict[str, list[EventStream]] = {}
    for stream in streams:
        by_user.setdefault(stream.user, []).append(stream)
    try:
        before = await scrape_metrics(server)
        writes, seconds = await _write_at_rate(server, users, tokens, tasks)
        for _ in range(round(DRAIN_SECONDS / DRAIN_POLL_SECONDS)):
            if not _arrivals(writes, by_user)[2]:
                break
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        after = await scrape_metrics(server)
        _check_open(streams)
    finally:
        await close_streams(server, streams)
    from_sent, from_answer, missed = _arrivals(writes, by_user)
    changed = sum(stream.events["changed"] for stream in streams)
    figures: dict[str, Any] = {
        "workers": FANOUT_WORKERS,
        "users": len(users),
        "streams": len(streams),
        "write": "PATCH /api/{user_id}/tasks/{task_id} {title} (merge patch), each user once",
        "writes": len(writes),
        "writes_per_second": round(len(writes) / seconds, 1) if seconds else None,
        "from_write_sent_ms": distribution(from_sent),
        "from_write_answered_ms": distribution(from_answer),
        "missed": missed,
        "changed_events_received": changed,
        "resync_events_received": sum(stream.events["resync"] for stream in streams),
        "changed_events_expected": len(writes) * STREAMS // len(users),
        "keep_alive_comments": sum(stream.comments for stream in streams),
        "first_events": first_events(streams),
        "target_p99_ms": TARGET_P99_MS,
        "server": after.since(before),
    }
    sent = figures["from_write_sent_ms"]
    print(
        f"  events: {len(writes)} writes; to every stream of the user, from the write sent:"
        f" p50 {sent['p50']} ms, p99 {sent['p99']} ms, max {sent['max']} ms; missed {missed}",
        flush=True,
    )
    return figures


async def _write_at_rate(
    server: RunningServer, users: Sequence[str], tokens: dict[str, str], tasks: dict[str, int]
) -> tuple[list[Write], float]:
    """WRITES_PER_SECOND title changes for WRITE_SECONDS, each sent on time whether or not the
    ones before were answered (an open loop), to the users in a shuffled order."""
    order = list(users)
    random.Random(SEED).shuffle(order)  # noqa: S311 (a repeatable order, not a secret)
    count = WRITES_PER_SECOND * WRITE_SECONDS
    # Taken in turn (first in, first out), so that none idles into the server's keep-alive
    # timeout; one idle for longer than IDLE_SECONDS all the same is replaced.
    idle = deque([await HttpConnection.open(server.base_url) for _ in range(WRITE_CONNECTIONS)])
    opened = list(idle)
    writes: list[Write] = []

    async def write(number: int, user: str) -> None:
        connection = idle.popleft() if idle else None
        if connection is None or time.perf_counter() - connection.used_at > IDLE_SECONDS:
            if connection is not None:
                connection.close()
            connection = await HttpConnection.open(server.base_url)
            opened.append(connection)
        answer = await connection.send(
            "PATCH",
            f"/api/{user}/tasks/{tasks[user]}",
            {
                "Authorization": f"Bearer {tokens[user]}",
                "Content-Type": "application/merge-patch+json",
            },
            orjson.dumps({"title": f"Changed for the event bench (#{number})"}),
        )
        if answer.status != 200:
            raise RuntimeError(
                f"events: a title change answered {answer.status}: {answer.body[:300]!r}"
                f" (server log: {server.log_path})"
            )
        writes.append(Write(user, answer.sent_at, answer.answered_at))
        idle.append(connection)

    start = time.perf_counter() + 0.2
    pending = []
    try:
        for number in range(count):
            delay = start + number / WRITES_PER_SECOND - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(write(number, order[number % len(order)])))
        await asyncio.gather(*pending)
    finally:
        for task in pending:
            task.cancel()
        for connection in opened:
            connection.close()
    sent = sorted(w.sent_at for w in writes)
    return writes, sent[-1] - sent[0] if len(sent) > 1 else 0.0


def _arrivals(
    writes: Sequence[Write], by_user: dict[str, list["EventStream"]]
) -> tuple[list[float], list[float], int]:
    """For each write, from its request sent and from its answer to the first `changed` (or
    `resync`) after it on the last of its user's streams (ms); and how many writes some stream
    has not heard of."""
    from_sent, from_answer, missed = [], [], 0
    for write in writes:
        last = -math.inf
        for stream in by_user[write.user]:
            index = bisect.bisect_left(stream.sync_at, write.sent_at)
            if index == len(stream.sync_at):
                last = math.inf
                break
            last = max(last, stream.sync_at[index])
        if math.isinf(last):
            missed += 1
            continue
        from_sent.append(1000 * (last - write.sent_at))
        from_answer.append(1000 * (last - write.answered_at))
    return from_sent, from_answer, missed


def distribution(values_ms: Sequence[float]) -> dict[str, Any]:
    """Count, p50, p95, p99 (nearest rank), min and max, in ms."""
    ordered = sorted(values_ms)
    if not ordered:
        return {"count": 0}

    def rank(quantile: float) -> float:
        return round(ordered[max(0, math.ceil(quantile * len(ordered)) - 1)], 2)

    return {
        "count": len(ordered),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "min": round(ordered[0], 2),
        "max": round(ordered[-1], 2),
    }


# The request path, with streams open and with none -----------------------------------------------


async def _request_path(
    server: RunningServer,
    data_dir: Path,
    users: Sequence[str],
    tokens: dict[str, str],
    plan: ThroughputPlan,
) -> dict[str, Any]:
    warmup = Load("mixed", plan.warmup_seconds, plan.connections, plan.threads)
    await asyncio.to_thread(checked_load, server, data_dir, warmup, "events: warm-up")
    runs: list[dict[str, Any]] = []
    opened_with: Counter[str] = Counter()
    for round_number in range(1, plan.rounds + 1):
        states = STATES if round_number % 2 else tuple(reversed(STATES))
        for state in states:
            # Pauses, so that the streams open on a server done with the last run's requests,
            # and no run starts in the tail of their opening or closing.
            await asyncio.sleep(SETTLE_SECONDS)
            streams: list[EventStream] = []
            if state == "open":
                streams = await open_streams(server, users, STREAMS // len(users), tokens)
                opened_with.update(first_events(streams))
                await asyncio.sleep(SETTLE_SECONDS)
            try:
                for operation in REQUEST_PATH_OPERATIONS:
                    load = Load(
                        operation,
                        plan.duration_seconds,
                        plan.connections,
                        plan.threads,
                        nonce=f"events.{round_number}.{state}",
                    )
                    label = f"round {round_number}/{plan.rounds}, streams {state}"
                    runs.append(await _one_load(server, data_dir, load, label, streams))
                    runs[-1].update(round=round_number, state=state)
            finally:
                await close_streams(server, streams)
    return {
        "workers": FANOUT_WORKERS,
        "streams": STREAMS,
        "rounds": plan.rounds,
        "duration_seconds": plan.duration_seconds,
        "connections": plan.connections,
        "operations": _open_over_closed(runs),
        "first_events": dict(opened_with),
        "runs": runs,
    }


async def _one_load(
    server: RunningServer, data_dir: Path, load: Load, label: str, streams: Sequence["EventStream"]
) -> dict[str, Any]:
    """One wrk run while `streams` are held (and read): its figures, the events the streams
    heard meanwhile, and the bench process's own CPU (the streams' clients, waiting for wrk)."""
    heard = sum(stream.total for stream in streams)
    pids = server.serving_pids()
    worker_cpu = _cpu_seconds(pids)
    cpu = time.process_time()
    wall = time.perf_counter()
    result = await asyncio.to_thread(checked_load, server, data_dir, load, f"events: {label}")
    client_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall)
    per_request = 1e6 * (_cpu_seconds(pids) - worker_cpu) / result.requests
    _check_open(streams)
    print(
        f"  events: {label:28} {load.operation:8}{result.requests_per_second:9.0f} req/s"
        f"  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
        f"  workers' CPU {per_request:5.0f} µs a request  (client CPU {100 * client_cpu:.0f}%)",
        flush=True,
    )
    return {
        "operation": load.operation,
        **result.figures(),
        "worker_cpu_us_per_request": round(per_request, 1),
        "streams": len(streams),
        "events_received": sum(stream.total for stream in streams) - heard,
        "client_cpu_percent": round(100 * client_cpu, 1),
    }


def _cpu_seconds(pids: Sequence[int]) -> float:
    """The CPU time (user and system) the processes have used so far."""
    ticks = 0
    for pid in pids:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _open_over_closed(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per operation, each state's medians over the rounds, and open ÷ closed."""
    rows = []
    for operation in REQUEST_PATH_OPERATIONS:
        row: dict[str, Any] = {"operation": operation}
        for state in STATES:
            mine = [run for run in runs if (run["operation"], run["state"]) == (operation, state)]
            row[state] = {key: statistics.median(run[key] for run in mine) for key in FIGURES}
            row[state]["client_cpu_percent"] = statistics.median(
                run["client_cpu_percent"] for run in mine
            )
            row[state]["events_received"] = sum(run["events_received"] for run in mine)
        row["open_over_closed"] = {
            key: round(row["open"][key] / row["closed"][key], 2) if row["closed"][key] else None
            for key in FIGURES
        }
        # Each round's own ratio: its two states ran minutes apart at most, so the machine's
        # other work moves them less than it moves the medians over the whole run.
        by_round: dict[int, dict[str, float]] = {}
        for run in runs:
            if run["operation"] == operation:
                by_round.setdefault(run["round"], {})[run["state"]] = run["requests_per_second"]
        row["rounds_open_over_closed"] = [
            round(pair["open"] / pair["closed"], 2) if pair["closed"] else None
            for _, pair in sorted(by_round.items())
        ]
        rows.append(row)
    return rows


# The clients -------------------------------------------------------------------------------------

# The chunked body's decoder: a size line next, or the CRLF after a chunk's data, or the end.
_SIZE, _CRLF, _END = -1, -2, -3


class EventStream(asyncio.Protocol):
    """One event stream over its own connection: the request written once connected, the
    response's head read, its chunked body undone, and its lines parsed as Server-Sent Events
    (WHATWG HTML 9.2, minimally: LF or CRLF line ends, one event per blank line). Each event's
    arrival is the time its bytes were handed to the protocol."""

    def __init__(self, user: str, request: bytes) -> None:
        self.user = user
        self.request = request
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.head = ""
        self.closing = False
        self.events: Counter[str] = Counter()
        self.comments = 0
        self.retry_ms: int | None = None
        # The event that opened it: `ready`, unless a change came first.
        self.first_event = ""
        self.last_id: str | None = None
        # When each `changed` or `resync` arrived.
        self.sync_at: list[float] = []
        self._buffer = bytearray()
        self._in_body = False
        self._chunked = False
        self._chunk = _SIZE
        self._lines = bytearray()
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    @property
    def total(self) -> int:
        return sum(self.events.values())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport's subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            why = f"{exc!r}" if exc else "closed by the server"
            answer = self.head.splitlines()[0] if self.head else "no answer"
            self.ready.set_exception(RuntimeError(f"{self.user}'s stream: {answer}, {why}"))
        if not self.ended.done():
            self.ended.set_result(None)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self._buffer += data
        if not self._in_body:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head = self._buffer[:end].decode("latin-1")
            del self._buffer[: end + 4]
            self._in_body = True
            lines = self.head.split("\r\n")
            status = lines[0].split(" ", 2)
            fields = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:])
            }
            self._chunked = fields.get("transfer-encoding", "").lower() == "chunked"
            if len(status) < 2 or status[1] != "200":
                body = self._buffer[:300].decode("utf-8", "replace")
                self.ready.set_exception(
                    RuntimeError(f"{self.user}'s stream answered {lines[0]!r}: {body}")
                )
                self.close()
                return
        if self._chunked:
            self._dechunk(now)
        else:
            self._feed(self._buffer, now)
            self._buffer.clear()

    def _dechunk(self, now: float) -> None:
        buffer = self._buffer
        while buffer and self._chunk != _END:
            if self._chunk == _SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(buffer[:end]).split(b";")[0], 16)
                del buffer[: end + 2]
                self._chunk = size if size else _END
            elif self._chunk == _CRLF:
                if len(buffer) < 2:
                    return
                del buffer[:2]
                self._chunk = _SIZE
            else:
                taken = min(len(buffer), self._chunk)
                self._feed(buffer[:taken], now)
                del buffer[:taken]
                self._chunk -= taken
                if not self._chunk:
                    self._chunk = _CRLF

    def _feed(self, data: bytes | bytearray, now: float) -> None:
        self._lines += data
        start = 0
        while (end := self._lines.find(b"\n", start)) >= 0:
            line = self._lines[start:end]
            if line.endswith(b"\r"):
                line = line[:-1]
            self._line(line.decode(), now)
            start = end + 1
        del self._lines[:start]

    def _line(self, line: str, now: float) -> None:
        if not line:
            self._dispatch(now)
        elif line.startswith(":"):
            self.comments += 1
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                self._event = value
            elif name == "data":
                self._data.append(value)
            elif name == "id":
                self._id = value
            elif name == "retry" and value.isdigit():
                self.retry_ms = int(value)

    def _dispatch(self, now: float) -> None:
        name, has_data = self._event or "message", bool(self._data)
        if self._id is not None:
            self.last_id = self._id
        self._event, self._data, self._id = "", [], None
        if not has_data:
            return  # a block of `retry:` alone, say: no event (HTML 9.2.6)
        self.events[name] += 1
        if name in SYNC_EVENTS:
            self.sync_at.append(now)
        if not self.ready.done() and name in ("ready", *SYNC_EVENTS):
            # Open: `ready`, or a `changed` that a write heard between the stream's start and
            # its first snapshot made of it (the service sends the stronger of the two).
            self.first_event = name
            self.ready.set_result(None)


async def open_streams(
    server: RunningServer, users: Iterable[str], per_user: int, tokens: dict[str, str]
) -> list[EventStream]:
    """`per_user` streams of each user, each once it has had its `ready`; all or none."""
    address = urlsplit(server.base_url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    loop = asyncio.get_running_loop()
    semaphore = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one(user: str) -> EventStream:
        request = (
            f"GET /api/{user}/events HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: Bearer {tokens[user]}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        async with semaphore:
            _, stream = await loop.create_connection(lambda: EventStream(user, request), host, port)
            try:
                await asyncio.wait_for(stream.ready, READY_TIMEOUT_SECONDS)
            except BaseException:
                stream.close()
                raise
        return stream

    users = list(users)
    results = await asyncio.gather(
        *(one(user) for _ in range(per_user) for user in users), return_exceptions=True
    )
    streams = [result for result in results if isinstance(result, EventStream)]
    failures = [result for result in results if not isinstance(result, EventStream)]
    if failures:
        await close_streams(server, streams)
        raise RuntimeError(
            f"{len(failures)} of {len(results)} event streams did not open; the first:"
            f" {failures[0]!r} (server log: {server.log_path})"
        )
    return streams


async def close_streams(server: RunningServer, streams: Sequence[EventStream]) -> None:
    """Close them, and wait until the server counts none open (when it counts them)."""
    for stream in streams:
        stream.close()
    if not streams:
        return
    await asyncio.wait_for(
        asyncio.gather(*(stream.ended for stream in streams)), CLOSE_TIMEOUT_SECONDS
    )
    deadline = time.perf_counter() + CLOSE_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        still_open = (await scrape_metrics(server)).streams_open
        if not still_open:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(
        f"the server still counts {still_open} streams open {CLOSE_TIMEOUT_SECONDS} s after"
        f" they were closed (server log: {server.log_path})"
    )


def first_events(streams: Sequence[EventStream]) -> dict[str, int]:
    """How many streams each event opened (see EventStream.first_event)."""
    return dict(Counter(stream.first_event for stream in streams))


def _check_open(streams: Sequence[EventStream]) -> None:
    """Every stream still open: one the server ended meanwhile makes the figures meaningless."""
    ended = [stream for stream in streams if stream.ended.done()]
    if ended:
        events = sum((stream.events for stream in ended), Counter())
        raise RuntimeError(
            f"{len(ended)} of {len(streams)} event streams were ended by the server"
            f" (their events: {dict(events)})"
        )


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    sent_at: float
    answered_at: float


class HttpConnection:
    """One keep-alive HTTP/1.1 connection, one request at a time, timed from the request's
    bytes written to the answer's last byte read."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host
        self.used_at = time.perf_counter()

    @classmethod
    async def open(cls, base_url: str) -> "HttpConnection":
        address = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        return cls(reader, writer, address.netloc)

    async def send(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> Answer:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        sent_at = time.perf_counter()
        self.writer.write(request)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *field_lines = head.split("\r\n")
        fields = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in field_lines if line)
        }
        if fields.get("transfer-encoding", "").lower() == "chunked":
            answer = bytearray()
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                answer += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
            content = bytes(answer)
        else:
            content = await self.reader.readexactly(int(fields.get("content-length", "0")))
        self.used_at = time.perf_counter()
        return Answer(int(status_line.split(" ", 2)[1]), content, sent_at, self.used_at)

    def close(self) -> None:
        self.writer.close()


# The server's own figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """What /metrics says of the event streams (None: metrics off, or not there)."""

    streams_open: float | None
    events_sent: dict[str, float]
    # (upper bound in seconds, cumulative count), the last bound infinite.
    fanout_buckets: list[tuple[float, float]]
    fanout_sum: float

    def since(self, before: "Metrics") -> dict[str, Any]:
        """The events sent and the fan-out histogram between two scrapes."""
        earlier = dict(before.fanout_buckets)
        buckets = [(bound, count - earlier.get(bound, 0.0)) for bound, count in self.fanout_buckets]
        count = buckets[-1][1] if buckets else 0.0
        within = max(
            (below for bound, below in buckets if bound <= TARGET_P99_MS / 1000), default=0.0
        )
        return {
            "events_sent": {
                event: sent - before.events_sent.get(event, 0.0)
                for event, sent in self.events_sent.items()
                if sent - before.events_sent.get(event, 0.0)
            },
            "fanout": {
                "count": count,
                "mean_ms": round(1000 * (self.fanout_sum - before.fanout_sum) / count, 2)
                if count
                else None,
                **{
                    f"p{round(100 * quantile)}_ms": _in_ms(histogram_quantile(quantile, buckets))
                    for quantile in (0.5, 0.95, 0.99)
                },
                "within_100_ms": round(within / count, 4) if count else None,
                "buckets": [[_bound(bound), count] for bound, count in buckets],
            },
        }


async def scrape_metrics(server: RunningServer) -> Metrics:
    connection = await HttpConnection.open(server.base_url)
    try:
        answer = await connection.send("GET", "/metrics", {})
    finally:
        connection.close()
    if answer.status != 200:
        return Metrics(None, {}, [], 0.0)
    return parse_metrics(answer.body.decode())


def parse_metrics(text: str) -> Metrics:
    streams_open = None
    events_sent: dict[str, float] = {}
    buckets: dict[float, float] = {}
    fanout_sum = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "taskapi_event_streams_open":
                streams_open = (streams_open or 0.0) + sample.value
            elif sample.name == "taskapi_events_sent_total":
                event = sample.labels.get("event", "")
                events_sent[event] = events_sent.get(event, 0.0) + sample.value
            elif sample.name == "taskapi_event_fanout_seconds_bucket":
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
            elif sample.name == "taskapi_event_fanout_seconds_sum":
                fanout_sum += sample.value
    return Metrics(streams_open, events_sent, sorted(buckets.items()), fanout_sum)


def histogram_quantile(quantile: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """As Prometheus estimates it: linear within the bucket the rank falls in; the highest
    finite bound when it falls beyond it."""
    if not buckets or not buckets[-1][1]:
        return None
    rank = quantile * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def _in_ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(1000 * seconds, 2)


def _bound(bound: float) -> float | str:
    return "+Inf" if math.isinf(bound) else bound


def _raise_open_files_limit(needed: int) -> int:
    """The soft limit on open files raised to the hard one (the servers inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(
            f"events: {needed} open files needed, the hard limit is {hard} (ulimit -Hn)"
        )
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft
