"""How big and how slow a request's head may be, and how slowly a client may read an answer,
read from the settings once per server."""

from dataclasses import dataclass

from impl.settings import Settings


@dataclass(frozen=True)
class EdgeLimits:
    max_url_bytes: int
    max_header_bytes: int
    header_timeout_seconds: float
    # How long writing may stay paused (the client reads nothing, its buffers are full).
    send_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "EdgeLimits":
        return cls(
            max_url_bytes=settings.max_url_bytes,
            max_header_bytes=settings.max_header_bytes,
            header_timeout_seconds=settings.header_timeout_seconds,
            send_timeout_seconds=settings.send_timeout_seconds,
        )
