"""Tag normalization is stable, and on tags stored before NFC it is NFC alone.

So a tag filter, normalized like tags, finds stored tags; and tags stored by earlier releases
(trimmed and lower-cased, not put in NFC) need only PostgreSQL's normalize(tag, NFC) to become
what the service stores now, but for a capital I with a dot above sent decomposed.
"""

import sys
import unicodedata

import pytest

from impl.tasks.tags import normalize_tag

# Every character that lower-casing or NFC may change: the others are left as they are.
CHANGEABLE = [
    character
    for character in map(chr, range(sys.maxunicode + 1))
    if unicodedata.decomposition(character) or character.lower() != character
]
# Letters, each alone and followed by marks it composes with or not.
MARKS = ("\u0301", "\u0307", "\u0308\u0301", "\u0323\u0302", "\u0345")
# The exception: 'İ' lower-cases to 'i' alone, and a capital I followed by a combining dot above
# (its decomposed spelling) was stored as 'i' and the dot; in NFC first, it now becomes 'i' too.
DOTTED_CAPITAL_I = ("I", "\u0130")
LETTERS = ("E", "e", "I", "\u0130", "\u0131", "\u03a9", "\u2126", "\u212a", "\u1e9e", "\u01c5")


def stored_before_nfc(tag: str) -> str:
    """What earlier releases stored: each character lower-cased alone, its first character kept."""
    return "".join(character.lower()[:1] for character in tag)


def test_given_a_normalized_tag_when_normalized_again_then_it_is_unchanged() -> None:
    unstable = [
        character
        for character in CHANGEABLE
        if normalize_tag(normalize_tag(character)) != normalize_tag(character)
    ]

    assert unstable == []


def test_given_a_tag_stored_before_nfc_when_put_in_nfc_then_it_is_what_is_stored_now() -> None:
    different = [
        character
        for character in CHANGEABLE
        if unicodedata.normalize("NFC", stored_before_nfc(character)) != normalize_tag(character)
        and not character.isspace()
        and character != "\ufeff"
    ]

    assert different == []


@pytest.mark.parametrize("letter", LETTERS)
@pytest.mark.parametrize("marks", MARKS)
def test_given_a_letter_and_marks_then_every_spelling_is_one_tag_in_nfc(
    letter: str, marks: str
) -> None:
    spellings = {unicodedata.normalize(form, letter + marks) for form in ("NFC", "NFD")}

    tags = {normalize_tag(spelling) for spelling in spellings}

    assert len(tags) == 1
    (tag,) = tags
    assert unicodedata.is_normalized("NFC", tag)
    if letter not in DOTTED_CAPITAL_I:
        assert unicodedata.normalize("NFC", stored_before_nfc(letter + marks)) == tag
