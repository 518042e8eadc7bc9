/** The list's filters and order, as the form holds them and as the API's query takes them. */
import type { ListQuery } from "./task-api";
import { parseTags, PRIORITIES, startOfDayIn, type Priority } from "./task-form";

export type Sort = NonNullable<ListQuery["sort"]>;
export type Status = NonNullable<ListQuery["status"]>;

export const SORTS: ReadonlyArray<{ value: Sort; label: string }> = [
  { value: "-created_at", label: "Newest first" },
  { value: "manual", label: "My order" },
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
  /** One list's tasks; null: every list's. */
  listId: number | null;
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
  listId: null,
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

/** `timeZone`: the user's, whose days the date filters mean. */
export function queryOf(filters: Filters, timeZone: string): ListQuery {
  const tags = parseTags(filters.tags);
  const search = filters.search.trim();
  return {
    status: filters.status,
    sort: filters.sort,
    ...(filters.listId !== null && { list_id: filters.listId }),
    ...(filters.priorities.length > 0 && { priority: filters.priorities }),
    ...(tags.length > 0 && { tag: tags }),
    ...(search !== "" && { q: search }),
    // A date means the whole day in the user's time zone, as an all-day due date does.
    ...(filters.dueAfter !== "" && { due_after: startOfDayIn(filters.dueAfter, timeZone) }),
    ...(filters.dueBefore !== "" && { due_before: startOfDayIn(filters.dueBefore, timeZone, 1) }),
    ...(filters.overdueOnly && { overdue: true }),
  };
}

const STATUSES: readonly Status[] = ["all", "pending", "completed"];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The filters a page address carries, in the API's own parameter names (`?status=pending&sort=title`),
 * so that a reload or a shared link shows the same list. What is not understood is left at its
 * default.
 */
export function filtersFromSearch(search: URLSearchParams): Filters {
  const status = search.get("status") as Status | null;
  const sort = search.get("sort") as Sort | null;
  const dueAfter = search.get("due_after") ?? "";
  const dueBefore = search.get("due_before") ?? "";
  const listId = Number(search.get("list_id"));
  return {
    listId: Number.isSafeInteger(listId) && listId > 0 ? listId : null,
    status: status !== null && STATUSES.includes(status) ? status : DEFAULT_FILTERS.status,
    priorities: PRIORITIES.filter((priority) => search.getAll("priority").includes(priority)),
    tags: search.getAll("tag").join(", "),
    search: search.get("q") ?? "",
    dueAfter: DATE.test(dueAfter) ? dueAfter : "",
    dueBefore: DATE.test(dueBefore) ? dueBefore : "",
    overdueOnly: search.get("overdue") === "true",
    sort: sort !== null && SORTS.some((known) => known.value === sort) ? sort : DEFAULT_FILTERS.sort,
  };
}

/** The page address's query for these filters: only what differs from the defaults. */
export function searchOf(filters: Filters): string {
  const search = new URLSearchParams();
  if (filters.listId !== null) search.set("list_id", String(filters.listId));
  if (filters.status !== DEFAULT_FILTERS.status) search.set("status", filters.status);
  for (const priority of filters.priorities) search.append("priority", priority);
  for (const tag of parseTags(filters.tags)) search.append("tag", tag);
  if (filters.search.trim() !== "") search.set("q", filters.search.trim());
  if (filters.dueAfter !== "") search.set("due_after", filters.dueAfter);
  if (filters.dueBefore !== "") search.set("due_before", filters.dueBefore);
  if (filters.overdueOnly) search.set("overdue", "true");
  if (filters.sort !== DEFAULT_FILTERS.sort) search.set("sort", filters.sort);
  const query = search.toString();
  return query === "" ? "" : `?${query}`;
}
