/** The list's filters and order, as the form holds them and as the API's query takes them. */
import type { ListQuery } from "./task-api";
import { parseTags, type Priority } from "./task-form";

export type Sort = NonNullable<ListQuery["sort"]>;
export type Status = NonNullable<ListQuery["status"]>;

export const SORTS: ReadonlyArray<{ value: Sort; label: string }> = [
  { value: "-created_at", label: "Newest first" },
  { value: "created_at", label: "Oldest first" },
  { value: "due_at", label: "Due soonest" },
  { value: "-due_at", label: "Due latest" },
  { value: "-priority", label: "Most urgent" },
  { value: "priority", label: "Least urgent" },
  { value: "title", label: "Title A–Z" },
  { value: "-title", label: "Title Z–A" },
  { value: "-updated_at", label: "Recently changed" },
  { value: "updated_at", label: "Least recently changed" },
];

export interface Filters {
  status: Status;
  priorities: Priority[];
  /** Comma-separated: tasks carrying every one. */
  tags: string;
  search: string;
  /** `<input type="date">` values, "" for none. */
  dueAfter: string;
  dueBefore: string;
  overdueOnly: boolean;
  sort: Sort;
}

export const DEFAULT_FILTERS: Filters = {
  status: "all",
  priorities: [],
  tags: "",
  search: "",
  dueAfter: "",
  dueBefore: "",
  overdueOnly: false,
  sort: "-created_at",
};

export const PAGE_SIZE = 50;

export function queryOf(filters: Filters): ListQuery {
  const tags = parseTags(filters.tags);
  const search = filters.search.trim();
  return {
    status: filters.status,
    sort: filters.sort,
    ...(filters.priorities.length > 0 && { priority: filters.priorities }),
    ...(tags.length > 0 && { tag: tags }),
    ...(search !== "" && { q: search }),
    // A date means the whole day in the browser's time zone.
    ...(filters.dueAfter !== "" && { due_after: startOfDay(filters.dueAfter) }),
    ...(filters.dueBefore !== "" && { due_before: startOfDay(filters.dueBefore, 1) }),
    ...(filters.overdueOnly && { overdue: true }),
  };
}

function startOfDay(date: string, plusDays = 0): string {
  const day = new Date(`${date}T00:00`);
  day.setDate(day.getDate() + plusDays);
  return day.toISOString();
}
