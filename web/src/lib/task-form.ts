/** Between a task and the fields of a form: what is typed, what the API takes, what changed. */
import type { Task, TaskInput, TaskPatch } from "./task-api";

export type Priority = Task["priority"];
export const PRIORITIES: readonly Priority[] = ["low", "medium", "high", "urgent"];

export interface TaskFields {
  title: string;
  description: string;
  priority: Priority;
  /** As an `<input type="datetime-local">` holds it, in the browser's time zone; "" for none. */
  due: string;
  /** Comma-separated. */
  tags: string;
}

export const EMPTY_FIELDS: TaskFields = {
  title: "",
  description: "",
  priority: "medium",
  due: "",
  tags: "",
};

export function fieldsOf(task: Task): TaskFields {
  return {
    title: task.title,
    description: task.description ?? "",
    priority: task.priority,
    due: task.due_at ? localDateTime(task.due_at) : "",
    tags: task.tags.join(", "),
  };
}

export function inputOf(fields: TaskFields): TaskInput {
  return {
    title: fields.title,
    description: fields.description.trim() === "" ? null : fields.description,
    priority: fields.priority,
    due_at: fields.due === "" ? null : new Date(fields.due).toISOString(),
    tags: parseTags(fields.tags),
  };
}

/** A merge patch of only what the user changed from `base`: nothing else is overwritten. */
export function patchOf(base: Task, fields: TaskFields): TaskPatch {
  const before = inputOf(fieldsOf(base));
  const after = inputOf(fields);
  const patch: TaskPatch = {};
  if (after.title !== before.title) patch.title = after.title;
  if (after.description !== before.description) patch.description = after.description ?? null;
  if (after.priority !== before.priority) patch.priority = after.priority ?? "medium";
  if (after.due_at !== before.due_at) patch.due_at = after.due_at ?? null;
  if (JSON.stringify(after.tags) !== JSON.stringify(before.tags)) patch.tags = after.tags ?? [];
  return patch;
}

export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((tag) => tag.trim().toLowerCase()).filter(Boolean))];
}

/** An ISO instant as `YYYY-MM-DDTHH:mm` in the browser's time zone. */
export function localDateTime(iso: string): string {
  const date = new Date(iso);
  const pad = (value: number) => String(value).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

const DUE_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatDue(iso: string): string {
  return DUE_FORMAT.format(new Date(iso));
}

export function isOverdue(task: Task, now: number): boolean {
  return !task.completed && task.due_at !== null && Date.parse(task.due_at) < now;
}
