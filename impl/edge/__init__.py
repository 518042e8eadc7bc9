"""The HTTP/1.1 edge: how the server reads requests before the application sees them."""

from typing import Protocol, runtime_checkable

# The key under which the app's lifespan hands the edge its observer: uvicorn gives the
# lifespan's state to every connection's protocol.
EDGE_OBSERVER_STATE = "taskapi.edge_observer"


@runtime_checkable
class EdgeObserver(Protocol):
    """Hears of each request the edge answered itself, which the application never sees."""

    def edge_refused(self, status: int, code: str) -> None: ...

    def slow_reader_dropped(self) -> None: ...
