"""What a move's body may not say, for tasks and lists alike: both neighbours, itself as one, or
a neighbour that is not there."""

from typing import Any

from pydantic import MISSING

from impl.errors import ApiError, ErrorCode


class NeighbourNotThere(ApiError):
    """422 naming the neighbour field: not one of the user's, not in that list, or the moved item
    itself."""

    def __init__(self, field: str, message: str = "No such neighbour at the new place") -> None:
        super().__init__(
            ErrorCode.VALIDATION_FAILED,
            details=[{"location": ["body", field], "message": message, "type": "neighbour"}],
        )


def neighbours(body: Any, moved_id: int) -> tuple[int | None, int | None]:
    """`after_id` and `before_id` of a move's body (None when absent), refused when both are
    sent or when one is the moved item itself."""
    after = None if body.after_id is MISSING else int(body.after_id)
    before = None if body.before_id is MISSING else int(body.before_id)
    if after is not None and before is not None:
        raise NeighbourNotThere("before_id", "Send after_id or before_id, not both")
    for field, neighbour in (("after_id", after), ("before_id", before)):
        if neighbour == moved_id:
            raise NeighbourNotThere(field, "An item is not its own neighbour")
    return after, before
