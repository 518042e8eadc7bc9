"""The SQL of the list and of PATCH: values only ever as bind parameters, numbered in order.

A statement is composed from fixed fragments, and each value is bound through the placeholder
`Statement.parameter` gives for it: no fragment is formatted, so whatever a fragment says is
taken as written, and whatever a client sends is never part of the SQL text.
"""

import re
from datetime import UTC, datetime

import pytest

from impl.contract import load_contract
from impl.tasks.listing import SORT_FIELDS, PageStart, Sort, TaskFilter
from impl.tasks.queries import Statement, list_statement
from impl.tasks.repository import PATCHABLE, update_statement

PLACEHOLDER = re.compile(r"\$(\d+)")
USER = "alice"
LIMIT = 51
EVERY_FILTER = TaskFilter(
    status="pending",
    priorities=frozenset({"urgent", "high"}),
    tags=frozenset({"home", "work"}),
    text="milk",
    due_before=datetime(2027, 1, 1, tzinfo=UTC),
    due_after=datetime(2026, 1, 1, tzinfo=UTC),
    overdue=False,
)
SORTS = [Sort(field, descending) for field in SORT_FIELDS for descending in (False, True)]
START_KEYS = {
    "created_at": datetime(2026, 6, 1, tzinfo=UTC),
    "updated_at": datetime(2026, 6, 1, tzinfo=UTC),
    "due_at": None,
    "priority": "high",
    "title": "chore 5000",
    # The list and the position, as the cursor holds them: one value.
    "manual": '[7, "a5"]',
}


def placeholders(sql: str) -> list[int]:
    return [int(number) for number in PLACEHOLDER.findall(sql)]


def test_placeholders_are_numbered_in_the_order_values_are_bound() -> None:
    statement = Statement()

    first = statement.parameter("alice")
    second = statement.parameter(["home"])
    third = statement.parameter(51)

    assert (first, second, third) == ("$1", "$2", "$3")
    assert statement.arguments == ["alice", ["home"], 51]


def test_placeholders_come_after_the_ones_the_caller_binds_itself() -> None:
    statement = Statement(preceding=3)

    placeholder = statement.parameter("new title")

    assert placeholder == "$4"
    assert statement.arguments == ["new title"]


def test_a_fragment_is_taken_as_written_whatever_it_holds() -> None:
    statement = Statement()

    statement.where(f"title LIKE '50%' AND id = {statement.parameter(7)}")
    statement.where("description = '%d %s {0} $%d'")

    assert statement.conditions == [
        "title LIKE '50%' AND id = $1",
        "description = '%d %s {0} $%d'",
    ]
    assert statement.arguments == [7]


@pytest.mark.parametrize("deep", [False, True], ids=["first page", "page from a cursor"])
@pytest.mark.parametrize("sort", SORTS, ids=str)
@pytest.mark.parametrize(
    "task_filter", [TaskFilter(), EVERY_FILTER], ids=["no filter", "every filter"]
)
def test_a_list_binds_each_value_once_with_the_user_first_and_the_limit_last(
    task_filter: TaskFilter, sort: Sort, deep: bool
) -> None:
    start = PageStart(START_KEYS[sort.field], 12345) if deep else None

    sql, arguments = list_statement(USER, task_filter, sort, start, LIMIT)

    assert sorted(set(placeholders(sql))) == list(range(1, len(arguments) + 1))
    assert arguments[0] == USER
    assert "user_id = $1" in sql
    assert arguments[-1] == LIMIT
    assert sql.endswith(f"LIMIT ${len(arguments)}")


@pytest.mark.parametrize("sort", SORTS, ids=str)
def test_a_page_from_a_cursor_compares_the_cursors_key_then_its_id(sort: Sort) -> None:
    start = PageStart(START_KEYS[sort.field], 12345)

    sql, arguments = list_statement(USER, TaskFilter(), sort, start, LIMIT)

    row = re.search(r"[<>] \((?P<key>.*?), \$(?P<task_id>\d+)::bigint\)", sql)
    assert row is not None, sql
    (key,) = set(placeholders(row["key"]))
    task_id = int(row["task_id"])
    assert arguments[key - 1] == start.key
    assert arguments[task_id - 1] == start.task_id
    assert task_id == key + 1


def test_every_filter_binds_its_values_in_the_order_it_applies_them() -> None:
    sql, arguments = list_statement(USER, EVERY_FILTER, Sort.parse("created_at"), None, LIMIT)

    assert arguments == [
        USER,
        ["high", "urgent"],
        ["home", "work"],
        "milk",
        EVERY_FILTER.due_before,
        EVERY_FILTER.due_after,
        LIMIT,
    ]
    assert "priority = ANY($2::task_priority[])" in sql
    assert "tags @> $3::text[]" in sql
    assert "task_owner_tags_query($1::text, $3::text[])" in sql
    assert "task_search_query($4::text)" in sql
    assert "task_owner_words_query($1::text, $4::text)" in sql
    assert "due_at < $5" in sql
    assert "due_at >= $6" in sql


# Texts that would break, or change, SQL that held them: a quote, a backslash, a placeholder,
# %-formatting and str.format fields.
HOSTILE_TEXTS = ["50% off", "$2 OR true", "it's", "a\\b", "%(x)s %d {0}", "'); --"]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_a_search_text_is_one_bound_value_never_sql(text: str) -> None:
    sql, arguments = list_statement(USER, TaskFilter(text=text), Sort.parse("title"), None, LIMIT)

    assert arguments == [USER, text, LIMIT]
    assert text not in sql
    assert "search_words @@ (SELECT task_search_query($2::text))" in sql
    assert (
        "task_owner_terms(user_id, search_words, tags)"
        " @@ (SELECT task_owner_words_query($1::text, $2::text))"
    ) in sql


def test_a_patch_binds_its_values_after_the_user_the_task_and_the_versions() -> None:
    sql, arguments = update_statement({"title": "new", "tags": ["home"]})

    assert arguments == ["new", ["home"]]
    assert "title = $4::text" in sql
    assert "tags = $5::text[]" in sql
    assert sorted(set(placeholders(sql))) == [1, 2, 3, 4, 5]


def test_a_patch_of_completion_stamps_the_completion_with_its_own_value() -> None:
    sql, arguments = update_statement({"priority": "high", "completed": True})

    assert arguments == ["high", True]
    assert "completed = $5::boolean" in sql
    assert "CASE WHEN NOT ($5::boolean) THEN NULL" in sql


def test_a_patch_of_an_unknown_field_is_refused_before_any_sql_is_written() -> None:
    with pytest.raises(ValueError, match=r"PATCH cannot set 'user_id'"):
        update_statement({"title": "new", "user_id": "mallory"})


def test_patch_may_set_exactly_the_fields_of_the_contracts_task_patch() -> None:
    task_patch = load_contract()["components"]["schemas"]["TaskPatch"]

    # A due date is stored with when it is overdue from, set with it (never by a patch alone).
    assert set(PATCHABLE) == set(task_patch["properties"]) | {"overdue_at"}
