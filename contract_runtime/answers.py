"""What an implementation answers with besides a document: the HTTP terms the route sends."""

from dataclasses import dataclass
from typing import Generic, TypeVar

BodyT = TypeVar("BodyT")


@dataclass(frozen=True, slots=True)
class Created(Generic[BodyT]):
    """A 201 answer: the new resource, the URL it can be fetched from and its entity tag.

    `replayed` marks the stored answer to an earlier request with the same idempotency key.
    """

    body: BodyT
    location: str
    etag: str | None = None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Tagged(Generic[BodyT]):
    """An answer about one version of a resource: its document and its strong entity tag."""

    body: BodyT
    etag: str


@dataclass(frozen=True, slots=True)
class Replayable(Generic[BodyT]):
    """A document that an idempotency key may have stored: `replayed` marks the stored answer to
    an earlier request with the same key."""

    body: BodyT
    replayed: bool = False
