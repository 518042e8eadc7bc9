"""uvicorn's configuration, carrying the edge's limits to every worker process."""

from typing import Any

from uvicorn import Config

from impl.edge.limits import EdgeLimits


class EdgeConfig(Config):
    """A uvicorn Config with the edge's limits: workers receive the configuration pickled, so
    the limits travel with it to each one's protocol."""

    def __init__(self, app: Any, *, edge_limits: EdgeLimits, **options: Any) -> None:
        super().__init__(app, **options)
        self.edge_limits = edge_limits
