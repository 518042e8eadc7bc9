"""What of uvicorn's internals the edge and the shutdown rely on, so that an upgrade that changes
one fails here, naming it and what to re-check, rather than in production.

uvicorn is pinned (pyproject.toml); its internals are not an API. Each entry below says what our
code does with one. When a test here fails after an upgrade: read what changed in uvicorn, adapt
the code named, and run tests/unit/test_edge_protocol.py, tests/integration/test_http_edge.py
and tests/integration/test_shutdown.py before recording the new state here.
"""

import ast
import asyncio
import hashlib
import inspect
import pickle
import signal
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from uvicorn import Server
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from impl.edge import EDGE_OBSERVER_STATE
from impl.edge.config import EdgeConfig
from impl.edge.protocol import EdgeProtocol
from impl.lifecycle import Lifecycle
from tests.support.edge import LIMITS, Edge, RecordedRefusals, open_edge

WRITTEN_AGAINST = "0.54.0"
RUN_AFTERWARDS = (
    "tests/unit/test_edge_protocol.py, tests/integration/test_http_edge.py and "
    "tests/integration/test_shutdown.py"
)
WAIT_SECONDS = 10


def recheck(what: str, where: str) -> str:
    return (
        f"{what}\nuvicorn {uvicorn.__version__} is installed; {where} was written against "
        f"uvicorn {WRITTEN_AGAINST}. Re-check it against the new uvicorn, then run "
        f"{RUN_AFTERWARDS}."
    )


# Code of uvicorn's that ours copies: a change to the original is a change to carry over.


@dataclass(frozen=True)
class Copy:
    original: Any
    sha256: str
    copy: str
    differs: str


COPIES = {
    "HttpToolsProtocol.data_received": Copy(
        HttpToolsProtocol.data_received,
        "010a7ae59a5d3b1a5e7326ce246878568629d126a076d8af5ba10cab040fae43",
        "EdgeProtocol.data_received (impl/edge/protocol.py)",
        "answers what the parser refuses in the Error shape, and ignores what arrives while "
        "the connection lingers",
    ),
    "uvicorn.run": Copy(
        uvicorn.run,
        "68c3e6c9039f072f935d14d75e679b2f46b666e08c069dc59c1090b22749a548",
        "run (impl/edge/server.py)",
        "does what uvicorn.run does once it has built its Config, for an EdgeConfig",
    ),
}


@pytest.mark.parametrize("name", COPIES)
def test_what_our_code_copies_of_uvicorn_has_not_changed(name: str) -> None:
    copied = COPIES[name]

    source = inspect.getsource(copied.original)

    assert hashlib.sha256(source.encode()).hexdigest() == copied.sha256, recheck(
        f"uvicorn's {name} has changed since it was copied into {copied.copy}, which "
        f"{copied.differs}: compare the two, carry the change over (or note why not), and "
        "record the new hash in COPIES",
        copied.copy,
    )


# uvicorn's attributes and methods EdgeProtocol reads, extends or sets, with what it does with each.

RELIED_ON = {
    "HttpToolsProtocol.__init__": "uvicorn builds each connection's protocol with (config, "
    "server_state, app_state, _loop); app_state is the lifespan's state, holding the observer",
    "HttpToolsProtocol.connection_made": "extended: the idle timer is armed at once (uvicorn "
    "arms it only after an answer)",
    "HttpToolsProtocol.connection_lost": "extended: the head's and the send's deadlines are "
    "cancelled",
    "HttpToolsProtocol.pause_writing": "extended: the transport's buffer is full; the send "
    "deadline starts",
    "HttpToolsProtocol.resume_writing": "extended: the client read some; the send deadline is "
    "cancelled",
    "HttpToolsProtocol.data_received": "replaced by a modified copy (see COPIES)",
    "HttpToolsProtocol.on_message_begin": "extended: starts the head's deadline and count; "
    "uvicorn's resets url and headers",
    "HttpToolsProtocol.on_url": "extended: uvicorn's appends to url, which the target limit "
    "measures",
    "HttpToolsProtocol.on_header": "extended: counted first; uvicorn's keeps (lower-case name, "
    "value) in headers, where Host is checked",
    "HttpToolsProtocol.on_headers_complete": "extended: the version, Host and upgrade refusals "
    "come before uvicorn's starts the request",
    "HttpToolsProtocol.loop": "the head's and the send's deadlines and the lingering are timers "
    "on it",
    "HttpToolsProtocol.parser": "fed each read; asked the version and whether it upgrades",
    "HttpToolsProtocol.url": "the request target so far, held to max_url_bytes",
    "HttpToolsProtocol.headers": "the header fields so far: Host, and whether a body is declared",
    "HttpToolsProtocol.cycle": "the request being served when a refusal comes",
    "HttpToolsProtocol.flow": "reading is paused behind an answer and resumed to linger",
    "HttpToolsProtocol.transport": "refusals are written to it, then EOF, then it is closed; a "
    "slow reader's is aborted; its socket gets TCP_NOTSENT_LOWAT",
    "HttpToolsProtocol.server_state": "its default headers go on every refusal",
    "HttpToolsProtocol.timeout_keep_alive": "the idle timer's delay, armed at connection_made",
    "HttpToolsProtocol.timeout_keep_alive_task": "set at connection_made to the idle timer, "
    "which uvicorn cancels when data arrives",
    "HttpToolsProtocol.timeout_keep_alive_handler": "what the idle timer calls: closes the "
    "connection",
    "HttpToolsProtocol._unset_keepalive_if_required": "cancels the idle timer on each read and "
    "before lingering",
    "HttpToolsProtocol._should_upgrade": "the copied data_received's upgrade branch",
    "HttpToolsProtocol.handle_websocket_upgrade": "the copied data_received's upgrade branch",
    "HttpToolsProtocol._unsupported_upgrade_warning": "the copied data_received's upgrade branch",
    "RequestResponseCycle.response_complete": "a refusal after a whole answer is written at once",
    "RequestResponseCycle.response_started": "a refusal waits for an answer being written",
    "RequestResponseCycle.more_body": "a refusal while the application reads the body ends it",
    "RequestResponseCycle.keep_alive": "set False: the connection closes after the answer",
    "RequestResponseCycle.disconnected": "set True: the application's receive() says "
    "http.disconnect and its answer is dropped",
    "RequestResponseCycle.message_event": "set: wakes the application waiting for the body",
    "FlowControl.pause_reading": "stops reading behind an answer that must finish first",
    "FlowControl.resume_reading": "reads (and drops) what comes while lingering",
    "ServerState.default_headers": "the Date header (and others configured) on refusals",
}
PROTOCOL_SOURCE = "EdgeProtocol (impl/edge/protocol.py)"


@pytest.fixture(scope="module")
def edge() -> Iterator[Edge]:
    yield from open_edge()


@pytest.fixture(scope="module")
def uvicorns_own(edge: Edge) -> dict[str, object]:
    """uvicorn's own protocol (not ours, which would hide what uvicorn lost) and what it holds,
    mid-request: a POST whose body has not come."""
    connection = edge.connect(protocol_class=HttpToolsProtocol)
    connection.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
    protocol = connection.protocol
    return {
        "HttpToolsProtocol": protocol,
        "RequestResponseCycle": protocol.cycle,
        "FlowControl": protocol.flow,
        "ServerState": protocol.server_state,
    }


@pytest.mark.parametrize("name", RELIED_ON)
def test_each_uvicorn_attribute_the_edge_relies_on_is_still_there(
    uvicorns_own: dict[str, object], name: str
) -> None:
    owner, attribute = name.split(".")

    assert hasattr(uvicorns_own[owner], attribute), recheck(
        f"uvicorn's {owner} has no `{attribute}` any more. The edge relies on it: "
        f"{RELIED_ON[name]}",
        PROTOCOL_SOURCE,
    )


def test_uvicorn_still_builds_a_protocol_with_the_arguments_the_edge_takes() -> None:
    parameters = list(inspect.signature(HttpToolsProtocol.__init__).parameters)

    assert parameters == ["self", "config", "server_state", "app_state", "_loop"], recheck(
        f"HttpToolsProtocol.__init__ now takes {parameters}",
        "EdgeProtocol.__init__ (impl/edge/protocol.py)",
    )


@dataclass
class ProtocolCode:
    """What EdgeProtocol's source does with uvicorn's objects, read from its syntax tree."""

    own_state: set[str] = field(default_factory=set)
    own_methods: set[str] = field(default_factory=set)
    extended: set[str] = field(default_factory=set)
    read_on_self: set[str] = field(default_factory=set)
    read_on: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of_edge_protocol(cls) -> "ProtocolCode":
        (class_node,) = ast.parse(inspect.getsource(EdgeProtocol)).body
        assert isinstance(class_node, ast.ClassDef)
        code = cls()
        for statement in class_node.body:
            if isinstance(statement, ast.FunctionDef):
                code.own_methods.add(statement.name)
                if statement.name == "__init__":
                    code.own_state = {
                        name
                        for node in ast.walk(statement)
                        for target in _assigned(node)
                        if (name := _on_self(target)) is not None
                    }
        for node in ast.walk(class_node):
            if not isinstance(node, ast.Attribute):
                continue
            if _on_self(node) is not None:
                code.read_on_self.add(node.attr)
            elif _is_super_call(node.value):
                code.extended.add(node.attr)
            elif isinstance(node.value, ast.Name) and node.value.id == "cycle":
                code.read_on.setdefault("RequestResponseCycle", set()).add(node.attr)
            elif (holder := _on_self(node.value)) in HELD_BY_THE_PROTOCOL:
                owner = HELD_BY_THE_PROTOCOL[holder]
                code.read_on.setdefault(owner, set()).add(node.attr)
        return code

    def uvicorns_used(self) -> set[str]:
        """Each uvicorn attribute the code reads, extends or overrides, as Owner.name."""
        overridden = self.own_methods & set(dir(HttpToolsProtocol))
        on_protocol = (self.read_on_self - self.own_state - self.own_methods) | self.extended
        return {f"HttpToolsProtocol.{name}" for name in on_protocol | overridden} | {
            f"{owner}.{name}" for owner, names in self.read_on.items() for name in names
        }


# uvicorn's objects the protocol holds, by the attribute that holds them.
HELD_BY_THE_PROTOCOL = {"flow": "FlowControl", "server_state": "ServerState"}


def _on_self(node: ast.AST) -> str | None:
    """`name` if the node is `self.name`."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.attr if node.value.id == "self" else None
    return None


def _assigned(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, ast.AnnAssign):
        return [node.target]
    return []


def _is_super_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def test_the_list_names_every_uvicorn_attribute_the_edge_protocol_uses() -> None:
    used = ProtocolCode.of_edge_protocol().uvicorns_used()

    assert used - set(RELIED_ON) == set(), (
        f"{PROTOCOL_SOURCE} uses uvicorn's {sorted(used - set(RELIED_ON))}, which RELIED_ON "
        "does not name: add each, with what the edge does with it"
    )
    assert set(RELIED_ON) - used == set(), (
        f"RELIED_ON names {sorted(set(RELIED_ON) - used)}, which {PROTOCOL_SOURCE} no longer "
        "uses: remove them"
    )


def test_the_edge_protocols_own_names_are_not_uvicorns(
    uvicorns_own: dict[str, object],
) -> None:
    # A name uvicorn takes for itself in a later release would be overwritten by ours, or ours
    # by it, silently.
    code = ProtocolCode.of_edge_protocol()
    uvicorns = set(dir(uvicorns_own["HttpToolsProtocol"]))
    meant = {name.split(".")[1] for name in RELIED_ON if name.startswith("HttpToolsProtocol.")}

    shared = (code.own_state | code.own_methods) & uvicorns - meant

    assert shared == set(), recheck(
        f"uvicorn's HttpToolsProtocol now has {sorted(shared)} too: rename EdgeProtocol's",
        PROTOCOL_SOURCE,
    )


def test_each_worker_receives_the_edge_limits_with_its_config() -> None:
    # uvicorn's supervisor starts its workers with `spawn`, handing each the Config pickled.
    config = EdgeConfig("impl.runtime:create_production_app", edge_limits=LIMITS, factory=True)

    received = pickle.loads(pickle.dumps(config))  # noqa: S301 (our own bytes)

    assert received.edge_limits == LIMITS


# A real uvicorn Server, in this process: what the lifecycle and the edge expect of it.


@dataclass
class ServedOnce:
    server: Server
    handlers_when_the_lifespan_began: dict[int, object]
    refusals: RecordedRefusals
    refused: bytes
    stopped_by_sigterm: bool
    stopping_when_the_lifespan_ended: bool
    handlers_after: dict[int, object]
    signals_after: list[int]


class HandlerBeforeTheServer:
    """What handled SIGTERM and SIGINT before the server started: it hears what uvicorn raises
    again once it has shut down."""

    def __init__(self) -> None:
        self.heard: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.heard.append(signum)


HANDLED = (signal.SIGTERM, signal.SIGINT)


@pytest.fixture(scope="module")
def served_once() -> Iterator[ServedOnce]:
    """Serves a Starlette app whose lifespan watches signals and hands the edge an observer, as
    the service's does; sends it a request the edge refuses, then SIGTERM."""
    assert threading.current_thread() is threading.main_thread(), (
        "uvicorn handles signals from the main thread only: run this test there"
    )
    before = HandlerBeforeTheServer()
    originals = {signum: signal.signal(signum, before) for signum in HANDLED}
    try:
        yield asyncio.run(_serve_once(before))
    finally:
        for signum, original in originals.items():
            signal.signal(signum, original)


async def _serve_once(before: HandlerBeforeTheServer) -> ServedOnce:
    refusals = RecordedRefusals()
    lifecycle = Lifecycle(drain_seconds=0)
    began: dict[int, object] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        began.update({signum: signal.getsignal(signum) for signum in HANDLED})
        with lifecycle.watching_signals():
            yield {EDGE_OBSERVER_STATE: refusals}

    config = EdgeConfig(
        Starlette(lifespan=lifespan),
        edge_limits=LIMITS,
        http=EdgeProtocol,
        ws="none",
        log_config=None,
        timeout_graceful_shutdown=1,
    )
    server = Server(config)
    listener = socket.create_server(("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    async with asyncio.timeout(WAIT_SECONDS):
        # The listener is bound already: the connection waits in its backlog until the lifespan
        # has begun and uvicorn accepts.
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        writer.write(b"GARBAGE\r\n\r\n")
        refused = await reader.read()
        writer.close()
    signal.raise_signal(signal.SIGTERM)
    stopped, _ = await asyncio.wait({serving}, timeout=WAIT_SECONDS)
    if not stopped:
        # Stopped the way uvicorn's own tests stop it, so that the failure is reported.
        server.should_exit = True
        await serving
    return ServedOnce(
        server,
        began,
        refusals,
        refused,
        bool(stopped),
        lifecycle.stopping,
        {signum: signal.getsignal(signum) for signum in HANDLED},
        list(before.heard),
    )


def test_uvicorns_signal_handler_is_installed_before_the_lifespan_begins(
    served_once: ServedOnce,
) -> None:
    # The lifecycle puts its handler in front of the one it finds when the lifespan begins, and
    # calls that one after the drain: it must be the server's.
    handle_exit = served_once.server.handle_exit

    assert served_once.handlers_when_the_lifespan_began == dict.fromkeys(HANDLED, handle_exit), (
        recheck(
            "When the lifespan began, SIGTERM and SIGINT were not handled by Server.handle_exit, "
            "so the drain would not hold uvicorn back, nor hand it the signal",
            "Lifecycle.watching_signals (impl/lifecycle.py)",
        )
    )


def test_sigterm_through_the_lifecycle_stops_uvicorn(served_once: ServedOnce) -> None:
    assert served_once.stopped_by_sigterm, recheck(
        "SIGTERM, handed on by the lifecycle, did not stop uvicorn's server",
        "Lifecycle._stop_server (impl/lifecycle.py)",
    )
    assert served_once.stopping_when_the_lifespan_ended


def test_uvicorn_hands_the_signal_back_once_it_has_shut_down(served_once: ServedOnce) -> None:
    # `taskapi serve` and `run` turn SIGTERM into their exit status when uvicorn raises it again.
    assert served_once.signals_after == [signal.SIGTERM], recheck(
        "uvicorn did not raise SIGTERM again once it had shut down",
        "develop() and serve() (impl/cli.py)",
    )
    assert all(
        isinstance(handler, HandlerBeforeTheServer)
        for handler in served_once.handlers_after.values()
    ), "uvicorn did not put back the handlers it found"


def test_uvicorn_hands_the_lifespans_state_to_the_edge_protocol(served_once: ServedOnce) -> None:
    assert served_once.refused.startswith(b"HTTP/1.1 400 "), served_once.refused
    assert served_once.refusals.heard == [(400, "bad_request")], recheck(
        "The edge protocol did not find the observer the lifespan put in its state",
        "EdgeProtocol.__init__ (impl/edge/protocol.py) and the lifespan (impl/app.py)",
    )
