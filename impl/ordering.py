"""The SQL of a manual order, shared by the repositories of tasks (each list's order) and of
lists (each user's): read the siblings a moved item goes between, and respace them when the gap
is too narrow (impl/positions.py, ADR 0014).

Siblings are the rows of one group, ordered by (position, id): a user's tasks of one list, or a
user's lists. Every statement takes the user ($1), the group ($2), the moved row's id ($3), which
is no sibling of its own, and, for a neighbour's neighbour, that neighbour's (position, id).
"""

from dataclasses import dataclass

import asyncpg

from impl.observability.naming import named
from impl.positions import place_between

Sibling = tuple[str, int]


class NeighbourMissing(Exception):
    """A move named a neighbour that is not a sibling at the new place."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True, slots=True)
class Place:
    """After or before a neighbour (neither: last)."""

    after_id: int | None
    before_id: int | None


@dataclass(frozen=True)
class SiblingOrder:
    """The statements that read one kind of manual order."""

    neighbour: str
    next_after: str
    next_before: str
    last: str
    siblings: str

    async def neighbours(
        self, connection: asyncpg.Connection, scope: tuple[str, object, int], place: Place
    ) -> tuple[Sibling | None, Sibling | None]:
        """The siblings the moved row goes between, None at an end of the order."""
        if place.after_id is None and place.before_id is None:
            return _sibling(await connection.fetchrow(self.last, *scope)), None
        anchor_id, field = (
            (place.after_id, "after_id") if place.after_id else (place.before_id, "before_id")
        )
        anchor = _sibling(await connection.fetchrow(self.neighbour, *scope, anchor_id))
        if anchor is None:
            raise NeighbourMissing(field)
        if place.after_id:
            return anchor, _sibling(await connection.fetchrow(self.next_after, *scope, *anchor))
        return _sibling(await connection.fetchrow(self.next_before, *scope, *anchor)), anchor

    async def key_between(
        self,
        connection: asyncpg.Connection,
        scope: tuple[str, object, int],
        lower: Sibling | None,
        upper: Sibling | None,
    ) -> tuple[str, dict[int, str]]:
        """The moved row's key between `lower` and `upper`, and the siblings respaced to make
        room, by id: the whole order is read only when the gap is too narrow or its neighbours
        tie."""
        neighbours = [sibling for sibling in (lower, upper) if sibling is not None]
        key, moved = place_between(neighbours, 1 if lower is not None else 0)
        if not moved:
            return key, moved
        records = await connection.fetch(self.siblings, *scope)
        siblings = [(record["position"], record["id"]) for record in records]
        gap = siblings.index(lower) + 1 if lower is not None else 0
        return place_between(siblings, gap)


def sibling_order(name: str, table: str, group: str) -> SiblingOrder:
    """The statements of an order (`name`) of `table`'s rows, whose siblings are the user's
    rows where `group` (SQL on $2) holds."""
    rows = f"FROM {table} WHERE user_id = $1 AND {group} AND id <> $3"
    return SiblingOrder(
        neighbour=named(f"read_neighbour_in_{name}", f"SELECT position, id {rows} AND id = $4"),
        next_after=named(
            f"read_next_in_{name}",
            f"SELECT position, id {rows} AND (position, id) > ($4, $5)"
            " ORDER BY position, id LIMIT 1",
        ),
        next_before=named(
            f"read_previous_in_{name}",
            f"SELECT position, id {rows} AND (position, id) < ($4, $5)"
            " ORDER BY position DESC, id DESC LIMIT 1",
        ),
        last=named(
            f"read_last_in_{name}",
            f"SELECT position, id {rows} ORDER BY position DESC, id DESC LIMIT 1",
        ),
        siblings=named(
            f"read_order_of_{name}", f"SELECT position, id {rows} ORDER BY position, id"
        ),
    )


def already_there(mine: Sibling, lower: Sibling | None, upper: Sibling | None) -> bool:
    """Whether a row at `mine` sits between the neighbours of its new place already."""
    return (lower is None or lower < mine) and (upper is None or mine < upper)


def _sibling(record: asyncpg.Record | None) -> Sibling | None:
    return None if record is None else (record["position"], record["id"])
