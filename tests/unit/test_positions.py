"""Position keys (impl/positions.py): any two keys leave room between them, the order is the byte
order, appending stays short, and respacing a crowded window keeps the order."""

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from impl.positions import (
    DIGITS,
    FIRST_KEY,
    MAX_KEY_LENGTH,
    PositionKeyError,
    key_between,
    keys_after,
    keys_between,
    not_its_own,
    place_between,
    respace,
    validate_key,
)


def is_ordered(keys: Sequence[str]) -> bool:
    return all(first < second for first, second in itertools.pairwise(keys))


def inserted(places: Sequence[float]) -> list[str]:
    """The keys made by inserting one item after another, each at the given share of the order."""
    keys: list[str] = []
    for share in places:
        place = round(share * len(keys))
        before = keys[place - 1] if place > 0 else None
        after = keys[place] if place < len(keys) else None
        keys.insert(place, key_between(before, after))
    return keys


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=300))
def test_every_insertion_sorts_where_it_was_put(places: list[float]) -> None:
    keys = inserted(places)

    assert is_ordered(keys)
    for key in keys:
        validate_key(key)


@given(
    st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=60),
    st.integers(min_value=0, max_value=200),
)
def test_keys_between_two_keys_are_as_many_as_asked_in_order_between_them(
    places: list[float], count: int
) -> None:
    keys = inserted(places)
    before, after = keys[len(keys) // 2 - 1], keys[len(keys) // 2]

    made = keys_between(before, after, count)

    assert len(made) == count
    assert is_ordered([before, *made, after])


@pytest.mark.parametrize(("before", "after"), [(None, None), ("a5", None), (None, "a5")])
def test_keys_toward_an_open_end_are_in_order(before: str | None, after: str | None) -> None:
    made = keys_between(before, after, 100)

    bounds = [key for key in (before, *made, after) if key is not None]
    assert len(made) == 100
    assert is_ordered(bounds)


def test_ten_thousand_appends_or_prepends_stay_four_characters_long() -> None:
    appended, prepended = [FIRST_KEY], [FIRST_KEY]
    for _ in range(10_000):
        appended.append(key_between(appended[-1], None))
        prepended.append(key_between(None, prepended[-1]))

    assert is_ordered(appended)
    assert is_ordered(list(reversed(prepended)))
    assert max(len(key) for key in appended + prepended) == 4


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, None, "a0"),
        ("a0", None, "a1"),
        ("az", None, "b00"),
        ("Zz", None, "a0"),
        (None, "a0", "Zz"),
        (None, "b00", "az"),
        ("a0", "a1", "a0V"),
        ("a1", "a2", "a1V"),
        ("a0V", "a1", "a0k"),
    ],
)
def test_keys_at_the_integer_parts_edges(
    before: str | None, after: str | None, expected: str
) -> None:
    assert key_between(before, after) == expected


def test_the_digits_sort_in_their_byte_order() -> None:
    assert list(DIGITS) == sorted(DIGITS)
    assert [digit.encode() for digit in DIGITS] == sorted(digit.encode() for digit in DIGITS)


@pytest.mark.parametrize("key", ["", "a", "a00", "a0-", "é0", "!a", "A" + "0" * 26, "b0", "a0 "])
def test_what_is_not_a_key_is_refused(key: str) -> None:
    with pytest.raises(PositionKeyError):
        validate_key(key)
    with pytest.raises(PositionKeyError):
        key_between(key, None)


@pytest.mark.parametrize(("before", "after"), [("a1", "a0"), ("a1", "a1")])
def test_bounds_out_of_order_are_refused(before: str, after: str) -> None:
    with pytest.raises(PositionKeyError):
        key_between(before, after)


def test_one_gap_narrows_by_a_character_every_few_insertions() -> None:
    before, after = "a0", "a1"
    for _ in range(600):
        after = key_between(before, after)

    # Why a crowded gap is respaced rather than left to grow (ADR 0014).
    assert 100 <= len(after) <= 130


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_respacing_a_crowded_gap_keeps_the_order_with_short_keys(where: str) -> None:
    # Given siblings where one gap took many insertions
    keys = keys_between(None, None, 50)
    place = {"start": 1, "middle": 25, "end": 49}[where]
    while len(keys[place]) <= MAX_KEY_LENGTH:
        keys.insert(place, key_between(keys[place - 1], keys[place]))

    # When the window around it is respaced
    start, fresh = respace(keys, place)
    keys[start : start + len(fresh)] = fresh

    # Then the order holds and no key of the window is longer than half the limit
    assert is_ordered(keys)
    assert max(len(key) for key in fresh) <= MAX_KEY_LENGTH // 2
    assert len(fresh) < len(keys)


def placed_order(siblings: list[tuple[str, int]], gap: int) -> list[tuple[str, int]]:
    """The siblings and the placed item (id 0) with their keys after place_between, in order."""
    key, moved = place_between(siblings, gap)
    after = [(moved.get(item, old), item) for old, item in siblings]
    after.insert(gap, (key, 0))
    return after


def test_placing_in_a_gap_with_room_moves_no_sibling() -> None:
    siblings = list(zip(keys_between(None, None, 3), (11, 12, 13), strict=True))

    key, moved = place_between(siblings, 1)

    assert siblings[0][0] < key < siblings[1][0]
    assert moved == {}


def test_placing_between_neighbours_that_tie_respaces_them_into_order() -> None:
    # given two siblings that got one key at once (ties broken by id), and one more
    siblings = [("a1", 11), ("a1", 12), ("a2", 13)]

    # when an item goes between the tied pair
    after = placed_order(siblings, 1)

    # then every key differs and the order is the one asked for
    assert [item for _, item in after] == [11, 0, 12, 13]
    keys = [key for key, _ in after]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_placing_in_a_gap_too_narrow_respaces_a_window_with_short_keys() -> None:
    # given a gap that repeated insertions have made as narrow as a key allows
    low, high = "a1", "a2"
    while len(key_between(low, high)) <= MAX_KEY_LENGTH:
        high = key_between(low, high)
    siblings = [("a0", 10), (low, 11), (high, 12), ("a3", 13)]

    after = placed_order(siblings, 2)

    assert [item for _, item in after] == [10, 11, 0, 12, 13]
    keys = [key for key, _ in after]
    assert keys == sorted(keys)
    assert max(len(key) for key in keys) <= MAX_KEY_LENGTH // 2
    assert len(place_between(siblings, 2)[1]) >= 2, "the neighbours moved to make room"


def test_keys_appended_to_another_list_never_repeat_a_tasks_own_key() -> None:
    # given tasks whose own keys are exactly what an empty list's keys would be
    owns = ["a0", "a1", "a2", "b00"]

    # when
    keys = keys_after(None, owns)

    # then
    assert is_ordered(keys)
    assert all(key != own for key, own in zip(keys, owns, strict=True))


@given(st.lists(st.sampled_from(["a0", "a1", "a2", "a3", "Zz", "a1V"]), max_size=8))
def test_keys_after_the_last_are_in_order_above_it_and_none_is_its_tasks_own(
    owns: list[str],
) -> None:
    keys = keys_after("a0", owns)

    assert is_ordered(["a0", *keys])
    assert all(key != own for key, own in zip(keys, owns, strict=True))


def test_a_place_whose_key_is_the_tasks_own_gets_another_between_the_same_neighbours() -> None:
    assert not_its_own("a1", "a1", "a0") not in ("a0", "a1")
    assert "a0" < not_its_own("a1", "a1", "a0") < "a1"
    assert not_its_own("a1", "b0", "a0") == "a1"
    assert not_its_own("a0", "a0", None) < "a0"
