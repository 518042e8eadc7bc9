"""Position keys for a manual order: strings that sort, byte by byte, in the order items are shown.

A key is an integer part and a fraction, in base 62 (`0-9A-Za-z`, which is also their byte order).
The integer part's first character gives its length ('a'..'z': 2..27 characters, positive;
'A'..'Z': 27..2, negative), so appending after the last item or before the first adds a character
only once in many steps; the fraction (never ending in '0') makes room between any two keys.
This is the fractional indexing of David Greenspan's "Implementing Fractional Indexing" (2020),
the scheme Figma and others use. Keys are opaque to clients: the server chooses them.

Inserting again and again into the same gap makes the fraction one character longer every six
insertions or so: keys cannot stay short by themselves, so the caller respaces a window of
neighbours when a key grows past MAX_KEY_LENGTH (ADR 0014).
"""

from collections.abc import Sequence

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)
_VALUE = {digit: value for value, digit in enumerate(DIGITS)}
# The key of the first item of an empty order.
FIRST_KEY = "a0"
# The integer part no key may have: nothing could ever sort before it.
_SMALLEST_INTEGER = "A" + "0" * 26
# Past this, a move respaces the neighbours around its gap instead (ADR 0014).
MAX_KEY_LENGTH = 32


class PositionKeyError(ValueError):
    """A key that is not a position key, or bounds given out of order."""


def key_between(before: str | None, after: str | None) -> str:
    """A key that sorts after `before` and before `after`; None is the open end on that side."""
    if before is not None:
        validate_key(before)
    if after is not None:
        validate_key(after)
    if before is not None and after is not None and before >= after:
        raise PositionKeyError(f"{before!r} is not before {after!r}")
    if before is None and after is None:
        return FIRST_KEY
    if before is None:
        assert after is not None
        integer = _integer_part(after)
        fraction = after[len(integer) :]
        if integer == _SMALLEST_INTEGER:
            return integer + _midpoint("", fraction)
        if fraction:
            return integer
        smaller = _decrement_integer(integer)
        if smaller is None:
            raise PositionKeyError("no key sorts before the smallest one")
        return smaller
    if after is None:
        integer = _integer_part(before)
        fraction = before[len(integer) :]
        larger = _increment_integer(integer)
        return integer + _midpoint(fraction, None) if larger is None else larger
    integer_before = _integer_part(before)
    fraction_before = before[len(integer_before) :]
    integer_after = _integer_part(after)
    fraction_after = after[len(integer_after) :]
    if integer_before == integer_after:
        return integer_before + _midpoint(fraction_before, fraction_after)
    larger = _increment_integer(integer_before)
    if larger is not None and larger < after:
        return larger
    return integer_before + _midpoint(fraction_before, None)


# A task that changes list keeps a key equal to the one it had only when its write gives it no
# place there: migration 0020's trigger reads an unchanged key as that, and puts the task last.
# The writes that give one never give the task its own key (`not_its_own`, `keys_after`).


def not_its_own(key: str, own: str, below: str | None) -> str:
    """`key` (a place above `below`), or, when it is `own`, another key between `below` and
    it: the same place among the neighbours."""
    return key if key != own else key_between(below, key)


def keys_after(last: str | None, owns: Sequence[str]) -> list[str]:
    """Keys in order after `last`, one per item appended in that order, none the item's own
    (`owns`, in the same order)."""
    keys: list[str] = []
    key = last
    for own in owns:
        key = not_its_own(key_between(key, None), own, key)
        keys.append(key)
    return keys


def keys_between(before: str | None, after: str | None, count: int) -> list[str]:
    """`count` keys in order strictly between the bounds, spread evenly, so as short as can be."""
    if count <= 0:
        return []
    if count == 1:
        return [key_between(before, after)]
    if after is None:
        keys = [key_between(before, None)]
        while len(keys) < count:
            keys.append(key_between(keys[-1], None))
        return keys
    if before is None:
        keys = [key_between(None, after)]
        while len(keys) < count:
            keys.append(key_between(None, keys[-1]))
        return list(reversed(keys))
    middle_index = count // 2
    middle = key_between(before, after)
    return [
        *keys_between(before, middle, middle_index),
        middle,
        *keys_between(middle, after, count - middle_index - 1),
    ]


def respace(
    keys: Sequence[str], index: int, *, longest: int = MAX_KEY_LENGTH
) -> tuple[int, list[str]]:
    """New keys for a window of ordered sibling `keys` around `index`, all at most `longest // 2`
    characters: the window doubles until its neighbours leave that much room (or it is all of
    them); neighbours that tie widen it too. Returns where the window starts and its new keys,
    which keep the window's order."""
    radius = 1
    while True:
        start, end = max(0, index - radius), min(len(keys), index + radius + 1)
        lower = keys[start - 1] if start > 0 else None
        upper = keys[end] if end < len(keys) else None
        everything = start == 0 and end == len(keys)
        # Neighbours that tie (keys made at the same time) leave no room: widen.
        if lower is None or upper is None or lower < upper:
            fresh = keys_between(lower, upper, end - start)
            if max(len(key) for key in fresh) <= longest // 2 or everything:
                return start, fresh
        radius *= 2


def validate_key(key: str) -> None:
    """Raise PositionKeyError unless `key` is a key this module could have made."""
    if not key or any(character not in _VALUE for character in key):
        raise PositionKeyError(f"{key!r} is not a position key")
    integer = _integer_part(key)
    if integer == _SMALLEST_INTEGER:
        raise PositionKeyError(f"{key!r} has the integer part no key may have")
    if key[len(integer) :].endswith("0"):
        raise PositionKeyError(f"{key!r} has a fraction ending in 0")


def _integer_length(head: str) -> int:
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise PositionKeyError(f"{head!r} does not begin a position key")


def _integer_part(key: str) -> str:
    length = _integer_length(key[0])
    if length > len(key):
        raise PositionKeyError(f"{key!r} is shorter than its integer part")
    return key[:length]


def _increment_integer(integer: str) -> str | None:
    head, digits = integer[0], list(integer[1:])
    for index in range(len(digits) - 1, -1, -1):
        value = _VALUE[digits[index]] + 1
        if value < BASE:
            digits[index] = DIGITS[value]
            return head + "".join(digits)
        digits[index] = DIGITS[0]
    # Every digit carried: the next integer is one character longer (or shorter, if negative).
    if head == "Z":
        return "a" + DIGITS[0]
    if head == "z":
        return None
    next_head = chr(ord(head) + 1)
    if next_head > "a":
        return next_head + "".join(digits) + DIGITS[0]
    return next_head + "".join(digits[:-1])


def _decrement_integer(integer: str) -> str | None:
    head, digits = integer[0], list(integer[1:])
    for index in range(len(digits) - 1, -1, -1):
        value = _VALUE[digits[index]] - 1
        if value >= 0:
            digits[index] = DIGITS[value]
            return head + "".join(digits)
        digits[index] = DIGITS[-1]
    if head == "a":
        return "Z" + DIGITS[-1]
    if head == "A":
        return None
    next_head = chr(ord(head) - 1)
    if next_head < "Z":
        return next_head + "".join(digits) + DIGITS[-1]
    return next_head + "".join(digits[:-1])


def _midpoint(low: str, high: str | None) -> str:
    """A fraction strictly between `low` and `high` (None: 1), neither ending in '0'."""
    if high is not None:
        prefix = 0
        while (low[prefix] if prefix < len(low) else "0") == high[prefix]:
            prefix += 1
        if prefix > 0:
            return high[:prefix] + _midpoint(low[prefix:], high[prefix:])
    low_digit = _VALUE[low[0]] if low else 0
    high_digit = _VALUE[high[0]] if high else BASE
    if high_digit - low_digit > 1:
        return DIGITS[(low_digit + high_digit) // 2]
    # Adjacent digits: keep the lower one and make room after it.
    if high is not None and len(high) > 1:
        return high[0]
    return DIGITS[low_digit] + _midpoint(low[1:], None)


def place_between(
    siblings: Sequence[tuple[str, int]], gap: int, *, longest: int = MAX_KEY_LENGTH
) -> tuple[str, dict[int, str]]:
    """The key of an item put at `gap` among ordered `siblings` ((key, id) pairs, the item not
    among them), and the new keys of the siblings that must move to make room, by id.

    Usually the key between the two neighbours, and no sibling moves. When that key would be
    longer than `longest`, or the neighbours tie (two keys made at once), a window of siblings
    around the gap is respaced (`respace`), widened until its outer neighbours differ.
    """
    lower = siblings[gap - 1][0] if gap > 0 else None
    upper = siblings[gap][0] if gap < len(siblings) else None
    if lower is None or upper is None or lower < upper:
        key = key_between(lower, upper)
        if len(key) <= longest:
            return key, {}
    keys = [key for key, _ in siblings]
    # The item's own slot, whatever it holds: the window always covers it.
    keys.insert(gap, lower or upper or FIRST_KEY)
    start, fresh = respace(keys, gap, longest=longest)
    ids = [item for _, item in siblings]
    ids.insert(gap, 0)
    moved = {ids[start + offset]: key for offset, key in enumerate(fresh)}
    return moved.pop(0), moved
