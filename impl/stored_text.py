"""Text as stored: in Unicode NFC, within the contract's limits counted there too."""

from typing import Any

from generated.models import Tag, TaskInput, TodoListInput
from impl.errors import ApiError, ErrorCode
from impl.tasks.tags import canonical


class LongerInNfc(ApiError):
    """A text within its limit as sent, past it in NFC, as the contract counts its characters.

    A few characters have a longer NFC form (U+FB2C is three code points): the schema's limit,
    checked on what was sent, cannot see it.
    """

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(
            ErrorCode.VALIDATION_FAILED,
            details=[
                {
                    "location": ["body", field],
                    "message": f"String should have at most {limit} characters in Unicode NFC",
                    "type": "string_too_long",
                }
            ],
        )


def _max_length(metadata: list[Any]) -> int:
    """The contract's maxLength, as the generated model's field holds it (`MaxLen`)."""
    return int(next(item.max_length for item in metadata if hasattr(item, "max_length")))


# The contract's limits, checked again on the text as stored: NFC may lengthen what passed them.
MAX_LENGTHS = {
    "title": _max_length(TaskInput.model_fields["title"].metadata),
    "description": _max_length(TaskInput.model_fields["description"].metadata),
    "tags": _max_length(Tag.model_fields["root"].metadata),
    "name": _max_length(TodoListInput.model_fields["name"].metadata),
}


def stored_text(field: str, text: str) -> str:
    """A title, description or list name as stored: in NFC, within its limit there too."""
    stored = canonical(text)
    if len(stored) > MAX_LENGTHS[field]:
        raise LongerInNfc(field, MAX_LENGTHS[field])
    return stored
