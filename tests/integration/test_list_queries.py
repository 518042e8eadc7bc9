"""Filtering and sorting a user's task list, compared with the same rules computed in Python.

Each filter and each sort alone, then combined, then random combinations walked page by page; the
exact rules (tag normalization, word-prefix search, due-date bounds, ties by id, no due date last,
priority by rank, title by code point) each have their own small example; invalid values are 422.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api, User
from tests.support.listing import (
    PRIORITIES,
    SORTS,
    TAGS,
    WORDS,
    Filters,
    Params,
    Task,
    create,
    ids,
    list_page,
    list_path,
    reference,
    rfc3339,
    seed_tasks,
    walk,
    walked_items,
)

# Seeded due dates are whole days (plus 0 or 3 hours) from the hour of seeding: the bounds below
# fall between them, except those named "on a due date".
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
DAYS_AGO_3 = rfc3339(NOW - timedelta(days=3, hours=12))
DAYS_AHEAD_3 = rfc3339(NOW + timedelta(days=3, hours=12), offset_hours=2)
DAYS_AHEAD_10 = rfc3339(NOW + timedelta(days=10))
EVERYTHING = [("limit", "100")]


def listed(api: Api, user: User, params: Params) -> list[Task]:
    """The one page of at most 100 tasks that `params` select (the seeds hold fewer)."""
    page = list_page(api, user, [*params, *EVERYTHING])
    assert page["next_cursor"] is None
    items: list[Task] = page["items"]
    return items


@pytest.fixture
def seeded(api: Api, alice: User) -> list[Task]:
    return seed_tasks(api, alice, count=40)


# --- The seeded data against the reference: each filter, each sort, combinations -------------

FILTERS_ALONE = {
    "status=all": Filters(status="all"),
    "status=pending": Filters(status="pending"),
    "status=completed": Filters(status="completed"),
    "one priority": Filters(priority=("high",)),
    "two priorities": Filters(priority=("low", "urgent")),
    "one tag": Filters(tag=("home",)),
    "one tag to normalize": Filters(tag=(" Home ",)),
    "two tags": Filters(tag=("WORK", "\u00a0Errands\u3000")),
    "q one word": Filters(q="milk"),
    "q prefix in capitals": Filters(q="MIL"),
    "q two words": Filters(q="buy pa"),
    "q digits": Filters(q="20"),
    "q inside a word": Filters(q="ilk"),
    "q without letters": Filters(q="!!"),
    "due_before": Filters(due_before=DAYS_AHEAD_3),
    "due_after": Filters(due_after=DAYS_AGO_3),
    "due_before on a due date": Filters(due_before=rfc3339(NOW + timedelta(days=2))),
    "due_after on a due date": Filters(due_after=rfc3339(NOW - timedelta(days=2))),
    "overdue=true": Filters(overdue=True),
    "overdue=false": Filters(overdue=False),
}

COMBINED = {
    "pending, tag, by due date": (Filters(status="pending", tag=("home",)), "due_at"),
    "priorities and q, by -priority": (Filters(priority=("high", "urgent"), q="b"), "-priority"),
    "due window, completed, by -due_at": (
        Filters(status="completed", due_after=DAYS_AGO_3, due_before=DAYS_AHEAD_10),
        "-due_at",
    ),
    "overdue, priorities, by title": (Filters(overdue=True, priority=("low", "medium")), "title"),
    "not overdue, two tags, by -updated_at": (
        Filters(overdue=False, tag=("work", " KIDS ")),
        "-updated_at",
    ),
    "q and due_after, by created_at": (Filters(q="pa", due_after=NOW.isoformat()), "created_at"),
    "every filter, by -title": (
        Filters(
            status="pending",
            priority=("low", "medium", "high", "urgent"),
            tag=("home",),
            q="b",
            due_before=DAYS_AHEAD_10,
            due_after=DAYS_AGO_3,
            overdue=False,
        ),
        "-title",
    ),
}


def test_default_order_is_newest_created_first(api: Api, alice: User, seeded: list[Task]) -> None:
    items = listed(api, alice, [])

    assert ids(items) == ids(reference(seeded, Filters(), "-created_at"))
    assert items == listed(api, alice, [("sort", "-created_at")])


@pytest.mark.parametrize("sort", SORTS)
def test_sort_orders_every_task_like_the_reference(
    api: Api, alice: User, seeded: list[Task], sort: str
) -> None:
    items = listed(api, alice, [("sort", sort)])

    assert ids(items) == ids(reference(seeded, Filters(), sort))
    assert items == reference(seeded, Filters(), sort)


@pytest.mark.parametrize("filters", FILTERS_ALONE.values(), ids=FILTERS_ALONE.keys())
def test_filter_alone_selects_what_the_reference_selects(
    api: Api, alice: User, seeded: list[Task], filters: Filters
) -> None:
    items = listed(api, alice, filters.params())

    assert ids(items) == ids(reference(seeded, filters, "-created_at"))


@pytest.mark.parametrize(("filters", "sort"), COMBINED.values(), ids=COMBINED.keys())
def test_filters_combine_with_each_other_and_with_a_sort(
    api: Api, alice: User, seeded: list[Task], filters: Filters, sort: str
) -> None:
    items = listed(api, alice, [*filters.params(), ("sort", sort)])

    assert ids(items) == ids(reference(seeded, filters, sort))


def test_seeded_filters_each_select_some_tasks_but_not_all(seeded: list[Task]) -> None:
    """The comparisons above mean something only if the data gives each filter a choice."""
    for name, filters in FILTERS_ALONE.items():
        selected = reference(seeded, filters, "title")
        if name == "status=all":
            assert len(selected) == len(seeded)
        elif name in ("q inside a word", "q without letters"):
            assert selected == [], name
        else:
            assert 0 < len(selected) < len(seeded), name


# --- Random combinations, walked page by page --------------------------------------------------


def _word_prefix(word: str) -> st.SearchStrategy[str]:
    return st.integers(1, len(word)).map(lambda n: word[:n])


word_prefixes = (
    st.sampled_from(WORDS)
    .flatmap(_word_prefix)
    .flatmap(lambda prefix: st.sampled_from((prefix, prefix.upper(), prefix.capitalize())))
)
decorated_tags = st.sampled_from(TAGS).flatmap(
    lambda tag: st.sampled_from((tag, tag.upper(), f" {tag.capitalize()} ", f"\u3000{tag}"))
)
# Some bounds fall exactly on seeded due dates (whole days from the hour), some between them.
due_bounds = st.builds(
    lambda days, hours: rfc3339(NOW + timedelta(days=days, hours=hours)),
    st.sampled_from((-40, -10, -7, -3, -1, 0, 1, 2, 3, 10, 40)),
    st.sampled_from((0, 12)),
)

FILTER_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "status": st.sampled_from(("all", "pending", "completed")),
    "priority": st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=3).map(tuple),
    "tag": st.lists(decorated_tags, min_size=1, max_size=2).map(tuple),
    "q": st.lists(word_prefixes, min_size=1, max_size=2).map(" ".join),
    "due_before": due_bounds,
    "due_after": due_bounds,
    "overdue": st.booleans(),
}


@st.composite
def random_filters(draw: st.DrawFn) -> Filters:
    """Up to three filters at once, so that most combinations still select some tasks."""
    chosen = draw(st.sets(st.sampled_from(sorted(FILTER_STRATEGIES)), max_size=3))
    return Filters(**{name: draw(FILTER_STRATEGIES[name]) for name in sorted(chosen)})


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(filters=random_filters(), sort=st.sampled_from(SORTS), limit=st.integers(1, 7))
def test_any_filters_and_sort_walked_page_by_page_match_the_reference(
    api: Api, alice: User, seeded: list[Task], filters: Filters, sort: str, limit: int
) -> None:
    pages = walk(api, alice, [*filters.params(), ("sort", sort)], limit)

    assert ids(walked_items(pages)) == ids(reference(seeded, filters, sort))
    assert all(len(page["items"]) == limit for page in pages[:-1])
    assert 0 < len(pages[-1]["items"]) <= limit or len(pages) == 1


# --- Each rule on a small example ---------------------------------------------------------------


def test_status_filter_separates_pending_from_completed(api: Api, alice: User) -> None:
    pending = create(api, alice, {"title": "pending"})
    done = create(api, alice, {"title": "done"})
    done = api.request("PATCH", alice.task_path(f"{done['id']}/complete"), token=alice.token).json()

    assert listed(api, alice, [("status", "pending")]) == [pending]
    assert listed(api, alice, [("status", "completed")]) == [done]
    assert listed(api, alice, [("status", "all")]) == [done, pending]


def test_priority_filter_returns_tasks_with_any_of_the_priorities(api: Api, alice: User) -> None:
    by_priority = {p: create(api, alice, {"title": p, "priority": p}) for p in PRIORITIES}

    items = listed(api, alice, [("priority", "low"), ("priority", "urgent")])

    assert items == [by_priority["urgent"], by_priority["low"]]


def test_tag_filter_returns_tasks_with_every_tag(api: Api, alice: User) -> None:
    both = create(api, alice, {"title": "both", "tags": ["home", "work"]})
    create(api, alice, {"title": "home only", "tags": ["home"]})
    create(api, alice, {"title": "work only", "tags": ["work", "kids"]})

    assert listed(api, alice, [("tag", "home"), ("tag", "work")]) == [both]


@pytest.mark.parametrize("tag", [" Home ", "HOME", "home", "\u00a0hOmE\u3000", "\tHome\n"])
def test_tag_filter_is_normalized_like_tags(api: Api, alice: User, tag: str) -> None:
    tagged = create(api, alice, {"title": "t", "tags": ["Home"]})
    create(api, alice, {"title": "u", "tags": ["homework"]})

    assert listed(api, alice, [("tag", tag)]) == [tagged]


@pytest.mark.parametrize("tag", ["it's", "back\\slash", "a:b c", "'quoted'", "x & !y | z:*"])
def test_tag_filter_finds_a_tag_of_any_characters_exactly(api: Api, alice: User, tag: str) -> None:
    # given a tag holding what the syntax of a text query gives a meaning to, and one it begins
    tagged = create(api, alice, {"title": "t", "tags": [tag]})
    create(api, alice, {"title": "u", "tags": [tag[:-1]]})

    # then each is found exactly
    assert listed(api, alice, [("tag", tag)]) == [tagged]


def test_a_tag_or_a_word_finds_the_users_own_tasks_whoever_else_holds_it(
    api: Api, alice: User, bob: User
) -> None:
    # given both users hold tasks with the same tag and word
    mine = create(api, alice, {"title": "Buy milk", "tags": ["home"]})
    for _ in range(3):
        create(api, bob, {"title": "Buy milk", "tags": ["home"]})

    # then each user's filters find that user's tasks alone
    assert listed(api, alice, [("tag", "home")]) == [mine]
    assert listed(api, alice, [("q", "mil")]) == [mine]
    assert listed(api, alice, [("q", "milk"), ("tag", "home")]) == [mine]


def test_a_search_finds_a_word_longer_than_any_search_by_its_beginning(
    api: Api, alice: User
) -> None:
    # given a task whose description holds one word of 2,046 bytes, the longest that a word
    # of the text search may be
    word = "語" * 682
    long = create(api, alice, {"title": "t", "description": word})

    # then a search of the longest a search may be (200 characters) finds it by its beginning
    assert listed(api, alice, [("q", word[:200])]) == [long]
    assert listed(api, alice, [("q", "語" * 199 + "z")]) == []


def test_text_search_matches_word_prefixes_case_insensitively(api: Api, alice: User) -> None:
    milk = create(api, alice, {"title": "Buy milk", "description": "Two litres"})
    plumber = create(
        api, alice, {"title": "Call the plumber", "description": "About the MILKY leak"}
    )

    assert listed(api, alice, [("q", "mil")]) == [plumber, milk]
    assert listed(api, alice, [("q", "BUY Mi")]) == [milk]
    assert listed(api, alice, [("q", "litre")]) == [milk]
    assert listed(api, alice, [("q", "leak call")]) == [plumber]
    assert listed(api, alice, [("q", "ilk")]) == []
    assert listed(api, alice, [("q", "milk plumbers")]) == []


@pytest.mark.parametrize("q", ["!!", " ", "-", "\t"])
def test_text_search_without_letters_or_digits_matches_nothing(
    api: Api, alice: User, q: str
) -> None:
    create(api, alice, {"title": "Buy milk !! - now"})

    assert listed(api, alice, [("q", q)]) == []


def test_due_before_is_strict_and_due_after_inclusive(api: Api, alice: User) -> None:
    boundary = NOW + timedelta(days=5)
    early = create(api, alice, {"title": "early", "due_at": rfc3339(boundary - timedelta(days=1))})
    exact = create(api, alice, {"title": "exact", "due_at": rfc3339(boundary)})
    late = create(api, alice, {"title": "late", "due_at": rfc3339(boundary + timedelta(days=1))})
    create(api, alice, {"title": "no due date"})

    in_utc = rfc3339(boundary)
    in_other_zone = rfc3339(boundary, offset_hours=-5)

    assert listed(api, alice, [("due_before", in_utc)]) == [early]
    assert listed(api, alice, [("due_after", in_utc)]) == [late, exact]
    assert listed(api, alice, [("due_before", in_other_zone)]) == [early]
    assert listed(api, alice, [("due_after", in_other_zone)]) == [late, exact]


def test_overdue_is_due_in_the_past_and_not_completed(api: Api, alice: User) -> None:
    yesterday = rfc3339(NOW - timedelta(days=1))
    tomorrow = rfc3339(NOW + timedelta(days=1))
    overdue = create(api, alice, {"title": "overdue", "due_at": yesterday})
    done = create(api, alice, {"title": "done late", "due_at": yesterday})
    done = api.request("PATCH", alice.task_path(f"{done['id']}/complete"), token=alice.token).json()
    upcoming = create(api, alice, {"title": "upcoming", "due_at": tomorrow})
    undated = create(api, alice, {"title": "no due date"})

    assert listed(api, alice, [("overdue", "true")]) == [overdue]
    assert listed(api, alice, [("overdue", "false")]) == [undated, upcoming, done]


@pytest.mark.parametrize("sort", ["title", "-title", "priority", "-priority", "due_at", "-due_at"])
def test_ties_are_broken_by_id_in_the_direction_of_the_sort(
    api: Api, alice: User, sort: str
) -> None:
    same = {"title": "same", "priority": "high", "due_at": rfc3339(NOW + timedelta(days=2))}
    created = [create(api, alice, same) for _ in range(4)]

    items = listed(api, alice, [("sort", sort)])

    ascending = sorted(ids(created))
    assert ids(items) == (ascending[::-1] if sort.startswith("-") else ascending)


@pytest.mark.parametrize("sort", ["due_at", "-due_at"])
def test_tasks_without_due_date_come_last_in_both_directions(
    api: Api, alice: User, sort: str
) -> None:
    undated = [create(api, alice, {"title": f"undated {n}"}) for n in range(2)]
    soon = create(api, alice, {"title": "soon", "due_at": rfc3339(NOW + timedelta(days=1))})
    later = create(api, alice, {"title": "later", "due_at": rfc3339(NOW + timedelta(days=9))})
    undated.append(create(api, alice, {"title": "undated 2"}))

    items = listed(api, alice, [("sort", sort)])

    dated = [soon, later] if sort == "due_at" else [later, soon]
    undated_ids = sorted(ids(undated), reverse=sort.startswith("-"))
    assert ids(items) == ids(dated) + undated_ids


def test_priority_sorts_by_rank_not_by_name(api: Api, alice: User) -> None:
    by_priority = {p: create(api, alice, {"title": p, "priority": p}) for p in PRIORITIES[::-1]}

    ascending = listed(api, alice, [("sort", "priority")])
    descending = listed(api, alice, [("sort", "-priority")])

    in_rank = [by_priority[p] for p in ("low", "medium", "high", "urgent")]
    assert ascending == in_rank
    assert descending == in_rank[::-1]


TITLES = [
    "apple",
    "Apple",
    "Zebra",
    "éclair",
    "a b",
    "ab",
    "10",
    "9",
    "Ωmega",
    "😀 smile",
    "Éclair",
]


def test_title_sorts_by_unicode_code_point(api: Api, alice: User) -> None:
    for title in TITLES:
        create(api, alice, {"title": title})

    ascending = listed(api, alice, [("sort", "title")])
    descending = listed(api, alice, [("sort", "-title")])

    assert [task["title"] for task in ascending] == sorted(TITLES)
    assert [task["title"] for task in descending] == sorted(TITLES, reverse=True)


# --- Invalid values -----------------------------------------------------------------------------

INVALID: list[tuple[str, Params]] = [
    ("status", [("status", "foo")]),
    ("sort", [("sort", "name")]),
    ("sort", [("sort", "+title")]),
    ("limit", [("limit", "0")]),
    ("limit", [("limit", "101")]),
    ("limit", [("limit", "ten")]),
    ("priority", [("priority", "huge")]),
    ("priority", [("priority", "high"), ("priority", "huge")]),
    ("tag", [("tag", "   ")]),
    ("q", [("q", "milk\x01")]),
    ("q", [("q", "")]),
    ("due_before", [("due_before", "2026-01-01")]),
    ("due_before", [("due_before", "1700000000")]),
    ("due_after", [("due_after", "2026-12-01T10:00:00")]),
    ("overdue", [("overdue", "maybe")]),
]


@pytest.mark.parametrize(
    ("parameter", "params"), INVALID, ids=[f"{p}={v[-1][1]!r}" for p, v in INVALID]
)
def test_invalid_query_value_is_422_naming_the_parameter(
    api: Api, alice: User, parameter: str, params: Params
) -> None:
    create(api, alice, {"title": "t"})

    response = api.request("GET", list_path(alice, params), token=alice.token)

    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()
    assert error["error"] == "validation_failed"
    assert {tuple(detail["location"][:2]) for detail in error["details"]} == {("query", parameter)}
