"""What a list request asks for: its filters, its order, and where its page starts."""

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

Status = Literal["all", "pending", "completed"]
SortField = Literal["created_at", "updated_at", "due_at", "priority", "title", "manual"]
SORT_FIELDS: tuple[SortField, ...] = (
    "created_at",
    "updated_at",
    "due_at",
    "priority",
    "title",
    "manual",
)


@dataclass(frozen=True, slots=True)
class Sort:
    field: SortField
    descending: bool

    @classmethod
    def parse(cls, value: str) -> "Sort":
        """`title` or `-title`; the contract's enum has already refused anything else."""
        name = value.removeprefix("-")
        field = next(f for f in SORT_FIELDS if f == name)
        return cls(field, descending=value.startswith("-"))

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Every condition combines with every other; None (or empty) means "no condition"."""

    list_id: int | None = None
    parent_id: int | None = None
    top_level: bool | None = None
    status: Status = "all"
    priorities: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    text: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None

    def fingerprint(self) -> str:
        """A digest of the filter, equal for equal filters (a cursor is bound to it).

        A few bytes whatever the filter holds: twenty tags and a search text carried whole made
        a cursor longer than the contract lets a client send it back.
        """
        values: list[Any] = [
            self.status,
            sorted(self.priorities),
            sorted(self.tags),
            self.text,
            _instant(self.due_before),
            _instant(self.due_after),
            self.overdue,
        ]
        # The filters of version 2.3, only when set: a cursor of 2.2 stays valid across it.
        placement = [self.list_id, self.parent_id, self.top_level]
        if any(value is not None for value in placement):
            values.append(placement)
        digest = hashlib.sha256(orjson.dumps(values)).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode("ascii")


@dataclass(frozen=True, slots=True)
class PageStart:
    """The sort key and id of the last item of the previous page: the page starts after it."""

    key: Any
    task_id: int


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()
