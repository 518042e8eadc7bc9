"""The Server-Sent Events wire format (WHATWG HTML, 9.2), as the streams write it."""

from collections.abc import Mapping

import orjson

# A comment line: readers skip it, proxies see bytes pass and keep the stream open.
HEARTBEAT = b": keep-alive\n\n"


def retry(milliseconds: int) -> bytes:
    """How long a client waits before it reconnects."""
    return b"retry: %d\n\n" % milliseconds


def event(name: str, data: Mapping[str, object], event_id: str | None = None) -> bytes:
    """One event; its data as one line of JSON (orjson never writes a line break)."""
    head = b"event: " + name.encode() + b"\n"
    if event_id is not None:
        # Sync tokens are base64url: no line breaks, no NUL, nothing to escape.
        head += b"id: " + event_id.encode() + b"\n"
    return head + b"data: " + orjson.dumps(data, option=orjson.OPT_UTC_Z) + b"\n\n"
