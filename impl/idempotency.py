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


async def earlier_answer(
    connection: asyncpg.Connection, user_id: str, keyed: KeyedRequest
) -> RecordedAnswer | None:
    """What the key holds, if anything, once it is this transaction's alone: expired keys
    forgotten first, so that one past its lifetime holds nothing."""
    await connection.execute(LOCK_KEY, user_id, keyed.key)
    await connection.execute(FORGET_EXPIRED_KEYS, user_id, keyed.lifetime)
    earlier = await connection.fetchrow(FIND_KEY, user_id, keyed.key)
    return None if earlier is None else recorded_answer(earlier)


async def remember(
    connection: asyncpg.Connection, user_id: str, keyed: KeyedRequest, answer: Any
) -> None:
    """Keep `answer`, rendered, under the key, in the transaction that wrote what it says."""
    await connection.execute(
        REMEMBER_KEY, user_id, keyed.key, keyed.request_hash, keyed.render(answer)
    )


class IdempotencyKeyReused(ApiError):
    def __init__(self) -> None:
        super().__init__(ErrorCode.IDEMPOTENCY_KEY_REUSED, details={"header": "Idempotency-Key"})
