"""Entity tags in conditional requests (RFC 9110, section 13): `If-Match` and `If-None-Match`."""

import re
from dataclasses import dataclass

# One entity tag: optionally weak (`W/`), then a quoted string without quotes inside.
ENTITY_TAG = r'(W/)?("[\x21\x23-\x7E\x80-\xFF]*")'
# `*`, or a comma-separated list of at least one entity tag. A list may hold empty elements
# (`"1", , "2"`), which a recipient skips (RFC 9110, 5.6.1.2).
ENTITY_TAG_LIST = re.compile(
    r"[ \t]*\*[ \t]*"
    rf"|(?:[ \t]*,)*[ \t]*{ENTITY_TAG}(?:[ \t]*,(?:[ \t]*{ENTITY_TAG})?)*[ \t]*"
)
ENTITY_TAGS = re.compile(ENTITY_TAG)


@dataclass(frozen=True, slots=True)
class EntityTags:
    """What a conditional header names: any current version (`*`), or a set of entity tags."""

    any: bool
    strong: frozenset[str]
    weak: frozenset[str]

    def match_weakly(self, etag: str) -> bool:
        """If-None-Match: weak and strong tags both match."""
        return self.any or etag in self.strong or etag in self.weak


def parse_entity_tags(header: str) -> EntityTags:
    """The tags a header names; ValueError if it is neither `*` nor a list of entity tags."""
    if ENTITY_TAG_LIST.fullmatch(header) is None:
        raise ValueError("neither * nor a list of entity tags")
    if header.strip() == "*":
        return EntityTags(any=True, strong=frozenset(), weak=frozenset())
    strong: set[str] = set()
    weak: set[str] = set()
    for weakness, tag in ENTITY_TAGS.findall(header):
        (weak if weakness else strong).add(tag)
    return EntityTags(any=False, strong=frozenset(strong), weak=frozenset(weak))
