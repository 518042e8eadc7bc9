"""Run uvicorn on an EdgeConfig, in one process or as a supervisor of worker processes."""

import sys

from uvicorn import Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from impl.edge.config import EdgeConfig


def run(config: EdgeConfig) -> None:
    """What `uvicorn.run` does with its Config, for ours (it builds its own from keywords)."""
    server = Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if not server.started and config.workers == 1:
        sys.exit(STARTUP_FAILURE)
