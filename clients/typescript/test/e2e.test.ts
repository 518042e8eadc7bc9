/**
 * The client against the running service (tests/integration/test_typescript_client.py starts it
 * and mints the tokens). Every request and answer is typed by the generated schema, so a contract
 * change that breaks a caller breaks this file's type check first.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { EventStreamParser, type EventStreamMessage } from "../src/events.js";
import {
  ApiError,
  MERGE_PATCH,
  createTaskApiClient,
  isApiError,
  subscribe,
  unwrap,
  type BatchRestore,
  type StreamEvent,
  type StreamState,
  type SubscribeOptions,
  type Task,
  type TaskApiClient,
  type operations,
} from "../src/index.js";

type ListQuery = NonNullable<operations["list_tasks"]["parameters"]["query"]>;

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run tests/integration/test_typescript_client.py`);
  }
  return value;
}

const baseUrl = required("API_URL");
const alice = { id: required("ALICE_ID"), token: required("ALICE_TOKEN") };
const bob = { id: required("BOB_ID"), token: required("BOB_TOKEN") };

/** Alice's client; its token comes from an async getter, as a Better Auth session gives it. */
function aliceClient(): { client: TaskApiClient; tokenCalls: () => number } {
  let calls = 0;
  const client = createTaskApiClient({
    baseUrl,
    getToken: async () => {
      calls += 1;
      return alice.token;
    },
  });
  return { client, tokenCalls: () => calls };
}

const path = { user_id: alice.id };

async function createTask(
  client: TaskApiClient,
  title: string,
  tags: string[] = [],
): Promise<Task> {
  return unwrap(client.POST("/api/{user_id}/tasks", { params: { path }, body: { title, tags } }));
}

/** Resolves once `condition` holds; fails after 10 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A stream of Alice's, with what it told recorded. */
function listen(options: Partial<SubscribeOptions> = {}) {
  const heard = { events: [] as StreamEvent[], states: [] as StreamState[], errors: [] as ApiError[] };
  const subscription = subscribe({
    baseUrl,
    userId: alice.id,
    getToken: () => alice.token,
    onEvent: (event) => heard.events.push(event),
    onState: (state) => heard.states.push(state),
    onError: (error) => heard.errors.push(error),
    ...options,
  });
  return { subscription, ...heard };
}

/** The sync token of a `ready`, `changed` or `resync` event. */
function syncTokenOf(event: StreamEvent | undefined): string {
  assert.ok(event && "id" in event, `no sync event: ${JSON.stringify(event)}`);
  assert.equal(event.id, event.data.sync_token);
  return event.data.sync_token;
}

async function changedSince(client: TaskApiClient, since: string): Promise<string[]> {
  const changes = await unwrap(
    client.GET("/api/{user_id}/tasks/changes", { params: { path, query: { since } } }),
  );
  return changes.items.map((task) => task.title);
}

async function expectApiError(
  call: Promise<unknown>,
  status: number,
  code: string,
): Promise<ApiError> {
  try {
    await call;
  } catch (error) {
    assert.ok(isApiError(error, code, status), `expected ${status} ${code}, got ${String(error)}`);
    assert.equal(error.body.error, code);
    assert.equal(typeof error.message, "string");
    return error;
  }
  assert.fail(`expected ${status} ${code}, but the call succeeded`);
}

describe("the TypeScript client against the live service", () => {
  test("create, get, replace, patch, complete and delete one task", async () => {
    const { client, tokenCalls } = aliceClient();

    const created = await client.POST("/api/{user_id}/tasks", {
      params: { path },
      body: {
        title: "Buy milk",
        description: "Two litres",
        priority: "high",
        tags: ["Errands", " home "],
        due_at: "2030-12-01T18:00:00+01:00",
      },
    });
    const task = await unwrap(created);
    assert.equal(created.response.status, 201);
    assert.equal(created.response.headers.get("Location"), `/api/${alice.id}/tasks/${task.id}`);
    assert.equal(created.response.headers.get("ETag"), `"${task.version}"`);
    assert.equal(task.user_id, alice.id);
    assert.equal(task.title, "Buy milk");
    assert.equal(task.priority, "high");
    assert.deepEqual(task.tags, ["errands", "home"]);
    assert.equal(task.due_at, "2030-12-01T17:00:00Z");
    assert.equal(task.completed, false);
    assert.equal(task.completed_at, null);
    assert.equal(task.version, 1);

    const taskPath = { user_id: alice.id, task_id: task.id };
    const fetched = await unwrap(
      client.GET("/api/{user_id}/tasks/{task_id}", { params: { path: taskPath } }),
    );
    assert.deepEqual(fetched, task);

    const replaced = await unwrap(
      client.PUT("/api/{user_id}/tasks/{task_id}", {
        params: { path: taskPath, header: { "If-Match": `"${task.version}"` } },
        body: { title: "Buy oat milk", tags: ["home"] },
      }),
    );
    assert.equal(replaced.title, "Buy oat milk");
    assert.equal(replaced.description, null, "PUT resets what it omits");
    assert.equal(replaced.priority, "medium");
    assert.equal(replaced.due_at, null);
    assert.equal(replaced.version, 2);

    const contentTypes: (string | null)[] = [];
    client.use({
      onRequest({ request }) {
        contentTypes.push(request.headers.get("Content-Type"));
      },
    });
    const patched = await unwrap(
      client.PATCH("/api/{user_id}/tasks/{task_id}", {
        params: { path: taskPath },
        headers: MERGE_PATCH,
        body: { priority: "urgent", description: "From the corner shop", due_at: null },
      }),
    );
    assert.deepEqual(contentTypes, ["application/merge-patch+json"]);
    assert.equal(patched.priority, "urgent");
    assert.equal(patched.description, "From the corner shop");
    assert.equal(patched.title, "Buy oat milk", "a merge patch keeps what it omits");
    assert.equal(patched.version, 3);

    const completed = await unwrap(
      client.PATCH("/api/{user_id}/tasks/{task_id}/complete", {
        params: { path: taskPath },
        body: { completed: true },
      }),
    );
    assert.equal(completed.completed, true);
    assert.ok(completed.completed_at !== null);
    const reopened = await unwrap(
      client.PATCH("/api/{user_id}/tasks/{task_id}/complete", { params: { path: taskPath } }),
    );
    assert.equal(reopened.completed, false, "without a body, a toggle");
    assert.equal(reopened.completed_at, null);

    const deleted = await client.DELETE("/api/{user_id}/tasks/{task_id}", {
      params: { path: taskPath, header: { "If-Match": `"${reopened.version}"` } },
    });
    await unwrap(deleted);
    assert.equal(deleted.response.status, 204);
    await expectApiError(
      unwrap(client.GET("/api/{user_id}/tasks/{task_id}", { params: { path: taskPath } })),
      404,
      "not_found",
    );

    // One token per request: a refreshed Better Auth token is picked up by the next call.
    assert.equal(tokenCalls(), 8);
  });

  test("a deleted task waits in the trash and comes back with its id and its subtasks", async () => {
    const { client } = aliceClient();
    const task = await createTask(client, "Water the plants");
    const subtask = await unwrap(
      client.POST("/api/{user_id}/tasks", {
        params: { path },
        body: { title: "The ferns", parent_id: task.id },
      }),
    );
    const taskPath = { ...path, task_id: task.id };
    await unwrap(client.DELETE("/api/{user_id}/tasks/{task_id}", { params: { path: taskPath } }));

    const trash = await unwrap(client.GET("/api/{user_id}/trash", { params: { path } }));
    const item = trash.items.find((entry) => entry.kind === "task" && entry.id === task.id);
    assert.ok(item, "the deleted task is an item of the trash");
    assert.equal(item.version, task.version);
    assert.equal(item.task_count, 1, "its subtask comes back with it");
    assert.deepEqual(item.task, task);
    assert.ok(Date.parse(item.purge_at) > Date.parse(item.trashed_at));
    assert.ok(!trash.items.some((entry) => entry.id === subtask.id), "not an item of its own");

    await expectApiError(
      unwrap(
        client.POST("/api/{user_id}/trash/tasks/{task_id}/restore", {
          params: { path: taskPath, header: { "If-Match": `"${item.version + 1}"` } },
        }),
      ),
      412,
      "precondition_failed",
    );
    const restore = () =>
      client.POST("/api/{user_id}/trash/tasks/{task_id}/restore", {
        params: { path: taskPath, header: { "If-Match": `"${item.version}"` } },
      });
    const restoring = await restore();
    const restored = await unwrap(restoring);
    assert.equal(restoring.response.status, 200);
    assert.equal(restoring.response.headers.get("ETag"), `"${restored.version}"`);
    assert.equal(restored.id, task.id);
    assert.equal(restored.title, task.title);
    assert.ok(restored.version > item.version, "restoring is a write");
    // A retried restore (its answer lost on the way) answers the task as it is.
    assert.deepEqual(await unwrap(restore()), restored);

    const back = await unwrap(
      client.GET("/api/{user_id}/tasks/{task_id}", { params: { path: taskPath } }),
    );
    const backSubtask = await unwrap(
      client.GET("/api/{user_id}/tasks/{task_id}", {
        params: { path: { ...path, task_id: subtask.id } },
      }),
    );
    const after = await unwrap(client.GET("/api/{user_id}/trash", { params: { path } }));
    assert.deepEqual(back, restored);
    assert.equal(backSubtask.parent_id, task.id);
    assert.ok(!after.items.some((entry) => entry.id === task.id));

    // Removed for good: no longer restorable.
    await unwrap(client.DELETE("/api/{user_id}/tasks/{task_id}", { params: { path: taskPath } }));
    await unwrap(
      client.DELETE("/api/{user_id}/trash/tasks/{task_id}", {
        params: { path: taskPath, header: { "If-Match": `"${restored.version}"` } },
      }),
    );
    await expectApiError(
      unwrap(
        client.POST("/api/{user_id}/trash/tasks/{task_id}/restore", { params: { path: taskPath } }),
      ),
      404,
      "not_found",
    );
    await unwrap(client.DELETE("/api/{user_id}/trash", { params: { path } }));
    const emptied = await unwrap(client.GET("/api/{user_id}/trash", { params: { path } }));
    assert.deepEqual(emptied, { items: [], next_cursor: null });
  });

  test("an edit is in the task's history and undone by restoring the version before it", async () => {
    const { client } = aliceClient();
    const task = await createTask(client, "Buy milk");
    const taskPath = { ...path, task_id: task.id };
    const edited = await unwrap(
      client.PATCH("/api/{user_id}/tasks/{task_id}", {
        params: { path: taskPath, header: { "If-Match": `"${task.version}"` } },
        headers: MERGE_PATCH,
        body: { title: "Buy oat milk" },
      }),
    );

    const history = await unwrap(
      client.GET("/api/{user_id}/tasks/{task_id}/versions", { params: { path: taskPath } }),
    );
    assert.deepEqual(
      history.items.map((entry) => [entry.version, entry.change]),
      [
        [2, "edited"],
        [1, "created"],
      ],
    );
    assert.ok(history.items[0]?.changed.includes("title"));
    assert.equal(history.items[0]?.task.title, "Buy oat milk");
    assert.equal(history.items[1]?.task.title, "Buy milk");
    assert.equal(history.next_cursor, null);

    // The undo of a write answered with version v: version v - 1, only if still at v.
    const restoring = await client.POST(
      "/api/{user_id}/tasks/{task_id}/versions/{version}/restore",
      {
        params: {
          path: { ...taskPath, version: edited.version - 1 },
          header: { "If-Match": `"${edited.version}"` },
        },
      },
    );
    const restored = await unwrap(restoring);
    assert.equal(restored.title, "Buy milk");
    assert.equal(restored.version, 3);
    assert.equal(restoring.response.headers.get("ETag"), '"3"');
    await expectApiError(
      unwrap(
        client.POST("/api/{user_id}/tasks/{task_id}/versions/{version}/restore", {
          params: {
            path: { ...taskPath, version: 2 },
            header: { "If-Match": `"${edited.version}"` },
          },
        }),
      ),
      412,
      "precondition_failed",
    );

    const activity = await unwrap(client.GET("/api/{user_id}/activity", { params: { path } }));
    const mine = activity.items.filter((entry) => entry.task.id === task.id);
    assert.deepEqual(
      mine.map((entry) => entry.version),
      [3, 2, 1],
    );
  });

  test("a batch of deletions is undone by one batch of restores", async () => {
    const { client } = aliceClient();
    const [eggs, jam] = [await createTask(client, "Eggs"), await createTask(client, "Jam")];
    const deleting = [eggs, jam];

    const deleted = await unwrap(
      client.POST("/api/{user_id}/tasks/batch", {
        params: { path },
        body: {
          operations: deleting.map((task) => ({
            op: "delete" as const,
            task_id: task.id,
            if_match: `"${task.version}"`,
          })),
        },
      }),
    );
    assert.deepEqual(
      deleted.results.map((result) => result.status),
      [204, 204],
    );

    // Each operation's undo, the last one's first; a restore names the version deleted.
    const restore: BatchRestore[] = [...deleting]
      .reverse()
      .map((task) => ({ op: "restore", task_id: task.id, if_match: `"${task.version}"` }));
    const restored = await unwrap(
      client.POST("/api/{user_id}/tasks/batch", {
        params: { path },
        body: { operations: restore },
      }),
    );
    assert.deepEqual(
      restored.results.map((result) => [result.status, result.task?.title]),
      [
        [200, "Jam"],
        [200, "Eggs"],
      ],
    );
    for (const task of deleting) {
      const back = await unwrap(
        client.GET("/api/{user_id}/tasks/{task_id}", {
          params: { path: { ...path, task_id: task.id } },
        }),
      );
      assert.equal(back.title, task.title);
    }
  });

  test("lists: the Inbox, a list made, a task moved into it, the list deleted", async () => {
    const { client } = aliceClient();
    const lists = await unwrap(client.GET("/api/{user_id}/lists", { params: { path } }));
    const inbox = lists.items.find((list) => list.is_inbox);
    assert.ok(inbox, "every user has an Inbox");
    const groceries = await unwrap(
      client.POST("/api/{user_id}/lists", { params: { path }, body: { name: "Groceries" } }),
    );
    const task = await createTask(client, "Milk");
    assert.equal(task.list_id, inbox.id);

    const moved = await unwrap(
      client.PATCH("/api/{user_id}/tasks/{task_id}", {
        params: { path: { ...path, task_id: task.id } },
        headers: MERGE_PATCH,
        body: { list_id: groceries.id },
      }),
    );
    const inList = await unwrap(
      client.GET("/api/{user_id}/tasks", { params: { path, query: { list_id: groceries.id } } }),
    );
    await unwrap(
      client.DELETE("/api/{user_id}/lists/{list_id}", {
        params: { path: { ...path, list_id: groceries.id }, query: { tasks: "move_to_inbox" } },
      }),
    );
    const back = await unwrap(
      client.GET("/api/{user_id}/tasks/{task_id}", {
        params: { path: { ...path, task_id: task.id } },
      }),
    );

    assert.equal(moved.id, task.id);
    assert.deepEqual(
      inList.items.map((item) => item.id),
      [task.id],
    );
    assert.equal(back.list_id, inbox.id);
  });

  test("a batch completes one task, refuses a stale one and deletes a third, in one request", async () => {
    const { client } = aliceClient();
    const [done, stale, gone] = [
      await createTask(client, "Done"),
      await createTask(client, "Stale"),
      await createTask(client, "Gone"),
    ];

    const answer = await unwrap(
      client.POST("/api/{user_id}/tasks/batch", {
        params: { path },
        body: {
          operations: [
            { op: "complete", task_id: done.id, completed: true },
            { op: "update", task_id: stale.id, if_match: '"9"', body: { title: "Late" } },
            { op: "delete", task_id: gone.id, if_match: `"${gone.version}"` },
          ],
        },
      }),
    );

    assert.equal(answer.applied, true);
    assert.deepEqual(
      answer.results.map((result) => result.status),
      [200, 412, 204],
    );
    assert.equal(answer.results[0]?.task?.completed, true);
    assert.equal(answer.results[1]?.error?.error, "precondition_failed");
  });

  test("a date alone is due from the start of that day in the user's time zone", async () => {
    const { client } = aliceClient();
    const settings = await unwrap(
      client.PATCH("/api/{user_id}/settings", {
        params: { path },
        body: { time_zone: "Asia/Tokyo" },
        headers: MERGE_PATCH,
      }),
    );

    const task = await unwrap(
      client.POST("/api/{user_id}/tasks", {
        params: { path },
        body: { title: "Pay rent", due: { date: "2026-12-08" } },
      }),
    );

    assert.equal(settings.time_zone, "Asia/Tokyo");
    assert.deepEqual(task.due, { date: "2026-12-08", time: null, time_zone: null });
    assert.equal(task.due_at, "2026-12-07T15:00:00Z");
  });

  test("reminders fire at an instant or before the due date, and a notifier polls a window", async () => {
    const { client } = aliceClient();
    // 09:00 in Berlin is 08:00 UTC: summer time begins on 30 March 2031.
    const task = await unwrap(
      client.POST("/api/{user_id}/tasks", {
        params: { path },
        body: {
          title: "Dentist",
          due: { date: "2031-03-14", time: "09:00", time_zone: "Europe/Berlin" },
          reminders: [{ minutes_before: 30 }, { at: "2031-03-13T20:00:00+01:00" }],
        },
      }),
    );

    const polled = await unwrap(
      client.GET("/api/{user_id}/reminders", {
        params: { path, query: { until: "2031-03-14T07:30:00Z" } },
      }),
    );
    // The next poll starts where the last one ended, so nothing is delivered twice.
    const next = await unwrap(
      client.GET("/api/{user_id}/reminders", {
        params: { path, query: { after: "2031-03-14T07:30:00Z", until: "2031-03-14T08:30:00Z" } },
      }),
    );

    assert.equal(task.due_at, "2031-03-14T08:00:00Z");
    assert.deepEqual(task.reminders, [
      { at: null, minutes_before: 30, fires_at: "2031-03-14T07:30:00Z" },
      { at: "2031-03-13T19:00:00Z", minutes_before: null, fires_at: "2031-03-13T19:00:00Z" },
    ]);
    assert.deepEqual(
      polled.items.map((item) => [item.fires_at, item.task.id]),
      [
        ["2031-03-13T19:00:00Z", task.id],
        ["2031-03-14T07:30:00Z", task.id],
      ],
    );
    assert.deepEqual(
      polled.items.map((item) => item.reminder),
      [task.reminders[1], task.reminders[0]],
    );
    assert.equal(polled.next_cursor, null);
    assert.deepEqual(next.items, []);
  });

  test("list pages through next_cursor with a filter", async () => {
    const { client } = aliceClient();
    const home: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      home.push((await createTask(client, `Home chore ${i}`, ["home"])).id);
    }
    await createTask(client, "Office chore", ["office"]);
    const done = await createTask(client, "Home chore done", ["home"]);
    await unwrap(
      client.PATCH("/api/{user_id}/tasks/{task_id}/complete", {
        params: { path: { user_id: alice.id, task_id: done.id } },
        body: { completed: true },
      }),
    );

    const seen: Task[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: ListQuery = {
        tag: ["home"],
        status: "pending",
        sort: "title",
        limit: 2,
      };
      if (cursor !== null) {
        query.cursor = cursor;
      }
      const page = await unwrap(client.GET("/api/{user_id}/tasks", { params: { path, query } }));
      assert.ok(page.items.length <= 2);
      seen.push(...page.items);
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor !== null);

    assert.equal(pages, 3);
    assert.deepEqual(
      seen.map((task) => task.title),
      [0, 1, 2, 3, 4].map((i) => `Home chore ${i}`),
    );
    assert.deepEqual(new Set(seen.map((task) => task.id)), new Set(home));
    assert.ok(seen.every((task) => task.tags.includes("home") && !task.completed));
  });

  test("the event stream announces each change, resumes from Last-Event-ID and is Alice's alone", async () => {
    const { client } = aliceClient();

    // Open: `ready`, then `changed` for a write; the events say that, the delta sync says what.
    const live = listen();
    try {
      await until(() => live.events.length === 1, "ready");
      await createTask(client, "Heard live");
      await until(() => live.events.length === 2, "changed");
    } finally {
      live.subscription.close();
    }
    const ready = syncTokenOf(live.events[0]);
    assert.equal(live.events[0]?.event, "ready");
    assert.equal(live.events[1]?.event, "changed");
    assert.deepEqual(await changedSince(client, ready), ["Heard live"]);
    assert.deepEqual(live.states, ["open", "closed"]);
    const resumeFrom = syncTokenOf(live.events[1]);
    assert.equal(live.subscription.lastEventId, resumeFrom);

    // A change while no stream was open: the one that resumes from the last id says `changed` at
    // once; one that resumes from an id the service never issued says `resync`.
    await createTask(client, "Missed while away");
    const resumed = listen({ lastEventId: resumeFrom });
    const lost = listen({ lastEventId: "not-a-sync-token" });
    try {
      // A change's notification that arrives as a stream opens may be announced after its first
      // event too: the first one is what these test.
      await until(() => resumed.events.length >= 1 && lost.events.length >= 1, "first events");
    } finally {
      resumed.subscription.close();
      lost.subscription.close();
    }
    assert.equal(resumed.events[0]?.event, "changed");
    assert.deepEqual(await changedSince(client, resumeFrom), ["Missed while away"]);
    const [resync] = lost.events;
    assert.ok(resync?.event === "resync", JSON.stringify(resync));
    assert.equal(resync.data.reason, "unknown");
    assert.deepEqual(await changedSince(client, syncTokenOf(resync)), []);

    // Bob's token opens no stream of Alice's: refused, asked for afresh once, refused again.
    const fresh: boolean[] = [];
    const bobs = listen({
      getToken: (request) => {
        fresh.push(request.fresh);
        return bob.token;
      },
    });
    try {
      await until(() => bobs.states.includes("closed"), "closed");
    } finally {
      bobs.subscription.close();
    }
    assert.deepEqual(fresh, [false, true]);
    assert.deepEqual(bobs.events, []);
    assert.deepEqual(
      bobs.errors.map((error) => [error.status, error.code]),
      [[403, "forbidden"]],
    );

    // What EventSource would do: a stream token in the URL instead of the bearer token.
    const { stream_token: streamToken } = await unwrap(
      client.POST("/api/{user_id}/events/tokens", { params: { path } }),
    );
    const abort = new AbortController();
    const opened = await fetch(
      `${baseUrl}/api/${encodeURIComponent(alice.id)}/events?stream_token=${streamToken}`,
      { headers: { Accept: "text/event-stream" }, signal: abort.signal },
    );
    assert.equal(opened.status, 200);
    assert.equal(opened.headers.get("Cache-Control"), "no-store");
    const messages: EventStreamMessage[] = [];
    const parser = new EventStreamParser({
      onMessage: (message) => messages.push(message),
      onRetry: () => {},
    });
    assert.ok(opened.body);
    const reader = opened.body.pipeThrough(new TextDecoderStream()).getReader();
    while (messages.length === 0) {
      const { done, value } = await reader.read();
      assert.ok(!done, "the stream ended before its first event");
      parser.push(value);
    }
    abort.abort();
    assert.equal(messages[0]?.event, "ready");
  });

  test("errors arrive as a typed ApiError with the contract's status and code", async () => {
    const { client } = aliceClient();
    const task = await createTask(client, "Mine");
    const taskPath = { user_id: alice.id, task_id: task.id };

    const anonymous = createTaskApiClient({ baseUrl, getToken: () => "not-a-jwt" });
    const unauthorized = await expectApiError(
      unwrap(anonymous.GET("/api/{user_id}/tasks", { params: { path } })),
      401,
      "unauthorized",
    );
    assert.match(unauthorized.response.headers.get("WWW-Authenticate") ?? "", /^Bearer/);

    const bobsClient = createTaskApiClient({ baseUrl, getToken: () => bob.token });
    await expectApiError(
      unwrap(bobsClient.GET("/api/{user_id}/tasks/{task_id}", { params: { path: taskPath } })),
      403,
      "forbidden",
    );
    // Bob's own URL with Alice's task id: another user's task looks like no task at all.
    await expectApiError(
      unwrap(
        bobsClient.GET("/api/{user_id}/tasks/{task_id}", {
          params: { path: { user_id: bob.id, task_id: task.id } },
        }),
      ),
      404,
      "not_found",
    );

    const invalid = await expectApiError(
      unwrap(client.POST("/api/{user_id}/tasks", { params: { path }, body: { title: "" } })),
      422,
      "validation_failed",
    );
    assert.ok(Array.isArray(invalid.details) && invalid.details.length > 0);

    const stale = await expectApiError(
      unwrap(
        client.PUT("/api/{user_id}/tasks/{task_id}", {
          params: { path: taskPath, header: { "If-Match": '"99"' } },
          body: { title: "Too late" },
        }),
      ),
      412,
      "precondition_failed",
    );
    assert.equal(stale.response.headers.get("ETag"), `"${task.version}"`);

    // A body that is not the contract's Error still becomes an ApiError callers can branch on.
    const proxied = createTaskApiClient({
      baseUrl,
      getToken: () => alice.token,
      fetch: async () => new Response("<html>Bad gateway</html>", { status: 502 }),
    });
    await expectApiError(
      unwrap(proxied.GET("/api/{user_id}/tasks", { params: { path } })),
      502,
      "unexpected_response",
    );
  });
});
