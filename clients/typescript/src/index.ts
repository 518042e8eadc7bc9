/**
 * The taskapi client: openapi-fetch over the types openapi-typescript generates from openapi.yaml
 * (src/schema.ts, never edited by hand). What is written here is only what the contract cannot
 * say by itself: where the bearer token comes from, one error type to branch on (errors.ts), and
 * how the event stream is read and resumed (events.ts).
 */
import createClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";

import { ApiError, type ErrorBody } from "./errors.js";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };
export { ApiError, type ErrorBody };
export {
  subscribe,
  type ClosingEvent,
  type ReminderEvent,
  type ResyncEvent,
  type StreamEvent,
  type StreamState,
  type SubscribeOptions,
  type Subscription,
  type SyncEvent,
} from "./events.js";

/** The contract's schemas under their own names. */
export type Task = components["schemas"]["Task"];
export type TaskInput = components["schemas"]["TaskInput"];
export type TaskPatch = components["schemas"]["TaskPatch"];
export type TaskList = components["schemas"]["TaskList"];
export type TaskChanges = components["schemas"]["TaskChanges"];
export type Priority = components["schemas"]["Priority"];
export type TodoList = components["schemas"]["TodoList"];
export type TodoListInput = components["schemas"]["TodoListInput"];
export type TodoListPatch = components["schemas"]["TodoListPatch"];
export type TodoListPage = components["schemas"]["TodoListPage"];
export type TaskBatch = components["schemas"]["TaskBatch"];
export type TaskBatchOperation = components["schemas"]["TaskBatchOperation"];
export type TaskBatchResult = components["schemas"]["TaskBatchResult"];
export type TaskBatchOperationResult = components["schemas"]["TaskBatchOperationResult"];
export type BatchRestore = components["schemas"]["BatchRestore"];
export type Due = components["schemas"]["Due"];
export type DueInput = components["schemas"]["DueInput"];
export type Settings = components["schemas"]["Settings"];
export type Recurrence = components["schemas"]["Recurrence"];
export type RecurrenceInput = components["schemas"]["RecurrenceInput"];
export type TaskOccurrence = components["schemas"]["TaskOccurrence"];
export type TaskOccurrencePage = components["schemas"]["TaskOccurrencePage"];
export type Reminder = components["schemas"]["Reminder"];
export type ReminderInput = components["schemas"]["ReminderInput"];
export type DueReminder = components["schemas"]["DueReminder"];
export type DueReminderPage = components["schemas"]["DueReminderPage"];
export type SettingsPatch = components["schemas"]["SettingsPatch"];
export type TrashKind = components["schemas"]["TrashKind"];
export type TrashItem = components["schemas"]["TrashItem"];
export type TrashPage = components["schemas"]["TrashPage"];
export type HistoryChange = components["schemas"]["HistoryChange"];
export type TaskVersion = components["schemas"]["TaskVersion"];
export type TaskVersionPage = components["schemas"]["TaskVersionPage"];
export type StreamToken = components["schemas"]["StreamToken"];

export type TaskApiClient = Client<paths>;

export interface TaskApiClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** Where the service answers, e.g. `https://api.example.com` (no `/api` suffix). */
  baseUrl: string;
  /**
   * Called before every request, so a short-lived token can be refreshed: with Better Auth,
   * `async () => (await authClient.token()).data!.token`.
   */
  getToken: () => string | Promise<string>;
}

/** Send with `PATCH /api/{user_id}/tasks/{task_id}` to say the body is a JSON Merge Patch. */
export const MERGE_PATCH = { "Content-Type": "application/merge-patch+json" } as const;

/** An openapi-fetch client of the contract that sends `Authorization: Bearer <getToken()>`. */
export function createTaskApiClient(options: TaskApiClientOptions): TaskApiClient {
  const { getToken, ...clientOptions } = options;
  const client = createClient<paths>(clientOptions);
  client.use(bearerToken(getToken));
  return client;
}

function bearerToken(getToken: TaskApiClientOptions["getToken"]): Middleware {
  return {
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await getToken()}`);
      return request;
    },
  };
}

/** What every openapi-fetch call resolves to. */
export interface FetchResult<Data> {
  data?: Data;
  error?: unknown;
  response: Response;
}

/**
 * The body of a 2xx answer, or an {@link ApiError} thrown for any other status:
 * `const task = await unwrap(client.GET("/api/{user_id}/tasks/{task_id}", {...}))`.
 * A 204 resolves to `undefined`. A 304 (from `If-None-Match`) is not 2xx: check
 * `response.status` yourself before unwrapping when you send that header.
 */
export async function unwrap<Data>(
  result: FetchResult<Data> | Promise<FetchResult<Data>>,
): Promise<Data> {
  const { data, error, response } = await result;
  if (!response.ok) {
    throw new ApiError(response, error);
  }
  return data as Data;
}

/** Whether `error` is an {@link ApiError} with this code (and this status, when given). */
export function isApiError(error: unknown, code?: string, status?: number): error is ApiError {
  return (
    error instanceof ApiError &&
    (code === undefined || error.code === code) &&
    (status === undefined || error.status === status)
  );
}
