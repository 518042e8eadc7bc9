"""Tags as stored: trimmed, lower-case, each once, in the order first given."""

from collections.abc import Iterable

# ECMA-262's whitespace (what the contract's patterns mean by it), which Python's str.strip()
# does not quite match: it leaves U+FEFF in place.
WHITESPACE = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def normalize_tag(tag: str) -> str:
    """Trimmed and lower-cased, never longer than the trimmed tag.

    `str.lower()` turns a few characters into two ('İ' into 'i' and a combining dot); those keep
    only the first, as PostgreSQL's lower() does, so a valid tag cannot grow past the limit.
    """
    trimmed = tag.strip(WHITESPACE)
    lowered = trimmed.lower()
    if len(lowered) == len(trimmed):
        return lowered
    return "".join(character.lower()[0] for character in trimmed)


def normalize_tags(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(normalize_tag(tag) for tag in tags))
