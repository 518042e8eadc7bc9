"""Idempotent creation, as tasks and task lists share it: a user's keys are one set, each holding
a hash of its request and the answer to replay."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from impl.errors import ApiError, ErrorCode
from impl.observability.naming import named

# Idempotent creation: one transaction per key at a time (the advisory lock), so that of
# concurrent requests with one key exactly one creates and the others find its answer.
LOCK_KEY = named(
    "lock_idempotency_key",
    "SELECT pg_advisory_xact_lock(hashtextextended($1 || E'\\n' || $2, 0))",
)
FORGET_EXPIRED_KEYS = named(
    "forget_expired_idempotency_keys",
    """
    DELETE FROM idempotency_keys
    WHERE user_id = $1 AND created_at < clock_timestamp() - $2::interval
""",
)
FIND_KEY = named(
    "find_idempotency_key",
    "SELECT request_hash, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
)
REMEMBER_KEY = named(
    "remember_idempotency_key",
    """
    INSERT INTO idempotency_keys (user_id, key, request_hash, response) VALUES ($1, $2, $3, $4)
""",
)


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """What an idempotency key holds: a hash of its request and the answer's body."""

    request_hash: bytes
    response: bytes


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """A create sent with an idempotency key: the key, the hash of what it asks, how long the
    key is kept, and how the answer it keeps is rendered."""

    key: str
    request_hash: bytes
    lifetime: timedelta
    render: Callable[[Any], bytes]


def recorded_answer(record: asyncpg.Record) -> RecordedAnswer:
    return RecordedAnswer(record["request_hash"], record["response"])


class IdempotencyKeyReused(ApiError):
    def __init__(self) -> None:
        super().__init__(ErrorCode.IDEMPOTENCY_KEY_REUSED, details={"header": "Idempotency-Key"})
