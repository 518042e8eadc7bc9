"""Before any load: the mirror answers as our service does, and both as the contract allows.

The same requests go to both sides, one after the other, so that both databases go through the
same writes. Each answer must be one openapi.yaml declares (status, required headers, body
schema); the two sides must agree on the status, the ETag, Location and Idempotent-Replayed
headers, and the body: exactly for reads, but for the times a write stamped, and by error code
for errors. A mirror that answered less than the service would make the comparison flattering.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.servers import RunningServer
from bench.workload import (
    BATCHES,
    DEEP_CURSORS,
    LISTED_USERS,
    LISTS,
    MOVES,
    RECURRING,
    SEQUENCE,
    TARGETS,
    TOKENS,
    WRITERS,
)
from tests.support.contract import Contract

# What driver.lua's `filtered` operation asks for.
FILTERED_QUERY = "status=pending&priority=high&priority=urgent&sort=due_at"
# Set by the time of the write, so different on the two sides.
WRITE_TIMES = frozenset({"created_at", "updated_at", "completed_at"})
COMPARED_HEADERS = ("etag", "location", "idempotent-replayed")
BODY = {
    "title": "Parity check",
    "description": "Sent to both sides.",
    "priority": "urgent",
    "tags": [" Home ", "home", "ÉTÉ"],
    "due_at": "2026-12-01T18:00:00+01:00",
}
# What driver.lua's `create_recurring` sends.
RECURRING_DUE = {"date": "2026-12-07", "time": "09:00", "time_zone": "Europe/Berlin"}
RECURRING_BODY = {
    "title": "Parity check, recurring",
    "priority": "high",
    "tags": ["Bench"],
    "due": RECURRING_DUE,
    "recurrence": {"rule": "FREQ=WEEKLY;BYDAY=MO,WE", "from": "due"},
}
COMPLETE = {"completed": True}


@dataclass(frozen=True)
class Probe:
    label: str
    method: str
    path: str
    user: str | None  # whose token goes with it; None: no Authorization header
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None  # a raw body instead of `body` as JSON
    volatile: frozenset[str] = frozenset()
    # Each side's own path, where it differs (a task each side created has its own random id).
    paths: Mapping[str, str] | None = None
    # Each side's own body, where it differs (for the same reason).
    bodies: Mapping[str, Any] | None = None
    compared_headers: tuple[str, ...] = COMPARED_HEADERS


class ParityCheck:
    def __init__(self, servers: Mapping[str, RunningServer], data_dir: Path) -> None:
        self._clients = {
            side: httpx.Client(base_url=server.base_url, timeout=30)
            for side, server in servers.items()
        }
        self._tokens = dict(_rows(data_dir / TOKENS))
        self._contract = Contract()
        self.probes = 0

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def exchange(self, probe: Probe) -> httpx.Response:
        """Send `probe` to each side and compare; returns our service's answer."""
        return self.exchange_each(probe)["ours"]

    def exchange_each(self, probe: Probe) -> dict[str, httpx.Response]:
        """Send `probe` to each side and compare; returns each side's answer."""
        answers = {side: self._send(side, client, probe) for side, client in self._clients.items()}
        ours, mirror = answers["ours"], answers["mirror"]
        where = f"parity, {probe.label} ({probe.method} {probe.path})"
        for side, answer in answers.items():
            try:
                self._contract.assert_conforms(answer)
            except AssertionError as error:
                raise RuntimeError(
                    f"{where}: {side} answered outside the contract: {error}"
                ) from None
        if ours.status_code != mirror.status_code:
            raise RuntimeError(
                f"{where}: ours answered {ours.status_code} {ours.text[:300]},"
                f" the mirror {mirror.status_code} {mirror.text[:300]}"
            )
        for name in probe.compared_headers:
            if ours.headers.get(name) != mirror.headers.get(name):
                raise RuntimeError(
                    f"{where}: {name}: ours {ours.headers.get(name)!r},"
                    f" the mirror {mirror.headers.get(name)!r}"
                )
        if ours.status_code >= 400:
            agree = ours.json()["error"] == mirror.json()["error"]
        elif ours.content or mirror.content:
            agree = _without(ours.json(), probe.volatile) == _without(mirror.json(), probe.volatile)
        else:
            agree = True
        if not agree:
            raise RuntimeError(
                f"{where}: the bodies differ:\n  ours   {ours.text[:600]}"
                f"\n  mirror {mirror.text[:600]}"
            )
        self.probes += 1
        return answers

    def _send(self, side: str, client: httpx.Client, probe: Probe) -> httpx.Response:
        headers = dict(probe.headers)
        if probe.user is not None:
            headers["Authorization"] = self._tokens[probe.user]
        path = probe.path if probe.paths is None else probe.paths[side]
        if probe.content is not None:
            return client.request(probe.method, path, headers=headers, content=probe.content)
        body = probe.body if probe.bodies is None else probe.bodies[side]
        return client.request(probe.method, path, headers=headers, json=body)


def check_parity(servers: Mapping[str, RunningServer], data_dir: Path) -> int:
    """Every probe below on both sides; raises RuntimeError at the first disagreement."""
    listed = [row[0] for row in _rows(data_dir / LISTED_USERS)]
    writers = [row[0] for row in _rows(data_dir / WRITERS)]
    targets = [(row[0], int(row[1])) for row in _rows(data_dir / TARGETS)]
    deep = _rows(data_dir / DEEP_CURSORS)
    lists = _rows(data_dir / LISTS)
    moves = _rows(data_dir / MOVES)
    batches = _rows(data_dir / BATCHES)
    recurring = _rows(data_dir / RECURRING)
    check = ParityCheck(servers, data_dir)
    try:
        _reads(check, listed, writers, targets, deep)
        _manual_order(check, lists, moves)
        _writes(check, writers, targets)
        _recurring(check, writers, recurring)
        _batches(check, batches)
        _errors(check, listed, writers, targets)
    finally:
        check.close()
    return check.probes


def _reads(
    check: ParityCheck,
    listed: list[str],
    writers: list[str],
    targets: list[tuple[str, int]],
    deep: list[list[str]],
) -> None:
    user = listed[0]
    check.exchange(Probe("list", "GET", f"/api/{user}/tasks", user))
    check.exchange(Probe("filtered", "GET", f"/api/{user}/tasks?{FILTERED_QUERY}", user))
    big_user, cursor = deep[0]
    check.exchange(Probe("deep page", "GET", f"/api/{big_user}/tasks?cursor={cursor}", big_user))
    writer = writers[0]
    for query in (
        "limit=7",
        f"{FILTERED_QUERY}&limit=5",
        "sort=-priority&tag=HOME&q=the&overdue=false&limit=4",
        "sort=title&due_after=2026-01-02T00:00:00%2B01:00&due_before=2026-03-01T00:00:00Z&limit=3",
        "sort=-due_at&status=completed&limit=6",
        "sort=updated_at&priority=low&limit=9",
    ):
        path = f"/api/{writer}/tasks?{query}"
        page = check.exchange(Probe(f"list ?{query}", "GET", path, writer)).json()
        for number in (2, 3):
            if page["next_cursor"] is None:
                break
            follow = f"{path}&cursor={page['next_cursor']}"
            page = check.exchange(Probe(f"page {number} of ?{query}", "GET", follow, writer)).json()
    owner, task_id = targets[0]
    task = check.exchange(Probe("get", "GET", f"/api/{owner}/tasks/{task_id}", owner))
    etag = task.headers["etag"]
    for header in (etag, f'W/{etag}, "1234"', "*"):
        label = f"get, If-None-Match {header}"
        path = task.request.url.path
        check.exchange(Probe(label, "GET", path, owner, headers={"If-None-Match": header}))


def _manual_order(check: ParityCheck, lists: list[list[str]], moves: list[list[str]]) -> None:
    """A list's pages in the user's order, and moves: after a neighbour, back, to where it is."""
    user, list_id = lists[0]
    path = f"/api/{user}/tasks?sort=manual&list_id={list_id}&limit=20"
    page = check.exchange(Probe("manual order", "GET", path, user)).json()
    follow = f"{path}&cursor={page['next_cursor']}"
    check.exchange(Probe("manual order, page 2", "GET", follow, user))
    owner, task, neighbour = moves[0]
    for label, moved, after in (
        ("move after a neighbour", task, neighbour),
        ("the same move again (no change)", task, neighbour),
        ("the neighbour after it", neighbour, task),
    ):
        check.exchange(
            Probe(
                label,
                "POST",
                f"/api/{owner}/tasks/{moved}/move",
                owner,
                {"after_id": int(after)},
                volatile=WRITE_TIMES,
            )
        )
    missing = {"after_id": 1}
    check.exchange(
        Probe("move after none", "POST", f"/api/{owner}/tasks/{task}/move", owner, missing)
    )


def _writes(check: ParityCheck, writers: list[str], targets: list[tuple[str, int]]) -> None:
    owner, task_id = targets[1]
    path = f"/api/{owner}/tasks/{task_id}"
    replaced = check.exchange(Probe("replace", "PUT", path, owner, BODY, volatile=WRITE_TIMES))
    check.exchange(Probe("replace, no change", "PUT", path, owner, BODY, volatile=WRITE_TIMES))
    check.exchange(
        Probe(
            "replace, If-Match current",
            "PUT",
            path,
            owner,
            {"title": "Parity check, again"},
            headers={"If-Match": replaced.headers["etag"]},
            volatile=WRITE_TIMES,
        )
    )
    check.exchange(
        Probe("replace, If-Match stale", "PUT", path, owner, BODY, headers={"If-Match": '"1"'})
    )
    owner, task_id = targets[2]
    path = f"/api/{owner}/tasks/{task_id}/complete"
    for label, body in (
        ("toggle", None),
        ("toggle back", None),
        ("complete", {"completed": True}),
        ("complete again", {"completed": True}),
        ("reopen", {"completed": False}),
    ):
        check.exchange(Probe(label, "PATCH", path, owner, body, volatile=WRITE_TIMES))
    writer = writers[0]
    tasks = f"/api/{writer}/tasks"
    # Each side draws a created task's id at random: the id and Location are each side's own.
    fresh = WRITE_TIMES | {"id"}
    unlocated = tuple(name for name in COMPARED_HEADERS if name != "location")
    created = [
        check.exchange_each(
            Probe("create", "POST", tasks, writer, BODY, volatile=fresh, compared_headers=unlocated)
        ),
        check.exchange_each(
            Probe(
                "create, title only",
                "POST",
                tasks,
                writer,
                {"title": "x"},
                volatile=fresh,
                compared_headers=unlocated,
            )
        ),
    ]
    keyed = {"Idempotency-Key": "bench-parity-1"}
    for label in ("create with a key", "the same again (replayed)"):
        probe = Probe(
            label,
            "POST",
            tasks,
            writer,
            BODY,
            headers=keyed,
            volatile=fresh,
            compared_headers=unlocated,
        )
        created.append(check.exchange_each(probe))
    check.exchange(Probe("the key, another body", "POST", tasks, writer, {"title": "y"}, keyed))
    for answers in created[:3]:
        paths = {side: f"{tasks}/{answer.json()['id']}" for side, answer in answers.items()}
        path = paths["ours"]
        check.exchange(Probe("get created", "GET", path, writer, volatile=fresh, paths=paths))
        stale = {"If-Match": '"7"'}
        check.exchange(
            Probe("delete, If-Match stale", "DELETE", path, writer, headers=stale, paths=paths)
        )
        check.exchange(Probe("delete", "DELETE", path, writer, paths=paths))
        check.exchange(Probe("delete again", "DELETE", path, writer, paths=paths))


def _recurring(check: ParityCheck, writers: list[str], recurring: list[list[str]]) -> None:
    """A seeded recurring task completed as driver.lua's `complete_recurring` does it; a recurring
    task created as `create_recurring` does it, then completed every way a completion can go:
    its occurrence (by a completion, by a toggle), a stale If-Match, a reopening that changes
    nothing, the last occurrence of a COUNT, the whole series; created and refused in a batch;
    and each way its due date and rule are refused. Every task created is deleted."""
    owner, task_id = recurring[0]
    path = f"/api/{owner}/tasks/{task_id}"
    for label in ("complete a seeded recurring task", "complete it again"):
        check.exchange(
            Probe(label, "PATCH", f"{path}/complete", owner, COMPLETE, volatile=WRITE_TIMES)
        )
    check.exchange(Probe("the seeded recurring task", "GET", path, owner, volatile=WRITE_TIMES))
    writer = writers[0]
    tasks = f"/api/{writer}/tasks"
    fresh = WRITE_TIMES | {"id"}
    unlocated = tuple(name for name in COMPARED_HEADERS if name != "location")
    counted = {**RECURRING_BODY, "recurrence": {"rule": "freq=weekly;byday=we,mo;count=2"}}
    paths: list[dict[str, str]] = []
    for label, body in (("create a recurring task", RECURRING_BODY), ("one of COUNT=2", counted)):
        probe = Probe(
            label, "POST", tasks, writer, body, volatile=fresh, compared_headers=unlocated
        )
        answers = check.exchange_each(probe)
        paths.append({side: f"{tasks}/{answer.json()['id']}" for side, answer in answers.items()})
    recurs, ends = paths
    stale = {"If-Match": '"1"'}
    for label, completion, headers, each in (
        ("complete its occurrence", COMPLETE, {}, recurs),
        ("toggle: complete the next", None, {}, recurs),
        ("complete, If-Match stale", COMPLETE, stale, recurs),
        ("reopen (no change)", {"completed": False}, {}, recurs),
        ("the first of COUNT=2", COMPLETE, {}, ends),
        ("the last of COUNT=2 (completed)", COMPLETE, {}, ends),
        ("complete the whole series", {"completed": True, "series": True}, {}, recurs),
        ("complete it again (no change)", COMPLETE, {}, recurs),
    ):
        completing = {side: f"{task}/complete" for side, task in each.items()}
        check.exchange(
            Probe(
                label,
                "PATCH",
                completing["ours"],
                writer,
                completion,
                headers=headers,
                volatile=fresh,
                paths=completing,
            )
        )
    replaced = {**RECURRING_BODY, "recurrence": {"rule": "FREQ=MONTHLY;BYDAY=1MO"}}
    check.exchange(
        Probe(
            "replace a recurring task",
            "PUT",
            recurs["ours"],
            writer,
            replaced,
            volatile=fresh,
            paths=recurs,
        )
    )
    bad_rule = {**RECURRING_BODY, "recurrence": {"rule": "FREQ=HOURLY"}}
    batch = {"operations": [{"op": "create", "body": body} for body in (RECURRING_BODY, bad_rule)]}
    answers = check.exchange_each(
        Probe("batch: recurring creates", "POST", f"{tasks}/batch", writer, batch, volatile=fresh)
    )
    made = {side: answer.json()["results"][0]["task"]["id"] for side, answer in answers.items()}
    paths.append({side: f"{tasks}/{task}" for side, task in made.items()})
    for each in paths:
        check.exchange(Probe("delete", "DELETE", each["ours"], writer, paths=each))
    for label, changes in (
        ("recurrence without a due date", {"due": None}),
        ("a rule outside the subset", {"recurrence": {"rule": "FREQ=DAILY;BYHOUR=9"}}),
        ("a rule with no occurrence", {"recurrence": {"rule": "FREQ=WEEKLY;UNTIL=20261130"}}),
        ("a rule with a space", {"recurrence": {"rule": "FREQ=WEEKLY; COUNT=2"}}),
        ("recurrence from nowhere", {"recurrence": {"rule": "FREQ=DAILY", "from": "now"}}),
        ("due and due_at", {"due_at": "2026-12-07T08:00:00Z"}),
        ("no such zone", {"due": {**RECURRING_DUE, "time_zone": "Mars/Olympus_Mons"}}),
        ("a zone without a time", {"due": {"date": "2026-12-07", "time_zone": "UTC"}}),
        ("no such day", {"due": {**RECURRING_DUE, "date": "2027-02-29"}}),
        ("a time out of range", {"due": {**RECURRING_DUE, "time": "24:00"}}),
        ("an unknown due member", {"due": {**RECURRING_DUE, "zone": "UTC"}}),
    ):
        check.exchange(Probe(label, "POST", tasks, writer, {**RECURRING_BODY, **changes}))


def batch_probe(row: list[str], label: str = "batch (the benchmark's)") -> Probe:
    """The benchmark's batch of one user's, its titles set as driver.lua would set them."""
    user, template = row
    body = orjson.loads(template.replace(SEQUENCE, "parity"))
    return Probe(label, "POST", f"/api/{user}/tasks/batch", user, body, volatile=WRITE_TIMES)


def _batches(check: ParityCheck, batches: list[list[str]]) -> None:
    """The benchmark's batch, twice (the second time its titles change nothing); a batch whose
    operations fail in every way they can, alone and in runs the service writes together; an
    atomic one that fails; one under an idempotency key. Only the tasks a batch creates are
    deleted, and every completion is undone: the benchmark's batches find their tasks as they
    were."""
    check.exchange(batch_probe(batches[0]))
    check.exchange(batch_probe(batches[0], "the same batch again (its titles unchanged)"))
    user, template = batches[1]
    operations = orjson.loads(template)["operations"]
    tasks = [operation["task_id"] for operation in operations]
    path = f"/api/{user}/tasks/batch"
    missing = 123456789
    mixed = [
        {"op": "create", "body": {"title": "Made in a batch", "tags": ["Batch"]}},
        {"op": "create", "body": {"title": "In no list of theirs", "list_id": 1}},
        {"op": "create", "body": {"title": "Made in a batch too", "priority": "high"}},
        {"op": "update", "task_id": missing, "body": {"title": "Nobody's"}},
        {"op": "update", "task_id": tasks[0], "body": {}},
        {"op": "update", "task_id": tasks[1], "if_match": '"999999"', "body": {"title": "t"}},
        {"op": "update", "task_id": tasks[1], "if_match": "*", "body": {"priority": "low"}},
        {"op": "complete", "task_id": tasks[2], "if_match": '"999999"', "completed": True},
        {"op": "move", "task_id": tasks[3], "body": {"after_id": missing}},
        {"op": "move", "task_id": tasks[3], "body": {"before_id": tasks[3]}},
        {"op": "move", "task_id": tasks[3], "body": {"list_id": 1}},
        {"op": "move", "task_id": missing, "body": {}},
        {"op": "move", "task_id": tasks[4], "body": {"before_id": tasks[5]}},
        {"op": "delete", "task_id": missing},
        {"op": "delete", "task_id": tasks[6], "if_match": '"999999"'},
    ]
    answers = check.exchange_each(
        Probe(
            "batch, each kind of refusal",
            "POST",
            path,
            user,
            {"operations": mixed},
            volatile=WRITE_TIMES | {"id"},
        )
    )
    created = {
        side: [answer.json()["results"][index]["task"]["id"] for index in (0, 2)]
        for side, answer in answers.items()
    }
    inbox = answers["ours"].json()["results"][0]["task"]["list_id"]
    to_inbox = [{"op": "move", "task_id": task, "body": {"list_id": inbox}} for task in tasks[3:5]]
    check.exchange(
        Probe(
            "moves to the list they are in",
            "POST",
            path,
            user,
            {"operations": to_inbox},
            volatile=WRITE_TIMES,
        )
    )
    atomic = {
        "atomic": True,
        "operations": [
            {"op": "update", "task_id": tasks[7], "body": {"title": "Rolled back"}},
            {"op": "complete", "task_id": tasks[9], "completed": True},
            {"op": "complete", "task_id": tasks[10], "completed": False},
            {"op": "delete", "task_id": missing},
            operations[6],
        ],
    }
    check.exchange(Probe("atomic batch, one fails", "POST", path, user, atomic))
    task = f"/api/{user}/tasks/{tasks[7]}"
    check.exchange(Probe("a task of the rolled back batch", "GET", task, user))
    keyed = {"Idempotency-Key": "bench-parity-batch"}
    deletions = {
        side: {"operations": [{"op": "delete", "task_id": task_id} for task_id in ids]}
        for side, ids in created.items()
    }
    for label in ("batch with a key", "the same again (replayed)"):
        check.exchange(Probe(label, "POST", path, user, headers=keyed, bodies=deletions))
    check.exchange(Probe("the key, another batch", "POST", path, user, atomic, keyed))
    check.exchange(Probe("malformed batch", "POST", path, user, {"operations": []}))


def _errors(
    check: ParityCheck, listed: list[str], writers: list[str], targets: list[tuple[str, int]]
) -> None:
    user, writer = listed[0], writers[0]
    tasks = f"/api/{user}/tasks"
    owner, task_id = targets[0]
    task = f"/api/{owner}/tasks/{task_id}"
    probes = [
        Probe("no token", "GET", tasks, None),
        Probe("another user's token", "GET", tasks, writer),
        Probe("bad sort", "GET", f"{tasks}?sort=id", user),
        Probe("bad limit", "GET", f"{tasks}?limit=101", user),
        Probe("five priorities", "GET", f"{tasks}?" + "&".join(["priority=low"] * 5), user),
        Probe("date without zone", "GET", f"{tasks}?due_before=2026-01-01T00:00:00", user),
        Probe("forged cursor", "GET", f"{tasks}?cursor=abc.def", user),
        Probe("empty cursor", "GET", f"{tasks}?sort=title&cursor=", user),
        Probe("missing task", "GET", f"{tasks}/9223372036854775807", user),
        Probe("task id 0", "GET", f"{tasks}/0", user),
        Probe(
            "text body", "POST", tasks, user, content=b"x", headers={"Content-Type": "text/plain"}
        ),
        Probe("malformed JSON", "POST", tasks, user, content=b"{", headers=_JSON),
        Probe("no body", "POST", tasks, user),
        Probe("empty title", "POST", tasks, user, {"title": " "}),
        Probe("unknown field", "POST", tasks, user, {"title": "t", "completed": True}),
        Probe("bad tag", "POST", tasks, user, {"title": "t", "tags": [" "]}),
        Probe("bad priority", "PUT", task, owner, {"title": "t", "priority": "asap"}),
        Probe("bad due date", "PUT", task, owner, {"title": "t", "due_at": "2026-12-01"}),
        Probe("bad completion", "PATCH", f"{task}/complete", owner, {"done": True}),
        Probe("missing task, toggle", "PATCH", f"{tasks}/123456789/complete", user),
        Probe("missing task, delete", "DELETE", f"{tasks}/123456789", user),
    ]
    for probe in probes:
        check.exchange(probe)
    # A cursor that is genuine, but for other filters.
    page = check.exchange(Probe("a first page", "GET", f"/api/{writer}/tasks?limit=2", writer))
    other = f"/api/{writer}/tasks?limit=2&status=pending&cursor={page.json()['next_cursor']}"
    check.exchange(Probe("cursor of other filters", "GET", other, writer))


_JSON = {"Content-Type": "application/json"}


def _without(document: Any, names: frozenset[str]) -> Any:
    if isinstance(document, dict):
        return {key: _without(value, names) for key, value in document.items() if key not in names}
    if isinstance(document, list):
        return [_without(item, names) for item in document]
    return document


def _rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines() if line]
