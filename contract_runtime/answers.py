"""What an implementation answers with besides a document: the HTTP terms the route sends."""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
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


class EventStream(ABC):
    """A 200 of Server-Sent Events (`text/event-stream`), sent as they happen until either side
    ends the stream."""

    @abstractmethod
    def events(self) -> AsyncIterator[bytes]:
        """The stream's bytes, each piece one or more whole events, as they are to be sent."""

    @abstractmethod
    def close(self) -> None:
        """Called once, when the answer is over, however it ended (the client went away, the
        stream ended, nothing was sent at all)."""
