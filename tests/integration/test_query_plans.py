"""Each query shape of the list and of delta sync is served by an index, on a seeded table.

The table holds many users and one user with 20,000 tasks. Whatever the filters, no plan reads
`tasks` sequentially; every sort order reads its own index in order (no sort step), so that a
page from a cursor deep in the list is a range scan that costs what the first page costs.

asyncpg prepares every statement, and after five runs PostgreSQL may keep one generic plan for
any arguments: each shape is planned both ways, for its arguments and for any. A generic plan
cannot see that a tag or a word is rare, and a search planned so must not compute each task's
words again.
"""

import asyncio
import itertools
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from contract_runtime.formats import LATEST
from impl.db.migrations import migrate
from impl.history.repository import ACTIVITY, VERSIONS
from impl.history.service import FIRST as FIRST_ENTRY
from impl.lists.repository import ListPageStart, ListSortField, page_statement
from impl.reminders.repository import FIRING, Position
from impl.retention.repository import PURGE_HISTORY, PURGE_TRASH
from impl.tasks.listing import PageStart, Sort, TaskFilter
from impl.tasks.queries import LIST_KIND, changes_statement, list_statement
from impl.tasks.repository import OCCURRENCES
from impl.trash.repository import PAGE as TRASH_PAGE
from impl.trash.repository import REMOVE_ITEM, RESTORE_TASKS
from impl.trash.repository import Position as TrashPosition
from impl.trash.service import FIRST
from tests.support.postgres import PostgresServer, target

HEAVY_USER = "heavy"
# One of the 500 users with 100 tasks each: 100 of the table's 70,000.
SMALL_USER = "user_7"
OWNER_TERMS_INDEX = "tasks_owner_terms_idx"
HEAVY_LISTS = 200
# The heavy user's task with the most occurrences.
OFTEN_DONE = f"SELECT min(id) FROM tasks WHERE user_id = '{HEAVY_USER}'"
SEED = f"""
-- The statistics are this seed's ANALYZE alone (below): an autovacuum that analyzed the tables
-- later, from a sample of its own, would change the plans from one run to the next.
ALTER TABLE tasks SET (autovacuum_enabled = false);
ALTER TABLE task_deletions SET (autovacuum_enabled = false);
ALTER TABLE task_lists SET (autovacuum_enabled = false);
ALTER TABLE task_list_deletions SET (autovacuum_enabled = false);
ALTER TABLE task_reminders SET (autovacuum_enabled = false);
ALTER TABLE task_occurrences SET (autovacuum_enabled = false);
INSERT INTO task_lists (user_id, id, name, position, archived)
SELECT '{HEAVY_USER}', n, 'list ' || n, 'b' || lpad(n::text, 4, '0'), n % 10 = 0
FROM generate_series(1, {HEAVY_LISTS}) AS n;
INSERT INTO tasks (user_id, title)
SELECT 'user_' || (n % 500), 'task ' || n FROM generate_series(1, 50000) AS n;
INSERT INTO tasks (user_id, title, description, priority, tags, due_at, completed, completed_at,
                   list_id, due, overdue_at)
SELECT '{HEAVY_USER}',
       'chore ' || n || CASE WHEN n % 2000 = 0 THEN ' dentist/d\u00e9ntist' ELSE '' END,
       'note ' || n,
       (ARRAY['low', 'medium', 'high', 'urgent'])[1 + n % 4]::task_priority,
       CASE WHEN n % 1000 = 0 THEN ARRAY['rare', 'home'] ELSE ARRAY['home'] END,
       due.at,
       n % 5 = 0,
       CASE WHEN n % 5 = 0 THEN now() END,
       1 + n % {HEAVY_LISTS},
       CASE WHEN due.at IS NOT NULL THEN jsonb_build_object(
           'date', to_char(due.at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
           'time', to_char(due.at AT TIME ZONE 'UTC', 'HH24:MI:SS.US'),
           'time_zone', 'UTC') END,
       due.at
FROM generate_series(1, 20000) AS n,
     LATERAL (SELECT CASE WHEN n % 3 = 0 THEN NULL
                          ELSE now() + (n - 10000) * interval '1 hour' END AS at) AS due;
INSERT INTO task_deletions (user_id, task_id)
SELECT CASE WHEN n % 10 = 0 THEN '{HEAVY_USER}' ELSE 'user_' || (n % 500) END, 1000000 + n
FROM generate_series(1, 50000) AS n;
INSERT INTO task_list_deletions (user_id, list_id)
SELECT CASE WHEN n % 10 = 0 THEN '{HEAVY_USER}' ELSE 'user_' || (n % 500) END, 1000000 + n
FROM generate_series(1, 5000) AS n;
-- Reminders: the triggers of migration 0031 index their fire times. Every user's tasks have one
-- at an instant of the coming weeks; the heavy user's dated ones, one before the due date too.
UPDATE tasks SET reminders = jsonb_build_array(jsonb_build_object(
    'at', api_instant(now() + (id % 1000) * interval '1 hour'), 'minutes_before', NULL));
UPDATE tasks SET reminders = reminders || '[{{"at": null, "minutes_before": 30}}]'
WHERE user_id = '{HEAVY_USER}' AND due_at IS NOT NULL;
-- Occurrences: ten of each of the heavy user's first 2,000 tasks, 2,000 of one.
INSERT INTO task_occurrences (user_id, task_id, due, due_at, outcome, recorded_at)
SELECT '{HEAVY_USER}', task.id, '{{"date": "2027-01-01", "time": null, "time_zone": null}}',
       now(), 'completed', now()
FROM (SELECT id FROM tasks WHERE user_id = '{HEAVY_USER}' ORDER BY id LIMIT 2000) AS task,
     generate_series(1, 10);
INSERT INTO task_occurrences (user_id, task_id, due, due_at, outcome, recorded_at)
SELECT '{HEAVY_USER}', ({OFTEN_DONE}), '{{"date": "2027-01-01", "time": null, "time_zone": null}}',
       now(), 'skipped', now()
FROM generate_series(1, 2000);
-- History: each task's creation and its reminders' edits were recorded by migration 0034's
-- trigger as they were written above; 200,000 versions of other users' tasks over the last 30
-- days make the heavy user's a minority.
INSERT INTO task_history (user_id, task_id, version, deleted, change, changed, recorded_at,
                          title, completed, created_at, updated_at, priority, tags, list_id,
                          position, reminders)
SELECT 'user_' || (n % 500), n / 500, n % 7 + 1, 0, 'edited', '{{title}}',
       now() - (n % 43200) * interval '1 minute', 'other', false, now(), now(), 'medium', '{{}}',
       1, 'a', '[]'
FROM generate_series(1, 200000) AS n
ON CONFLICT DO NOTHING;
-- The trash: 5,000 items of the heavy user's (one list in five, the rest tasks), 100 of each
-- other user's, a minute apart, each holding its task or list.
INSERT INTO trash (user_id, kind, item_id, version, task_count, trashed_at)
SELECT CASE WHEN n % 11 = 0 THEN '{HEAVY_USER}' ELSE 'user_' || (n % 500) END,
       CASE WHEN n % 5 = 0 THEN 'list' ELSE 'task' END, 2000000 + n, 1, 0,
       now() - n * interval '1 minute'
FROM generate_series(1, 55000) AS n;
INSERT INTO trashed_tasks (user_id, id, trash_kind, trash_item_id, title, completed, created_at,
                           updated_at, priority, tags, version, list_id, position, reminders)
SELECT user_id, item_id, kind, item_id, 'trashed', false, now(), now(), 'medium', '{{}}', 1, 1,
       'a', '[]'
FROM trash WHERE kind = 'task';
INSERT INTO trashed_lists (user_id, id, name, position, archived, version, created_at, updated_at)
SELECT user_id, item_id, 'trashed', 'a', false, 1, now(), now() FROM trash WHERE kind = 'list';
-- A sample as large as the tables: the same statistics, and so the same plans, every run.
SET default_statistics_target = 1000;
ANALYZE tasks;
ANALYZE task_deletions;
ANALYZE task_lists;
ANALYZE task_list_deletions;
ANALYZE task_reminders;
ANALYZE task_occurrences;
ANALYZE trash;
ANALYZE trashed_tasks;
ANALYZE trashed_lists;
ANALYZE task_history;
"""
SORTS = [
    Sort.parse(value)
    for value in ("created_at", "updated_at", "due_at", "priority", "title", "manual")
]
SORTS += [Sort(sort.field, descending=True) for sort in SORTS]
SORT_INDEXES = {
    "created_at": "tasks_user_id_created_at_idx",
    "updated_at": "tasks_user_id_updated_at_idx",
    "priority": "tasks_user_id_priority_idx",
    "title": "tasks_user_id_title_idx",
    "manual": "tasks_user_id_list_id_position_idx",
}
MIDDLE_KEYS = {
    "created_at": datetime.now(UTC),
    "updated_at": datetime.now(UTC),
    "due_at": datetime.now(UTC),
    "priority": "high",
    "title": "chore 5000",
    "manual": '[7, "a5"]',
}
FILTERS = {
    "pending": TaskFilter(status="pending"),
    "completed": TaskFilter(status="completed"),
    "priorities": TaskFilter(priorities=frozenset({"high", "urgent"})),
    "rare tag": TaskFilter(tags=frozenset({"rare"})),
    "two tags": TaskFilter(tags=frozenset({"rare", "home"})),
    "rare word": TaskFilter(text="dentist"),
    "rare word glued to others": TaskFilter(text="de\u0301ntist/chore"),
    "due range": TaskFilter(
        due_after=datetime(2026, 1, 1, tzinfo=UTC), due_before=datetime(2027, 1, 1, tzinfo=UTC)
    ),
    "overdue": TaskFilter(overdue=True),
    "not overdue": TaskFilter(overdue=False),
    "everything": TaskFilter(
        status="pending",
        priorities=frozenset({"urgent"}),
        tags=frozenset({"home"}),
        text="chore",
        due_after=datetime(2026, 1, 1, tzinfo=UTC),
        overdue=False,
    ),
}


CUSTOM = "for its arguments"
GENERIC = "for any arguments"


class Planner:
    def __init__(self, connection: asyncpg.Connection, loop: asyncio.AbstractEventLoop) -> None:
        self._connection = connection
        self._loop = loop
        self._names = (f"generic_{number}" for number in itertools.count())

    def snapshot(self) -> str:
        snapshot: str = self._loop.run_until_complete(
            self._connection.fetchval("SELECT pg_current_snapshot()::text")
        )
        return snapshot

    def value(self, sql: str) -> object:
        return self._loop.run_until_complete(self._connection.fetchval(sql))

    def plan(self, sql: str, *arguments: object, options: str = "") -> str:
        rows = self._loop.run_until_complete(
            self._connection.fetch(f"EXPLAIN {options}{sql}", *arguments)
        )
        return "\n".join(row[0] for row in rows)

    def generic_plan(
        self,
        sql: str,
        *arguments: str | int | list[str] | None,
        options: str = "",
        without: str | None = None,
    ) -> str:
        """The plan kept for any arguments, with the index `without` names out of its reach.

        EXPLAIN with bound arguments plans for their values (a custom plan); only a prepared
        statement, executed, shows the generic one. The arguments are only read when the plan
        is run (ANALYZE): NULLs show the plan. The index is dropped in a transaction that is
        rolled back: the planner has no other way to be kept from one.
        """
        values = ", ".join(_literal(value) for value in arguments)
        # A name of its own: PREPARE outlives the transaction, and a failed call leaves its name.
        name = next(self._names)

        async def explain() -> list[asyncpg.Record]:
            transaction = self._connection.transaction()
            await transaction.start()
            try:
                await self._connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                if without is not None:
                    await self._connection.execute(f"DROP INDEX {without}")
                await self._connection.execute(f"PREPARE {name} AS {sql}")
                rows: list[asyncpg.Record] = await self._connection.fetch(
                    f"EXPLAIN {options}EXECUTE {name}({values})"
                )
                await self._connection.execute(f"DEALLOCATE {name}")
                return rows
            finally:
                await transaction.rollback()

        return "\n".join(row[0] for row in self._loop.run_until_complete(explain()))


def _literal(value: str | int | list[str] | None) -> str:
    """`value` as SQL: EXECUTE takes its arguments as expressions."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return f"ARRAY[{', '.join(_literal(item) for item in value)}]::text[]"
    return "'" + value.replace("'", "''") + "'"


@pytest.fixture(scope="module")
def planner(postgres: PostgresServer) -> Iterator[Planner]:
    loop = asyncio.new_event_loop()
    with postgres.fresh_database("taskapi_plans") as url:
        loop.run_until_complete(migrate(target(url)))
        connection = loop.run_until_complete(asyncpg.connect(target(url).dsn))
        try:
            loop.run_until_complete(connection.execute(SEED))
            yield Planner(connection, loop)
        finally:
            loop.run_until_complete(connection.close())
    loop.close()


def planned_for(sql: str, arguments: list[object], planner: Planner, planned: str) -> str:
    if planned == GENERIC:
        return planner.generic_plan(sql, *[None] * len(arguments))
    return planner.plan(sql, *arguments)


def list_plan(
    planner: Planner,
    task_filter: TaskFilter,
    sort: Sort,
    deep: bool,
    planned: str,
    user: str = HEAVY_USER,
) -> str:
    start = PageStart(MIDDLE_KEYS[sort.field], 12345) if deep else None
    sql, arguments = list_statement(user, task_filter, sort, start, 51)
    return planned_for(sql, arguments, planner, planned)


INDEX_READ = re.compile(
    r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)?"
    r" (?:using|on) (\w+)"
)


def assert_reads_the_users_entries_alone(plan: str) -> None:
    """Every index the plan reads is read in the range of the user's key, or, for the terms of
    the user's tasks, among the entries under the user's key: what the plan reads grows with
    the user's rows, not with the table's."""
    lines = plan.splitlines()
    for number, line in enumerate(lines):
        found = INDEX_READ.search(line)
        if found is None or found.group(1) == OWNER_TERMS_INDEX:
            continue
        conditions = [detail for detail in node_at(lines, number) if "Index Cond:" in detail]
        assert any("user_id = " in condition for condition in conditions), plan


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "page from a cursor"])
@pytest.mark.parametrize("sort", SORTS, ids=str)
def test_every_sort_reads_its_own_index_in_order(
    planner: Planner, sort: Sort, deep: bool, planned: str
) -> None:
    plan = list_plan(planner, TaskFilter(), sort, deep, planned)

    expected = SORT_INDEXES.get(sort.field) or (
        "tasks_user_id_due_at_desc_idx" if sort.descending else "tasks_user_id_due_at_asc_idx"
    )
    assert expected in plan, plan
    assert "Sort" not in plan, plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)
    if deep:
        # The cursor bounds the index range itself: no row before it is read.
        (condition,) = [line for line in plan.splitlines() if "Index Cond:" in line]
        assert "AND (ROW(" in condition, plan


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "page from a cursor"])
@pytest.mark.parametrize("sort", SORTS, ids=str)
@pytest.mark.parametrize("name", sorted(FILTERS))
@pytest.mark.parametrize("user", [HEAVY_USER, SMALL_USER])
def test_no_filter_and_sort_reads_more_than_the_users_own_entries(
    planner: Planner, user: str, name: str, sort: Sort, deep: bool, planned: str
) -> None:
    plan = list_plan(planner, FILTERS[name], sort, deep, planned, user)

    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


# The filters by a tag or a word, which the owner's terms serve; and the others.
BY_TERMS = sorted(name for name, found in FILTERS.items() if found.tags or found.text)
NOT_BY_TERMS = sorted(set(FILTERS) - set(BY_TERMS))


@pytest.mark.parametrize("sort", SORTS, ids=str)
@pytest.mark.parametrize("name", NOT_BY_TERMS)
def test_a_page_from_a_cursor_planned_for_any_arguments_starts_at_the_cursor(
    planner: Planner, name: str, sort: Sort
) -> None:
    # Planned for its arguments, a selective filter may rightly be read through its own index;
    # planned for any, the cursor must still bound the range of the sort's index that is read.
    # (A tag or a word is looked up among the user's entries, whichever the page: below.)
    plan = list_plan(planner, FILTERS[name], sort, True, GENERIC)

    cursor_conditions = [
        line for line in plan.splitlines() if "Index Cond:" in line and "ROW(" in line
    ]
    assert cursor_conditions, plan
    assert "Sort Key" not in plan, plan


@pytest.mark.parametrize("deep", [False, True], ids=["first page", "page from a cursor"])
@pytest.mark.parametrize("sort", SORTS, ids=str)
@pytest.mark.parametrize("name", BY_TERMS)
@pytest.mark.parametrize("user", [HEAVY_USER, SMALL_USER])
def test_a_tag_or_a_word_planned_for_any_arguments_is_looked_up_among_the_owners_terms(
    planner: Planner, user: str, name: str, sort: Sort, deep: bool
) -> None:
    # The tasks that hold it, whichever the page and the order: as many as the user has, at
    # most, and only those of the user's that hold it when it is rare (ADR 0024). Planned for
    # its arguments, a plan may rightly read the few tasks of a small user, or of a cursor's
    # range, by key instead: either reads the user's own entries alone (above).
    plan = list_plan(planner, FILTERS[name], sort, deep, GENERIC, user)

    assert OWNER_TERMS_INDEX in plan, plan


# What the heavy user's 20,000 tasks all hold, and none of the small user's.
THE_HEAVY_USERS = {
    "word": TaskFilter(text="chore"),
    "tag": TaskFilter(tags=frozenset({"home"})),
}


@pytest.mark.parametrize("kind", sorted(THE_HEAVY_USERS))
def test_looking_up_a_tag_or_word_reads_none_of_another_users_entries(
    planner: Planner, kind: str
) -> None:
    # given a tag or word that 20,000 tasks of another user hold, and none of the small user's
    sql, arguments = list_statement(
        SMALL_USER, THE_HEAVY_USERS[kind], Sort.parse("-created_at"), None, 51
    )

    # when the small user's list is filtered by it, as planned for any arguments (twice: the
    # query is made where the lookup starts, and the first time the connection reads what it
    # needs of the catalog, which the lookup's count would include)
    for _ in range(2):
        plan = planner.generic_plan(sql, *arguments, options="(ANALYZE, BUFFERS, TIMING OFF) ")

    # then the lookup reads the few pages of the index's tree that lead to the user's entries,
    # not the 20,000 of the other user's
    assert "rows=0 loops=1" in node(plan, OWNER_TERMS_INDEX), plan
    assert pages_read(node(plan, OWNER_TERMS_INDEX)) <= OWNER_TERMS_LOOKUP_PAGES, plan


# The depth of the index's tree of terms, the root included, and the page of the user's
# entries; a list of the 20,000 tasks of the heavy user takes some 30 pages more.
OWNER_TERMS_LOOKUP_PAGES = 4


def node(plan: str, index: str) -> str:
    """The lines of the (first) plan node that reads `index`."""
    lines = plan.splitlines()
    start = next(
        number
        for number, line in enumerate(lines)
        if f" on {index} " in f"{line} " or f" using {index} " in line
    )
    return "\n".join(node_at(lines, start))


def node_at(lines: list[str], start: int) -> list[str]:
    """The lines of the plan node whose first line is `lines[start]`: it, and those indented
    deeper that follow it."""
    depth = len(lines[start]) - len(lines[start].lstrip())
    end = next(
        (
            number
            for number in range(start + 1, len(lines))
            if len(lines[number]) - len(lines[number].lstrip()) <= depth
        ),
        len(lines),
    )
    return lines[start:end]


def pages_read(lines: str) -> int:
    """The shared buffers that the first `Buffers:` line of `lines` counts, hit or read."""
    buffers = next(line for line in lines.splitlines() if "Buffers:" in line)
    return sum(int(count) for count in re.findall(r"(?:hit|read)=(\d+)", buffers))


# Run, not only planned, to print what each costs: `pytest -s` shows it. Timings are not asserted.
MEASURED = "(ANALYZE, TIMING OFF) "
SEARCHES = ["rare word", "rare word glued to others"]


def search_plans(planner: Planner, name: str, without: str | None = None) -> str:
    """The generic plan of the search `name` for the user with 20,000 tasks, both plans timed."""
    sql, arguments = list_statement(HEAVY_USER, FILTERS[name], Sort.parse("-created_at"), None, 51)
    generic = planner.generic_plan(sql, *arguments, options=MEASURED, without=without)
    custom = planner.plan(sql, *arguments, options=MEASURED)
    times = {
        kind: line.split(":")[1].strip()
        for kind, plan in (("generic", generic), ("custom", custom))
        for line in plan.splitlines()
        if line.startswith("Execution Time")
    }
    print(
        f"\n{name} for 20,000 tasks, {f'without {without}' if without else 'as planned'}: {times}"
    )
    return generic


# What makes a search's query or a task's terms, which a plan must not run for each task.
MAKES_A_QUERY = (
    "task_search_query",
    "task_owner_words_query",
    "task_owner_tags_query",
    "to_tsquery",
    "to_tsvector",
    "normalize",
    "md5",
)


def assert_search_made_once(plan: str) -> None:
    """The search text's queries are made once per statement, never per task the plan reads."""
    conditions = [line for line in plan.splitlines() if " @@ " in line]
    assert any("search_words @@" in line for line in conditions), plan
    assert any("task_owner_terms(user_id, search_words, tags) @@" in line for line in conditions)
    for word in MAKES_A_QUERY:
        assert not any(word in line.lower() for line in conditions), plan
    assert "InitPlan" in plan, plan


@pytest.mark.parametrize("name", SEARCHES)
def test_a_search_planned_for_any_arguments_matches_the_stored_words(
    planner: Planner, name: str
) -> None:
    plan = search_plans(planner, name)

    assert_search_made_once(plan)


@pytest.mark.parametrize("name", SEARCHES)
def test_a_search_planned_for_any_arguments_filters_the_users_tasks_by_their_stored_words(
    planner: Planner, name: str
) -> None:
    # The plan that reads every task of the user by key and keeps those whose words match: the
    # generic plan the planner picks when it prices the terms index high. The stored words are
    # matched first; the terms are computed only for the tasks that hold the words.
    plan = search_plans(planner, name, without=OWNER_TERMS_INDEX)

    (conditions,) = [line for line in plan.splitlines() if line.strip().startswith("Filter:")]
    words = conditions.index("search_words @@")
    terms = conditions.index("task_owner_terms(user_id, search_words, tags) @@")
    assert words < terms, plan
    assert_search_made_once(plan)


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("since", [False, True], ids=["first sync", "since a token"])
def test_delta_sync_reads_the_indexes_of_changes(
    planner: Planner, since: bool, planned: str
) -> None:
    # A sync right after the previous one: both snapshots are of now, after the seed.
    now = planner.snapshot()
    arguments: list[object] = [HEAVY_USER, now, "0", 0, 51, LIST_KIND]
    if since:
        arguments.append(now)

    plan = planned_for(changes_statement(since), arguments, planner, planned)

    assert "tasks_user_id_changed_xid_idx" in plan, plan
    assert "task_lists_user_id_changed_xid_idx" in plan, plan
    if since:
        assert "task_deletions_user_id_deleted_xid_idx" in plan, plan
        assert "task_list_deletions_user_id_deleted_xid_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "from a cursor"])
def test_the_tasks_of_one_list_newest_first_read_the_list_index_in_order(
    planner: Planner, deep: bool, planned: str
) -> None:
    start = PageStart(MIDDLE_KEYS["created_at"], 42) if deep else None
    sql, arguments = list_statement(
        HEAVY_USER, TaskFilter(list_id=7), Sort("created_at", descending=True), start, 51
    )

    plan = planned_for(sql, arguments, planner, planned)

    assert "tasks_user_id_list_id_created_at_idx" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
def test_a_parents_subtasks_in_manual_order_read_the_parent_index_in_order(
    planner: Planner, planned: str
) -> None:
    sql, arguments = list_statement(
        HEAVY_USER, TaskFilter(parent_id=7), Sort("manual", descending=False), None, 51
    )

    plan = planned_for(sql, arguments, planner, planned)

    assert "tasks_user_id_parent_id_position_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


LIST_SORT_INDEXES = {
    "manual": "task_lists_user_id_position_idx",
    "name": "task_lists_user_id_name_idx",
    "created_at": "task_lists_user_id_created_at_idx",
}
LIST_MIDDLE_KEYS = {"manual": "b0100", "name": "list 100", "created_at": datetime.now(UTC)}


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("archived", [None, False], ids=["all lists", "active lists"])
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "from a cursor"])
@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort", sorted(LIST_SORT_INDEXES))
def test_each_order_of_the_lists_reads_its_index_in_order(
    planner: Planner,
    sort: ListSortField,
    descending: bool,
    deep: bool,
    archived: bool | None,
    planned: str,
) -> None:
    start = ListPageStart(LIST_MIDDLE_KEYS[sort], 42) if deep else None
    # A page of 10 and one more, from the middle of the heavy user's 200 lists: fewer rows than
    # remain either way. When a page would hold every list after the cursor, sorting what the
    # index finds is as cheap, and the planner rightly does that.
    sql, arguments = page_statement(HEAVY_USER, archived, sort, descending, start, 11)

    plan = planned_for(sql, arguments, planner, planned)

    assert LIST_SORT_INDEXES[sort] in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "page from a cursor"])
@pytest.mark.parametrize("window", ["open", "closed"])
def test_the_reminders_of_a_window_read_the_index_of_fire_times_in_order(
    planner: Planner, deep: bool, window: str, planned: str
) -> None:
    # given the heavy user's 27,000 reminders of open tasks, and a window of a day a week ahead
    now = datetime.now(UTC)
    after = now + timedelta(days=7) if window == "closed" else None
    start = Position.after(after)
    if deep:
        start = Position(now + timedelta(days=7, hours=12), 12345, 0)
    until = now + timedelta(days=8) if window == "closed" else LATEST
    arguments: list[object] = [HEAVY_USER, start.fires_at, start.task_id, start.ordinal, until, 51]

    plan = planned_for(FIRING, arguments, planner, planned)

    # then one range of the index, in its order, each task read by its key
    assert "task_reminders_firing" in plan, plan
    assert "tasks_pkey" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "page from a cursor"])
def test_a_tasks_occurrences_read_its_key_newest_first(
    planner: Planner, deep: bool, planned: str
) -> None:
    task_id = planner.value(OFTEN_DONE)
    arguments: list[object] = [HEAVY_USER, task_id, 1000 if deep else None, 51]

    plan = planned_for(OCCURRENCES, arguments, planner, planned)

    assert "task_occurrences_pkey" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "page from a cursor"])
def test_the_trash_reads_its_index_newest_first_and_each_item_by_its_key(
    planner: Planner, deep: bool, planned: str
) -> None:
    # given the heavy user's 5,000 items among 55,000
    start = FIRST
    if deep:
        start = TrashPosition(datetime.now(UTC) - timedelta(hours=20), "task", 2012345)
    arguments: list[object] = [HEAVY_USER, start.trashed_at, start.kind, start.item_id, 51]

    plan = planned_for(TRASH_PAGE, arguments, planner, planned)

    # then one range of the user's index, backwards, each task or list found by its key
    assert "trash_newest" in plan, plan
    assert "trashed_tasks_pkey" in plan, plan
    assert "trashed_lists_pkey" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("statement", ["restore", "remove"])
def test_restoring_or_removing_an_item_reads_what_it_holds_by_the_item(
    planner: Planner, statement: str, planned: str
) -> None:
    item = planner.value(f"SELECT max(item_id) FROM trash WHERE user_id = '{HEAVY_USER}'")
    if statement == "restore":
        sql = RESTORE_TASKS
        arguments: list[object] = [HEAVY_USER, "task", item, 1, None, True]
    else:
        sql, arguments = REMOVE_ITEM, [HEAVY_USER, "task", item, None]

    plan = planned_for(sql, arguments, planner, planned)

    assert "trashed_tasks_by_item" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


def test_the_retention_job_reads_the_oldest_items_of_every_user_first(planner: Planner) -> None:
    plan = planner.generic_plan(PURGE_TRASH, None, None)

    assert "trash_by_age" in plan, plan
    assert "trashed_tasks_by_item" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "page from a cursor"])
def test_a_tasks_versions_read_its_key_newest_first(
    planner: Planner, deep: bool, planned: str
) -> None:
    task_id = planner.value(OFTEN_DONE)
    version = 2 if deep else FIRST_ENTRY.version
    arguments: list[object] = [HEAVY_USER, task_id, version, 0, 51]

    plan = planned_for(VERSIONS, arguments, planner, planned)

    assert "task_history_pkey" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


@pytest.mark.parametrize("planned", [CUSTOM, GENERIC])
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "page from a cursor"])
def test_the_activity_reads_its_index_newest_first(
    planner: Planner, deep: bool, planned: str
) -> None:
    # given the heavy user's history among every user's
    start = FIRST_ENTRY
    if deep:
        start = replace(FIRST_ENTRY, recorded_at=datetime.now(UTC), task_id=12345, version=1)
    arguments: list[object] = [
        HEAVY_USER,
        start.recorded_at,
        start.task_id,
        start.version,
        start.deleted,
        51,
    ]

    plan = planned_for(ACTIVITY, arguments, planner, planned)

    assert "task_history_activity" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
    assert "Seq Scan" not in plan, plan
    assert_reads_the_users_entries_alone(plan)


def test_the_retention_job_reads_the_oldest_versions_of_every_user_first(
    planner: Planner,
) -> None:
    plan = planner.generic_plan(PURGE_HISTORY, None, None)

    assert "task_history_by_age" in plan, plan
    assert "Seq Scan" not in plan, plan
