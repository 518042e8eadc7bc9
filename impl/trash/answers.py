"""What a restore answers: the task or list it brought back (or that an earlier restore did),
else why there is none. Shared by the trash's own operations and a batch's restore."""

from typing import Any

from impl.errors import ApiError, ErrorCode
from impl.trash.repository import Restored, Taken
from impl.versioned import precondition_failed

TRASHED = "It has changed since the version named in If-Match."


class NotInTrash(ApiError):
    """Also what another user's trash looks like: existence is never revealed."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.NOT_FOUND, "Not in the trash.")


def restored(outcome: Restored) -> dict[str, Any]:
    """The task or list restored, or as it is when an earlier restore brought it back (a
    retried restore); else why there is none."""
    if outcome.written is not None:
        return outcome.written
    assert outcome.taken is not None
    if outcome.taken.live is not None:
        return outcome.taken.live
    raise refusal(outcome.taken)


def refusal(taken: Taken) -> ApiError:
    """412 with the item as it is in the trash, when it is there; else 404."""
    if taken.trashed is not None:
        return precondition_failed(taken.trashed, TRASHED)
    return NotInTrash()
