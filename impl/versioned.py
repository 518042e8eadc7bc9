"""What tasks and task lists share as versioned resources: the ETag, the versions an If-Match
allows, and what a conditional write answers."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from contract_runtime.conditional import parse_entity_tags
from impl.errors import ApiError, ErrorCode

INT64_MAX = 2**63 - 1
R = TypeVar("R", bound=Mapping[str, Any])


@dataclass(frozen=True, slots=True)
class Outcome(Generic[R]):
    """What a conditional write did: `written` True with the resource as written; else the
    resource as it is (None: there is none), to tell a failed If-Match from a write that would
    change nothing."""

    written: bool
    current: R | None


def entity_tag(resource: Mapping[str, Any]) -> str:
    """The resource's strong ETag: its version, quoted."""
    return f'"{resource["version"]}"'


def allowed_versions(if_match: str | None) -> list[int] | None:
    """The versions an If-Match header allows; None when it allows any (absent, or `*`).

    Only strong tags that are versions can match; a weak or foreign tag never does.
    """
    if if_match is None:
        return None
    tags = parse_entity_tags(if_match)
    if tags.any:
        return None
    versions = []
    for tag in tags.strong:
        digits = tag.strip('"')
        is_version = digits.isascii() and digits.isdigit() and not digits.startswith("0")
        if is_version and int(digits) <= INT64_MAX:
            versions.append(int(digits))
    return versions


def precondition_failed(current: Mapping[str, Any], message: str | None = None) -> ApiError:
    """412, with the resource as it is now and its ETag."""
    return ApiError(
        ErrorCode.PRECONDITION_FAILED,
        message,
        details={"current": current},
        headers={"ETag": entity_tag(current)},
    )


@dataclass(frozen=True)
class Vocabulary:
    """How a kind of resource is named in its errors."""

    not_found: Callable[[], ApiError]
    changed: str | None = None

    def found(self, resource: R | None) -> R:
        if resource is None:
            raise self.not_found()
        return resource

    def deleted(self, outcome: Outcome[R]) -> None:
        """Nothing when the deletion went; else why not: there is none (404), or If-Match
        failed (412, with the resource as it is)."""
        if not outcome.written:
            raise precondition_failed(self.found(outcome.current), self.changed)

    def answer(self, outcome: Outcome[R], versions: list[int] | None) -> R:
        """The resource a write answers with; when it changed nothing, why: there is none (404),
        If-Match failed (412), or the write would not change it (the resource as it is)."""
        current = self.found(outcome.current)
        if outcome.written:
            return current
        if versions is not None and current["version"] not in versions:
            raise precondition_failed(current, self.changed)
        return current
