"""Position keys under adversarial moves: figures, not a test (`python -m bench.positions`).

A list of SIBLINGS items in a manual order; MOVES moves, each taking the last item and putting it
in the same place (right after the first, or in the middle), so that every move lands in the
same, ever narrower gap (the worst case of fractional keys), and, for comparison, MOVES moves to
random places. A move whose key would be
longer than MAX_KEY_LENGTH respaces a window of neighbours instead (impl.positions.respace), as
the service does. Prints the longest key ever stored and the rows the respacing rewrote.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass

from impl.positions import MAX_KEY_LENGTH, key_between, keys_between, respace

SIBLINGS = 1_000
MOVES = 10_000


@dataclass
class Figures:
    longest_key: int = 0
    respaces: int = 0
    rows_rewritten: int = 0
    most_rows_at_once: int = 0


def simulate(next_place: Callable[[int], int]) -> Figures:
    """`next_place(count)`: where, among `count` remaining items, the moved item goes."""
    keys = keys_between(None, None, SIBLINGS)
    figures = Figures(longest_key=max(len(key) for key in keys))
    for _ in range(MOVES):
        keys.pop()
        place = next_place(len(keys))
        before = keys[place - 1] if place > 0 else None
        after = keys[place] if place < len(keys) else None
        key = key_between(before, after)
        keys.insert(place, key)
        if len(key) > MAX_KEY_LENGTH:
            start, fresh = respace(keys, place)
            keys[start : start + len(fresh)] = fresh
            figures.respaces += 1
            figures.rows_rewritten += len(fresh)
            figures.most_rows_at_once = max(figures.most_rows_at_once, len(fresh))
        figures.longest_key = max(figures.longest_key, max(len(k) for k in keys))
    if keys != sorted(keys):
        raise AssertionError("the order broke")
    return figures


def main() -> None:
    rng = random.Random(20261206)  # noqa: S311 (reproducible moves, not a secret)
    print(f"{MOVES} moves among {SIBLINGS} siblings, keys respaced past {MAX_KEY_LENGTH} chars:")
    for name, place in (
        ("same gap, after the first", lambda count: 1),
        ("same gap, in the middle", lambda count: SIBLINGS // 2),
        ("random places", lambda count: rng.randrange(count + 1)),
    ):
        figures = simulate(place)
        print(
            f"  {name}: longest key {figures.longest_key} chars; {figures.respaces} respacings"
            f" rewrote {figures.rows_rewritten} rows ({figures.rows_rewritten / MOVES:.2f} a move,"
            f" at most {figures.most_rows_at_once} at once)"
        )


if __name__ == "__main__":
    main()
