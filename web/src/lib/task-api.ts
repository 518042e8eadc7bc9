/**
 * Every call this app makes to taskapi, through the client generated from openapi.yaml
 * (@taskapi/client). No other module may reach the API: tests/unit/test_web_app_sources.py checks.
 */
import {
  ApiError,
  createTaskApiClient,
  MERGE_PATCH,
  subscribe,
  unwrap,
  type components,
  type DueInput,
  type FetchResult,
  type HistoryChange,
  type operations,
  type Settings,
  type StreamEvent,
  type StreamState,
  type Subscription,
  type Task,
  type TaskApiClient,
  type TaskBatchOperation,
  type TaskBatchOperationResult,
  type TaskBatchResult,
  type TaskChanges,
  type TaskInput,
  type TaskList,
  type TaskPatch,
  type TaskVersion,
  type TaskVersionPage,
  type TodoList,
  type TodoListPage,
  type TrashItem,
  type TrashKind,
  type TrashPage,
} from "@taskapi/client";

import { SignedOutError, TokenCache } from "./token-cache";

export { ApiError };
export type Reminder = components["schemas"]["Reminder"];
export type ReminderInput = components["schemas"]["ReminderInput"];
export type DueReminder = components["schemas"]["DueReminder"];
export type DueReminderPage = components["schemas"]["DueReminderPage"];
export type {
  DueInput,
  HistoryChange,
  Settings,
  StreamEvent,
  StreamState,
  Subscription,
  Task,
  TaskBatchOperation,
  TaskBatchOperationResult,
  TaskBatchResult,
  TaskChanges,
  TaskInput,
  TaskList,
  TaskPatch,
  TaskVersion,
  TaskVersionPage,
  TodoList,
  TodoListPage,
  TrashItem,
  TrashKind,
  TrashPage,
};
/** Where a move puts a task or a list: after or before a neighbour (one of them; neither: last). */
export interface Place {
  after_id?: number;
  before_id?: number;
}
/** Where a move puts a task: a place, and under which task (null: the top level). */
export interface TaskPlace extends Place {
  parent_id?: number | null;
}
export type TasksOfDeletedList = "delete" | "move_to_inbox";
export type ListQuery = NonNullable<operations["list_tasks"]["parameters"]["query"]>;

/** What a tab hears of the user's event stream. */
export interface LiveEventListeners {
  onEvent: (event: StreamEvent) => void;
  onState: (state: StreamState) => void;
  /** Why the stream stopped for good: the API's refusal, or the user signed out. */
  onError: (error: unknown) => void;
}

/** What the `ETag` of a task or a list is: its version, quoted (the contract says so). */
export function entityTag(item: Pick<Task, "version">): string {
  return `"${item.version}"`;
}

export class TaskApi {
  readonly #client: TaskApiClient;

  constructor(
    private readonly baseUrl: string,
    private readonly tokens: TokenCache,
  ) {
    this.#client = createTaskApiClient({ baseUrl, getToken: () => tokens.get() });
  }

  list(userId: string, query: ListQuery): Promise<TaskList> {
    return this.#call(() =>
      this.#client.GET("/api/{user_id}/tasks", {
        params: { path: { user_id: userId }, query },
      }),
    );
  }

  /** Safe to retry: the same key makes a repeated request return the first answer. */
  create(userId: string, input: TaskInput, idempotencyKey: string): Promise<Task> {
    return this.#call(() =>
      this.#client.POST("/api/{user_id}/tasks", {
        params: { path: { user_id: userId }, header: { "Idempotency-Key": idempotencyKey } },
        body: input,
      }),
    );
  }

  get(userId: string, taskId: number): Promise<Task> {
    return this.#call(() =>
      this.#client.GET("/api/{user_id}/tasks/{task_id}", {
        params: { path: { user_id: userId, task_id: taskId } },
      }),
    );
  }

  /** A merge patch, applied only if the task is still at `ifMatch` (412 `precondition_failed`). */
  update(userId: string, taskId: number, patch: TaskPatch, ifMatch: string): Promise<Task> {
    return this.#call(() =>
      this.#client.PATCH("/api/{user_id}/tasks/{task_id}", {
        params: { path: { user_id: userId, task_id: taskId }, header: { "If-Match": ifMatch } },
        body: patch,
        headers: MERGE_PATCH,
      }),
    );
  }

  /**
   * Sets (not flips) `completed`, so a retry or a second tab's click changes nothing more. A
   * recurring task moves on at each completion: `ifMatch`, the version shown, makes a second
   * completion of the same occurrence answer the task as it is rather than move it again.
   */
  setCompleted(userId: string, taskId: number, completed: boolean, ifMatch?: string): Promise<Task> {
    return this.#call(() =>
      this.#client.PATCH("/api/{user_id}/tasks/{task_id}/complete", {
        params: {
          path: { user_id: userId, task_id: taskId },
          ...(ifMatch !== undefined && { header: { "If-Match": ifMatch } }),
        },
        body: { completed },
      }),
    );
  }

  async delete(userId: string, taskId: number): Promise<void> {
    await this.#call(() =>
      this.#client.DELETE("/api/{user_id}/tasks/{task_id}", {
        params: { path: { user_id: userId, task_id: taskId } },
      }),
    );
  }

  /**
   * Puts the task at `place`, in the list `listId` (its own when undefined); it keeps its id.
   * With `ifMatch`, only if the task is still at that version (412 `precondition_failed`).
   */
  moveTask(
    userId: string,
    taskId: number,
    place: TaskPlace,
    listId?: number,
    ifMatch?: string,
  ): Promise<Task> {
    return this.#call(() =>
      this.#client.POST("/api/{user_id}/tasks/{task_id}/move", {
        params: {
          path: { user_id: userId, task_id: taskId },
          ...(ifMatch !== undefined && { header: { "If-Match": ifMatch } }),
        },
        body: { ...place, ...(listId !== undefined && { list_id: listId }) },
      }),
    );
  }

  /**
   * Several operations in one request and one transaction, each answered on its own: one that
   * is refused changes nothing, and the others are kept.
   */
  batch(userId: string, operations: TaskBatchOperation[]): Promise<TaskBatchResult> {
    return this.#call(() =>
      this.#client.POST("/api/{user_id}/tasks/batch", {
        params: { path: { user_id: userId } },
        body: { operations },
      }),
    );
  }

  /** One page of the user's lists, in the user's order. */
  lists(userId: string, cursor?: string): Promise<TodoListPage> {
    return this.#call(() =>
      this.#client.GET("/api/{user_id}/lists", {
        params: { path: { user_id: userId }, query: { limit: 100, ...(cursor && { cursor }) } },
      }),
    );
  }

  createList(userId: string, name: string, idempotencyKey: string): Promise<TodoList> {
    return this.#call(() =>
      this.#client.POST("/api/{user_id}/lists", {
        params: { path: { user_id: userId }, header: { "Idempotency-Key": idempotencyKey } },
        body: { name },
      }),
    );
  }

  renameList(userId: string, listId: number, name: string): Promise<TodoList> {
    return this.#call(() =>
      this.#client.PATCH("/api/{user_id}/lists/{list_id}", {
        params: { path: { user_id: userId, list_id: listId } },
        body: { name },
        headers: MERGE_PATCH,
      }),
    );
  }

  moveList(userId: string, listId: number, place: Place): Promise<TodoList> {
    return this.#call(() =>
      this.#client.POST("/api/{user_id}/lists/{list_id}/move", {
        params: { path: { user_id: userId, list_id: listId } },
        body: place,
      }),
    );
  }

  async deleteList(userId: string, listId: number, tasks: TasksOfDeletedList): Promise<void> {
    await this.#call(() =>
      this.#client.DELETE("/api/{user_id}/lists/{list_id}", {
        params: { path: { user_id: userId, list_id: listId }, query: { tasks } },
      }),
    );
  }

  getSettings(userId: string): Promise<Settings> {
    return this.#call(() =>
      this.#client.GET("/api/{user_id}/settings", {
        params: { path: { user_id: userId } },
      }),
    );
  }

  /** A new zone moves the due time of every task due on a date alone or at a floating time. */
  updateSettings(userId: string, timeZone: string): Promise<Settings> {
    return this.#call(() =>
      this.#client.PATCH("/api/{user_id}/settings", {
        params: { path: { user_id: userId } },
        body: { time_zone: timeZone },
        headers: MERGE_PATCH,
      }),
    );
  }

  /** One page of the delta sync: without `since`, every task and list. */
  changes(userId: string, since: string | undefined, cursor: string | undefined): Promise<TaskChanges> {
    const query = { limit: 100, ...(since && { since }), ...(cursor && { cursor }) };
    return this.#call(() =>
      this.#client.GET("/api/{user_id}/tasks/changes", {
        params: { path: { user_id: userId }, query },
      }),
    );
  }

  /**
   * One page of the reminders of open tasks that fire after `after` and at or before `until`
   * (ISO instants), soonest first; the next page with the same window and `next_cursor`.
   */
  dueReminders(
    userId: string,
    after: string,
    until: string,
    cursor: string | undefined,
  ): Promise<DueReminderPage> {
    const query = { after, until, limit: 100, ...(cursor && { cursor }) };
    return this.#call(() =>
      this.#client.GET("/api/{user_id}/reminders", {
        params: { path: { user_id: userId }, query },
      }),
    );
  }

  /** One page of what the user deleted and can still restore, newest first. */
  trash(userId: string, cursor?: string): Promise<TrashPage> {
    return this.#call(() =>
      this.#client.GET("/api/{user_id}/trash", {
        params: { path: { user_id: userId }, query: { limit: 50, ...(cursor && { cursor }) } },
      }),
    );
  }

  /**
   * The task back from the trash with its subtasks, only if it is still at `ifMatch`, the
   * version it was deleted at (412 `precondition_failed`). A retry answers the task as it is.
   */
  restoreTask(userId: string, taskId: number, ifMatch?: string): Promise<Task> {
    return this.#call(() =>
      this.#client.POST("/api/{user_id}/trash/tasks/{task_id}/restore", {
        params: {
          path: { user_id: userId, task_id: taskId },
          ...(ifMatch !== undefined && { header: { "If-Match": ifMatch } }),
        },
      }),
    );
  }

  /** The list back from the trash with the tasks deleted with it, as {@link restoreTask}. */
  restoreList(userId: string, listId: number, ifMatch?: string): Promise<TodoList> {
    return this.#call(() =>
      this.#client.POST("/api/{user_id}/trash/lists/{list_id}/restore", {
        params: {
          path: { user_id: userId, list_id: listId },
          ...(ifMatch !== undefined && { header: { "If-Match": ifMatch } }),
        },
      }),
    );
  }

  /** An item of the trash removed for good, with what would have come back with it. */
  async deleteForever(userId: string, kind: TrashKind, id: number, ifMatch?: string): Promise<void> {
    const header = ifMatch !== undefined ? { header: { "If-Match": ifMatch } } : {};
    await this.#call(() =>
      kind === "task"
        ? this.#client.DELETE("/api/{user_id}/trash/tasks/{task_id}", {
            params: { path: { user_id: userId, task_id: id }, ...header },
          })
        : this.#client.DELETE("/api/{user_id}/trash/lists/{list_id}", {
            params: { path: { user_id: userId, list_id: id }, ...header },
          }),
    );
  }

  async emptyTrash(userId: string): Promise<void> {
    await this.#call(() =>
      this.#client.DELETE("/api/{user_id}/trash", { params: { path: { user_id: userId } } }),
    );
  }

  /** One page of a task's versions, newest first (the current one included). */
  taskVersions(userId: string, taskId: number, cursor?: string): Promise<TaskVersionPage> {
    return this.#call(() =>
      this.#client.GET("/api/{user_id}/tasks/{task_id}/versions", {
        params: {
          path: { user_id: userId, task_id: taskId },
          query: { limit: 50, ...(cursor && { cursor }) },
        },
      }),
    );
  }

  /**
   * The task's content (not its place) as it was at `version`, written as a new version, only
   * if the task is still at `ifMatch` (412 `precondition_failed`). A write answered with version
   * v is undone by restoring v - 1 with If-Match v.
   */
  restoreVersion(userId: string, taskId: number, version: number, ifMatch: string): Promise<Task> {
    return this.#call(() =>
      this.#client.POST("/api/{user_id}/tasks/{task_id}/versions/{version}/restore", {
        params: {
          path: { user_id: userId, task_id: taskId, version },
          header: { "If-Match": ifMatch },
        },
      }),
    );
  }

  /** One page of what changed in the user's tasks, newest first. */
  activity(userId: string, cursor?: string): Promise<TaskVersionPage> {
    return this.#call(() =>
      this.#client.GET("/api/{user_id}/activity", {
        params: { path: { user_id: userId }, query: { limit: 50, ...(cursor && { cursor }) } },
      }),
    );
  }

  /**
   * The user's live events until `close()`. The stream reconnects by itself and resumes where
   * it broke; a refused token is replaced once, as for any call. Signed out, it stops: no token
   * will come.
   */
  liveEvents(userId: string, listeners: LiveEventListeners): Subscription {
    const subscription = subscribe({
      baseUrl: this.baseUrl,
      userId,
      getToken: async ({ fresh }) => {
        if (fresh) this.tokens.forget();
        try {
          return await this.tokens.get();
        } catch (error) {
          if (error instanceof SignedOutError) {
            subscription.close();
            listeners.onError(error);
          }
          // Otherwise the sign-in service is down for now: the stream tries again later.
          throw error;
        }
      },
      ...listeners,
    });
    return subscription;
  }

  /** A 401 means the token expired or its key changed: fetch a new one and try once more. */
  async #call<Data>(send: () => Promise<FetchResult<Data>>): Promise<Data> {
    const first = await send();
    if (first.response.status !== 401) {
      return unwrap(first);
    }
    this.tokens.forget();
    return unwrap(send());
  }
}
