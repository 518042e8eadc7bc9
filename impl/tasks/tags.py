"""Text as stored: titles and descriptions in Unicode NFC; tags also trimmed, lower-case, once.

NFC gives canonically equivalent spellings one form ("é" precomposed, or "e" and a combining
accent), so that the same text compares, searches and deduplicates as one.
"""

import unicodedata
from collections.abc import Iterable

# ECMA-262's whitespace (what the contract's patterns mean by it), which Python's str.strip()
# does not quite match: it leaves U+FEFF in place.
WHITESPACE = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def canonical(text: str) -> str:
    """`text` in NFC; a few characters have a longer NFC form (U+FB2C is three code points)."""
    return unicodedata.normalize("NFC", text)


def normalize_tag(tag: str) -> str:
    """Trimmed, lower-cased, in NFC.

    `str.lower()` turns a few characters into two ('İ' into 'i' and a combining dot); those keep
    only the first, as PostgreSQL's lower() does. NFC comes first, so that every spelling of a
    tag is lower-cased alike, and again last: a letter lower-cased may compose with the mark after
    it ('İ' and an acute accent become 'í').
    """
    trimmed = canonical(tag).strip(WHITESPACE)
    lowered = trimmed.lower()
    if len(lowered) != len(trimmed):
        lowered = "".join(character.lower()[0] for character in trimmed)
    return canonical(lowered)


def normalize_tags(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(normalize_tag(tag) for tag in tags))
