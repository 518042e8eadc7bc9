"""Logs: one JSON object per line for machines (`serve`), or plain lines for people (`make run`).

Every request ends in one access line: time, method, route template, status, latency, the
server's request id, the client's correlation id, and a keyed hash of the user id, so one user's
requests can be followed without the log holding who they are. Never a token, a body or a secret.
"""

import hashlib
import hmac
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

from contract_runtime.security import Principal

ACCESS_LOGGER = "taskapi.access"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
USER_HASH_LABEL = b"taskapi log user id"
USER_HASH_HEX_DIGITS = 16
REMEMBERED_USER_HASHES = 4096
ACCESS_MESSAGE = "%s %s %d %.1f ms request_id=%s correlation_id=%s user=%s"

LogFormat = Literal["json", "text"]


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message, its fields, any stack trace."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Every logger (uvicorn's too) writes to stderr in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in root.handlers[:]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # No formatter here prints thread or process names: not looking them up for every record
    # makes each one (an access line per request) cheaper.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class UserIdHasher:
    """A keyed hash of a user id: stable for one key, useless to anyone without it.

    The hashes of recent users are remembered: a user's requests come in runs.
    """

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), USER_HASH_LABEL, hashlib.sha256).digest()
        self._recent: dict[str, str] = {}

    def __call__(self, user_id: str) -> str:
        known = self._recent.get(user_id)
        if known is not None:
            return known
        digest = hmac.new(self._key, user_id.encode(), hashlib.sha256).hexdigest()
        if len(self._recent) >= REMEMBERED_USER_HASHES:
            self._recent.clear()
        self._recent[user_id] = hashed = digest[:USER_HASH_HEX_DIGITS]
        return hashed


class AccessLog:
    """The one line each request leaves, in the format of the other log lines, when the
    `taskapi.access` logger is enabled for INFO.

    The line is written straight to the stream, not through a LogRecord and the handlers: that
    path (the record, the caller lookup, the handler's lock, the formatter) cost a small request
    a sixth of its time. Only the event loop's thread writes it; a line is one write.
    """

    def __init__(
        self, hash_user_id: UserIdHasher, log_format: LogFormat, stream: TextIO | None = None
    ) -> None:
        self._logger = logging.getLogger(ACCESS_LOGGER)
        self._hash_user_id = hash_user_id
        self._json = log_format == "json"
        self._stream = stream

    def request_finished(
        self,
        *,
        method: str,
        route: str,
        status: int,
        seconds: float,
        request_id: str,
        correlation_id: str | None,
        principal: Principal | None,
    ) -> None:
        if not self._logger.isEnabledFor(logging.INFO):
            return
        now = time.time()
        milliseconds = round(seconds * 1000, 3)
        user = self._hash_user_id(principal.user_id) if principal is not None else None
        message = ACCESS_MESSAGE % (
            method,
            route,
            status,
            milliseconds,
            request_id,
            correlation_id or "-",
            user or "-",
        )
        if self._json:
            line = orjson.dumps(
                {
                    "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
                    "level": "INFO",
                    "logger": ACCESS_LOGGER,
                    "message": message,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": milliseconds,
                    "request_id": request_id,
                    "correlation_id": correlation_id,
                    "user": user,
                }
            ).decode()
        else:
            line = TEXT_FORMAT % {
                "asctime": _text_time(now),
                "levelname": "INFO",
                "name": ACCESS_LOGGER,
                "message": message,
            }
        # sys.stderr looked up now, as logging's own handler does, so redirections apply.
        (self._stream or sys.stderr).write(line + "\n")


def _text_time(now: float) -> str:
    """`asctime` as logging's default formatter writes it: local time, comma, milliseconds."""
    milliseconds = int(now * 1000) % 1000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{milliseconds:03d}"
