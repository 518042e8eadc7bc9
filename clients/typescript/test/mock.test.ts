/**
 * The client against Prism serving openapi.yaml's examples (tests/integration/test_mock_server.py
 * starts it and writes each operation's example to MOCK_EXAMPLES). One test per operation, named by
 * its operationId, so a frontend built on `make mock` gets exactly these answers.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import createClient from "openapi-fetch";

import {
  MERGE_PATCH,
  createTaskApiClient,
  isApiError,
  subscribe,
  unwrap,
  type DueReminderPage,
  type FetchResult,
  type StreamEvent,
  type StreamState,
  type StreamToken,
  type Task,
  type Settings,
  type TaskBatchResult,
  type TaskChanges,
  type TaskOccurrencePage,
  type TaskList,
  type TaskVersionPage,
  type TodoList,
  type TodoListPage,
  type TrashPage,
  type components,
  type operations,
  type paths,
} from "../src/index.js";

/** What the contract says an operation answers: its success status, example body and headers. */
interface Example {
  status: number;
  body: unknown;
  headers: string[];
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run tests/integration/test_mock_server.py`);
  }
  return value;
}

const baseUrl = required("MOCK_URL");
const examples = JSON.parse(readFileSync(required("MOCK_EXAMPLES"), "utf8")) as Record<
  keyof operations,
  Example
>;
// Prism checks only that a bearer token is there.
const client = createTaskApiClient({ baseUrl, getToken: () => "any-token" });
const path = { user_id: "user_123" };
const taskPath = { user_id: "user_123", task_id: 42 };
const listPath = { user_id: "user_123", list_id: 7 };

/** The body of `result`, after checking it is the operation's example, status and headers. */
async function expectExample<Data>(
  operationId: keyof operations,
  result: Promise<FetchResult<Data>>,
): Promise<Data> {
  const example = examples[operationId];
  const { response } = await result;
  const data = await unwrap(result);
  assert.equal(response.status, example.status);
  for (const header of example.headers) {
    assert.ok(response.headers.has(header), `${operationId} without the ${header} header`);
  }
  assert.deepEqual(data, example.body ?? undefined);
  return data;
}

describe("the TypeScript client against the mock server (make mock)", () => {
  test("list_tasks", async () => {
    const page: TaskList = await expectExample(
      "list_tasks",
      client.GET("/api/{user_id}/tasks", {
        params: { path, query: { status: "pending", priority: ["high"], sort: "due_at", limit: 20 } },
      }),
    );
    assert.ok(page.items.length > 0);
  });

  test("create_task", async () => {
    const task: Task = await expectExample(
      "create_task",
      client.POST("/api/{user_id}/tasks", {
        params: { path, header: { "Idempotency-Key": "5f0c7a4e-4d6b-4a8e-9b1f-2c3d4e5f6a7b" } },
        body: { title: "Buy milk", priority: "high", tags: ["errands"] },
      }),
    );
    assert.equal(typeof task.id, "number");
  });

  test("list_task_changes", async () => {
    const changes: TaskChanges = await expectExample(
      "list_task_changes",
      client.GET("/api/{user_id}/tasks/changes", { params: { path, query: { limit: 50 } } }),
    );
    assert.equal(typeof changes.sync_token, "string");
  });

  test("get_task", async () => {
    const task: Task = await expectExample(
      "get_task",
      client.GET("/api/{user_id}/tasks/{task_id}", { params: { path: taskPath } }),
    );
    assert.equal(task.id, taskPath.task_id);
  });

  test("replace_task", async () => {
    const task: Task = await expectExample(
      "replace_task",
      client.PUT("/api/{user_id}/tasks/{task_id}", {
        params: { path: taskPath, header: { "If-Match": '"2"' } },
        body: { title: "Buy oat milk", tags: ["home"] },
      }),
    );
    assert.equal(task.id, taskPath.task_id);
  });

  test("update_task", async () => {
    const task: Task = await expectExample(
      "update_task",
      client.PATCH("/api/{user_id}/tasks/{task_id}", {
        params: { path: taskPath },
        headers: MERGE_PATCH,
        body: { priority: "urgent", due_at: null },
      }),
    );
    assert.equal(task.id, taskPath.task_id);
  });

  test("delete_task", async () => {
    const nothing: undefined = await expectExample(
      "delete_task",
      client.DELETE("/api/{user_id}/tasks/{task_id}", {
        params: { path: taskPath, header: { "If-Match": '"2"' } },
      }),
    );
    assert.equal(nothing, undefined);
  });

  test("toggle_task_completion", async () => {
    const task: Task = await expectExample(
      "toggle_task_completion",
      client.PATCH("/api/{user_id}/tasks/{task_id}/complete", {
        params: { path: taskPath },
        body: { completed: true },
      }),
    );
    assert.equal(task.id, taskPath.task_id);
  });

  test("list_lists", async () => {
    const page: TodoListPage = await expectExample(
      "list_lists",
      client.GET("/api/{user_id}/lists", { params: { path, query: { sort: "manual" } } }),
    );
    assert.ok(page.items.some((list) => list.is_inbox));
  });

  test("create_list", async () => {
    const list: TodoList = await expectExample(
      "create_list",
      client.POST("/api/{user_id}/lists", {
        params: { path, header: { "Idempotency-Key": "groceries-1" } },
        body: { name: "Groceries", color: "#2e7d32" },
      }),
    );
    assert.equal(typeof list.position, "string");
  });

  test("get_list", async () => {
    const list: TodoList = await expectExample(
      "get_list",
      client.GET("/api/{user_id}/lists/{list_id}", { params: { path: listPath } }),
    );
    assert.equal(list.id, listPath.list_id);
  });

  test("replace_list", async () => {
    const list: TodoList = await expectExample(
      "replace_list",
      client.PUT("/api/{user_id}/lists/{list_id}", {
        params: { path: listPath, header: { "If-Match": '"1"' } },
        body: { name: "Groceries", color: "#2e7d32" },
      }),
    );
    assert.equal(list.id, listPath.list_id);
  });

  test("update_list", async () => {
    const list: TodoList = await expectExample(
      "update_list",
      client.PATCH("/api/{user_id}/lists/{list_id}", {
        params: { path: listPath },
        headers: MERGE_PATCH,
        body: { archived: true },
      }),
    );
    assert.equal(list.archived, true);
  });

  test("delete_list", async () => {
    const nothing: undefined = await expectExample(
      "delete_list",
      client.DELETE("/api/{user_id}/lists/{list_id}", {
        params: { path: listPath, query: { tasks: "move_to_inbox" } },
      }),
    );
    assert.equal(nothing, undefined);
  });

  test("move_task", async () => {
    const task: Task = await expectExample(
      "move_task",
      client.POST("/api/{user_id}/tasks/{task_id}/move", {
        params: { path: taskPath },
        body: { list_id: 7, after_id: 43 },
      }),
    );
    assert.equal(typeof task.position, "string");
  });

  test("batch_tasks", async () => {
    const answer: TaskBatchResult = await expectExample(
      "batch_tasks",
      client.POST("/api/{user_id}/tasks/batch", {
        params: { path },
        body: {
          operations: [
            { op: "complete", task_id: 42, completed: true, if_match: '"3"' },
            { op: "delete", task_id: 43 },
          ],
        },
      }),
    );
    assert.equal(answer.results.length, 2);
  });

  test("move_list", async () => {
    const list: TodoList = await expectExample(
      "move_list",
      client.POST("/api/{user_id}/lists/{list_id}/move", {
        params: { path: listPath },
        body: { before_id: 3 },
      }),
    );
    assert.equal(list.id, listPath.list_id);
  });

  test("skip_task_occurrence", async () => {
    const task: Task = await expectExample(
      "skip_task_occurrence",
      client.POST("/api/{user_id}/tasks/{task_id}/skip", { params: { path: taskPath } }),
    );
    assert.equal(task.recurrence?.rule, "FREQ=WEEKLY;BYDAY=MO,WE");
  });

  test("list_task_occurrences", async () => {
    const page: TaskOccurrencePage = await expectExample(
      "list_task_occurrences",
      client.GET("/api/{user_id}/tasks/{task_id}/occurrences", { params: { path: taskPath } }),
    );
    assert.equal(page.items[0]?.outcome, "completed");
  });

  test("list_reminders", async () => {
    const page: DueReminderPage = await expectExample(
      "list_reminders",
      client.GET("/api/{user_id}/reminders", {
        params: {
          path,
          query: { after: "2026-12-02T07:25:00Z", until: "2026-12-02T07:30:00Z", limit: 50 },
        },
      }),
    );
    assert.equal(page.items[0]?.reminder.minutes_before, 30);
  });

  test("list_task_versions", async () => {
    const page: TaskVersionPage = await expectExample(
      "list_task_versions",
      client.GET("/api/{user_id}/tasks/{task_id}/versions", {
        params: { path: taskPath, query: { limit: 20 } },
      }),
    );
    assert.deepEqual(page.items[0]?.changed, ["title"]);
  });

  test("restore_task_version", async () => {
    const task: Task = await expectExample(
      "restore_task_version",
      client.POST("/api/{user_id}/tasks/{task_id}/versions/{version}/restore", {
        params: { path: { ...taskPath, version: 1 }, header: { "If-Match": '"2"' } },
      }),
    );
    assert.equal(task.id, taskPath.task_id);
  });

  test("list_activity", async () => {
    const page: TaskVersionPage = await expectExample(
      "list_activity",
      client.GET("/api/{user_id}/activity", { params: { path, query: { limit: 20 } } }),
    );
    assert.equal(page.items[0]?.change, "edited");
  });

  test("list_trash", async () => {
    const page: TrashPage = await expectExample(
      "list_trash",
      client.GET("/api/{user_id}/trash", { params: { path, query: { limit: 20 } } }),
    );
    assert.equal(page.items[0]?.task?.id, page.items[0]?.id);
  });

  test("empty_trash", async () => {
    const nothing: undefined = await expectExample(
      "empty_trash",
      client.DELETE("/api/{user_id}/trash", { params: { path } }),
    );
    assert.equal(nothing, undefined);
  });

  test("restore_task", async () => {
    const task: Task = await expectExample(
      "restore_task",
      client.POST("/api/{user_id}/trash/tasks/{task_id}/restore", {
        params: { path: taskPath, header: { "If-Match": '"3"' } },
      }),
    );
    assert.equal(task.id, taskPath.task_id);
  });

  test("delete_trashed_task", async () => {
    const nothing: undefined = await expectExample(
      "delete_trashed_task",
      client.DELETE("/api/{user_id}/trash/tasks/{task_id}", {
        params: { path: taskPath, header: { "If-Match": '"3"' } },
      }),
    );
    assert.equal(nothing, undefined);
  });

  test("restore_list", async () => {
    const list: TodoList = await expectExample(
      "restore_list",
      client.POST("/api/{user_id}/trash/lists/{list_id}/restore", {
        params: { path: listPath, header: { "If-Match": '"1"' } },
      }),
    );
    assert.equal(list.id, listPath.list_id);
  });

  test("delete_trashed_list", async () => {
    const nothing: undefined = await expectExample(
      "delete_trashed_list",
      client.DELETE("/api/{user_id}/trash/lists/{list_id}", { params: { path: listPath } }),
    );
    assert.equal(nothing, undefined);
  });

  test("get_settings", async () => {
    const settings: Settings = await expectExample(
      "get_settings",
      client.GET("/api/{user_id}/settings", { params: { path } }),
    );
    assert.equal(settings.time_zone, "Europe/Berlin");
  });

  test("update_settings", async () => {
    const settings: Settings = await expectExample(
      "update_settings",
      client.PATCH("/api/{user_id}/settings", {
        params: { path },
        body: { time_zone: "Europe/Berlin" },
        headers: MERGE_PATCH,
      }),
    );
    assert.equal(settings.version, 2);
  });

  test("stream_events", async () => {
    // The mock's stream is the contract's example, then its end: its first event is `ready`.
    const events: StreamEvent[] = [];
    const states: StreamState[] = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = subscribe({
        baseUrl,
        userId: path.user_id,
        getToken: () => "any-token",
        onEvent: (event) => {
          events.push(event);
          subscription.close();
          resolve();
        },
        onState: (state) => states.push(state),
        onError: reject,
      });
    });
    assert.deepEqual(events, [
      {
        event: "ready",
        id: "4dGmT2yq0bTn3JvbD3cO9ZrZ0W5Xw5SgO4s6Bf0ZkQ",
        data: { sync_token: "4dGmT2yq0bTn3JvbD3cO9ZrZ0W5Xw5SgO4s6Bf0ZkQ" },
      },
    ]);
    assert.deepEqual(states, ["open", "closed"]);
  });

  test("create_stream_token", async () => {
    const token: StreamToken = await expectExample(
      "create_stream_token",
      client.POST("/api/{user_id}/events/tokens", { params: { path } }),
    );
    assert.match(token.stream_token, /^[A-Za-z0-9_-]+$/);
  });

  test("check_liveness", async () => {
    const health: components["schemas"]["Health"] = await expectExample(
      "check_liveness",
      client.GET("/health/live"),
    );
    assert.equal(health.status, "ok");
  });

  test("check_readiness", async () => {
    const health: components["schemas"]["Health"] = await expectExample(
      "check_readiness",
      client.GET("/health/ready"),
    );
    assert.equal(health.status, "ok");
  });

  test("requests the contract does not allow are refused, as the service would", async () => {
    try {
      await unwrap(client.POST("/api/{user_id}/tasks", { params: { path }, body: { title: "" } }));
      assert.fail("Prism accepted an empty title");
    } catch (error) {
      assert.ok(isApiError(error, "validation_failed", 422), String(error));
    }
    const anonymous = createClient<paths>({ baseUrl });
    const { response } = await anonymous.GET("/api/{user_id}/tasks", { params: { path } });
    assert.equal(response.status, 401, "Prism requires the bearer token the contract declares");
  });
});
