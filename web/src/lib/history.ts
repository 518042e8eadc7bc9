/** How the history of tasks reads: what made a version, which fields it changed, how long ago. */
import type { HistoryChange, TaskVersion } from "./task-api";
import { formatInstant } from "./task-form";

export const CHANGE_LABELS: Record<HistoryChange, string> = {
  created: "Created",
  edited: "Edited",
  completed: "Completed",
  skipped: "Skipped",
  reopened: "Reopened",
  moved: "Moved",
  deleted: "Deleted",
  restored: "Restored",
};

/** The API's names of a task's fields, as this app's forms call them. */
const FIELD_NAMES: Record<string, string> = {
  title: "title",
  description: "notes",
  priority: "priority",
  tags: "tags",
  due: "due date",
  recurrence: "repeat",
  reminders: "reminders",
  completed: "done",
  list_id: "list",
  parent_id: "parent",
  position: "place",
};

/**
 * The fields the change set to another value, as the forms call them; "" for none. A completion
 * or a reopening says by its name that `completed` changed: only the others are named.
 */
export function changedFieldsOf(entry: TaskVersion): string {
  const saysItself = entry.change === "completed" || entry.change === "reopened";
  return entry.changed
    .filter((field) => !(saysItself && field === "completed"))
    .map((field) => FIELD_NAMES[field] ?? field)
    .join(", ");
}

/**
 * How long before `now` an instant was, within a day; the date and time in `timeZone` beyond.
 * An instant after `now` (the device's clock behind the server's) is "just now".
 */
export function timeAgo(iso: string, now: number, timeZone: string): string {
  const minutes = Math.floor((now - Date.parse(iso)) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return hours === 1 ? "1 hour ago" : `${hours} hours ago`;
  return formatInstant(iso, timeZone);
}
