/** Between a task and the fields of a form: what is typed, what the API takes, what changed. */
import type { DueInput, ReminderInput, Task, TaskInput, TaskPatch } from "./task-api";

export type Priority = Task["priority"];
export const PRIORITIES: readonly Priority[] = ["low", "medium", "high", "urgent"];

export interface TaskFields {
  title: string;
  description: string;
  priority: Priority;
  /** As an `<input type="date">` holds it, `YYYY-MM-DD`; "" for no due date. */
  dueDate: string;
  /** As an `<input type="time">` holds it, `HH:MM`; "" for all day. */
  dueTime: string;
  /** The zone a timed due date is kept in; "" for the user's own (floating). */
  dueZone: string;
  /** The recurrence rule (`FREQ=...`, one of REPEATS or the task's own); "" for none. */
  repeat: string;
  /** Comma-separated. */
  tags: string;
  /** In the order given; each one the same as no other. */
  reminders: FormReminder[];
}

/** A reminder as the form holds it: exactly one of the two is set. */
export interface FormReminder {
  /** An ISO instant. */
  at: string | null;
  /** Minutes before the due date; negative: after it. */
  minutes_before: number | null;
}

/** The contract's limit. */
export const MAX_REMINDERS = 10;

/**
 * The minutes before the due date the form offers: before a time (or a due date to come), and
 * before a date alone. A task may hold any other, which it keeps.
 */
export const REMINDER_CHOICES: readonly number[] = [0, 15, 60, 1440];
export const ALL_DAY_REMINDER_CHOICES: readonly number[] = [-540, 900];

export const EMPTY_FIELDS: TaskFields = {
  title: "",
  description: "",
  priority: "medium",
  dueDate: "",
  dueTime: "",
  dueZone: "",
  repeat: "",
  tags: "",
  reminders: [],
};

/** The rules the form offers; a task may hold any other, which it keeps. */
export const REPEATS: readonly { rule: string; label: string }[] = [
  { rule: "FREQ=DAILY", label: "Every day" },
  { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", label: "Every weekday" },
  { rule: "FREQ=WEEKLY", label: "Every week" },
  { rule: "FREQ=MONTHLY", label: "Every month" },
  { rule: "FREQ=YEARLY", label: "Every year" },
];

/** How a rule reads: its label among REPEATS, else the rule itself. */
export function repeatLabelOf(rule: string): string {
  return REPEATS.find((repeat) => repeat.rule === rule)?.label ?? rule;
}

export function fieldsOf(task: Task): TaskFields {
  return {
    title: task.title,
    description: task.description ?? "",
    priority: task.priority,
    dueDate: task.due?.date ?? "",
    // The API answers `HH:MM:SS`; the time input holds minutes.
    dueTime: task.due?.time?.slice(0, 5) ?? "",
    dueZone: task.due?.time_zone ?? "",
    repeat: task.recurrence?.rule ?? "",
    tags: task.tags.join(", "),
    reminders: task.reminders.map(({ at, minutes_before }) => ({ at, minutes_before })),
  };
}

export function inputOf(fields: TaskFields): TaskInput {
  return {
    title: fields.title,
    description: fields.description.trim() === "" ? null : fields.description,
    priority: fields.priority,
    due: dueOf(fields),
    // A rule needs a due date: without one, no repeat.
    recurrence: fields.repeat === "" || fields.dueDate === "" ? null : { rule: fields.repeat },
    tags: parseTags(fields.tags),
    reminders: fields.reminders.map(reminderInputOf),
  };
}

function reminderInputOf({ at, minutes_before }: FormReminder): ReminderInput {
  return at !== null ? { at } : { minutes_before };
}

/**
 * A date alone (all day), or a date and a time: in the task's own zone if it has one (the form
 * shows its time there, so an edited time means that zone's), else with no zone (floating). A
 * date alone and a floating time are read in the user's time zone, and move with it.
 */
function dueOf(fields: TaskFields): DueInput | null {
  if (fields.dueDate === "") return null;
  const date = fields.dueDate;
  if (fields.dueTime === "") return { date };
  const time = fields.dueTime;
  return fields.dueZone === "" ? { date, time } : { date, time, time_zone: fields.dueZone };
}

/** A merge patch of only what the user changed from `base`: nothing else is overwritten. */
export function patchOf(base: Task, fields: TaskFields): TaskPatch {
  const before = inputOf(fieldsOf(base));
  const after = inputOf(fields);
  const patch: TaskPatch = {};
  if (after.title !== before.title) patch.title = after.title;
  if (after.description !== before.description) patch.description = after.description ?? null;
  if (after.priority !== before.priority) patch.priority = after.priority ?? "medium";
  // Sent only when changed: a due the form does not show in full (its own time zone) is kept.
  if (JSON.stringify(after.due) !== JSON.stringify(before.due)) patch.due = after.due ?? null;
  // The rule alone: a task that counts from its completion keeps doing so.
  if (after.recurrence?.rule !== before.recurrence?.rule) {
    patch.recurrence = after.recurrence ? { ...base.recurrence, ...after.recurrence } : null;
  }
  if (JSON.stringify(after.tags) !== JSON.stringify(before.tags)) patch.tags = after.tags ?? [];
  // Sent whole, as the contract takes them: `[]` removes them all.
  if (remindersKey(fields.reminders) !== remindersKey(fieldsOf(base).reminders)) {
    patch.reminders = after.reminders ?? [];
  }
  return patch;
}

/** What makes a reminder the same as another: the instant, not how it is written (in UTC or not). */
export function reminderKey({ at, minutes_before }: FormReminder): string {
  return at !== null ? `at ${Date.parse(at)}` : `before ${minutes_before}`;
}

function remindersKey(reminders: FormReminder[]): string {
  return reminders.map(reminderKey).join(",");
}

export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((tag) => tag.trim().toLowerCase()).filter(Boolean))];
}

/** Making an Intl format is costly and a list shows many dates: each is made once. */
const formats = new Map<string, Intl.DateTimeFormat>();

function formatOf(
  locale: string | undefined,
  options: Intl.DateTimeFormatOptions,
): Intl.DateTimeFormat {
  const key = JSON.stringify([locale, options]);
  let format = formats.get(key);
  if (format === undefined) {
    format = new Intl.DateTimeFormat(locale, options);
    formats.set(key, format);
  }
  return format;
}

/** An ISO instant as a date and a time in `timeZone`. */
export function formatInstant(iso: string, timeZone: string): string {
  const format = formatOf(undefined, { dateStyle: "medium", timeStyle: "short", timeZone });
  return format.format(new Date(iso));
}

/**
 * A `YYYY-MM-DD` date as it is written, in no time zone: formatted as that day in UTC, so that no
 * zone's offset moves it to the day before or after.
 */
function formatDate(date: string): string {
  const [year = 0, month = 1, day = 1] = date.split("-").map(Number);
  const format = formatOf(undefined, { dateStyle: "medium", timeZone: "UTC" });
  return format.format(Date.UTC(year, month - 1, day));
}

/** How a task's due date reads in the list. */
export interface DueLabel {
  /** For `<time dateTime>`: the date of an all-day task, the instant of a timed one. */
  dateTime: string;
  text: string;
  /** The task's own time zone, when it has one other than the user's: its time there differs. */
  ownZone: string | null;
}

/**
 * An all-day task's date as it is written; a timed task's instant in the user's zone. Null when
 * the task has no due date.
 */
export function dueLabelOf(task: Task, timeZone: string): DueLabel | null {
  const { due, due_at: dueAt } = task;
  if (due === null || dueAt === null) return null;
  if (due.time === null) return { dateTime: due.date, text: formatDate(due.date), ownZone: null };
  return {
    dateTime: dueAt,
    text: formatInstant(dueAt, timeZone),
    ownZone: due.time_zone !== null && due.time_zone !== timeZone ? due.time_zone : null,
  };
}

/** The first instant of `date` (`YYYY-MM-DD`), `plusDays` later, in `timeZone`, as ISO text. */
export function startOfDayIn(date: string, timeZone: string, plusDays = 0): string {
  return instantIn(date, "00:00", timeZone, plusDays);
}

/**
 * The instant `timeZone`'s clocks show `time` (`HH:MM`) on `date` (`YYYY-MM-DD`), `plusDays`
 * later, as ISO text. The zone's offset is read at a first guess and again at the instant it
 * gives, so that a time next to a change of offset still gets its own.
 */
export function instantIn(date: string, time: string, timeZone: string, plusDays = 0): string {
  const [year = 0, month = 1, day = 1] = date.split("-").map(Number);
  const [hour = 0, minute = 0] = time.split(":").map(Number);
  const wall = Date.UTC(year, month - 1, day + plusDays, hour, minute);
  const guess = wall - offsetAt(wall, timeZone);
  return new Date(wall - offsetAt(guess, timeZone)).toISOString();
}

/** How far `timeZone`'s wall clock is ahead of UTC at `instant`, in milliseconds. */
function offsetAt(instant: number, timeZone: string): number {
  const format = formatOf("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  const parts = format.formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    Number(parts.find((item) => item.type === type)?.value);
  const wall = Date.UTC(
    part("year"),
    part("month") - 1,
    part("day"),
    part("hour"),
    part("minute"),
    part("second"),
  );
  return wall - Math.floor(instant / 1000) * 1000;
}

/** Today's date in `timeZone`, `YYYY-MM-DD` (the form the en-CA locale writes dates in). */
function todayIn(timeZone: string, now: number): string {
  const format = formatOf("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  return format.format(now);
}

/**
 * An all-day task is overdue once its day has ended in the user's zone (as the API's `overdue`
 * filter says); a timed one, once its time has passed.
 */
export function isOverdue(task: Task, now: number, timeZone: string): boolean {
  if (task.completed || task.due === null || task.due_at === null) return false;
  if (task.due.time === null) return task.due.date < todayIn(timeZone, now);
  return Date.parse(task.due_at) < now;
}

/**
 * The instant the form's due date stands for, as the API derives `due_at`: a date alone is the
 * start of that day in the user's zone, a time is read in the task's own zone or else the user's.
 */
export function dueAtOf(fields: TaskFields, timeZone: string): string | null {
  if (fields.dueDate === "") return null;
  return instantIn(fields.dueDate, fields.dueTime || "00:00", fields.dueZone || timeZone);
}

/** When a reminder of the form fires, as the API computes it; null while there is no due date. */
export function firesAtOf(reminder: FormReminder, dueAt: string | null): string | null {
  if (reminder.at !== null) return new Date(reminder.at).toISOString();
  if (dueAt === null || reminder.minutes_before === null) return null;
  return new Date(Date.parse(dueAt) - reminder.minutes_before * 60_000).toISOString();
}

/**
 * How a reminder before the due date reads. Before a date alone, as a time on a day around it
 * ("On the day at 09:00": the day starts at `due_at`); before a time, as a duration.
 */
export function reminderLabelOf(minutesBefore: number, allDay: boolean): string {
  if (allDay) {
    const fromStart = -minutesBefore;
    const days = Math.floor(fromStart / 1440);
    const minutes = fromStart - days * 1440;
    const clock = `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
    const day =
      days === 0
        ? "On the day"
        : days === -1
          ? "The day before"
          : days === 1
            ? "The day after"
            : days < 0
              ? `${-days} days before`
              : `${days} days after`;
    return `${day} at ${clock}`;
  }
  if (minutesBefore === 0) return "At the due time";
  const span = durationOf(Math.abs(minutesBefore));
  return minutesBefore > 0 ? `${span} before` : `${span} after`;
}

function durationOf(minutes: number): string {
  const [count, unit] =
    minutes % 1440 === 0
      ? [minutes / 1440, "day"]
      : minutes % 60 === 0
        ? [minutes / 60, "hour"]
        : [minutes, "minute"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/**
 * How a reminder of the form reads: its instant in `timeZone`, or how long before the form's due
 * date (which says whether it is a date alone).
 */
export function reminderTextOf(
  reminder: FormReminder,
  fields: TaskFields,
  timeZone: string,
): string {
  if (reminder.at !== null) return `At ${formatInstant(reminder.at, timeZone)}`;
  const allDay = fields.dueDate !== "" && fields.dueTime === "";
  return reminderLabelOf(reminder.minutes_before ?? 0, allDay);
}

/** The soonest fire time of the task's reminders after `now`; null when none is to come. */
export function nextReminderOf(task: Task, now: number): string | null {
  const coming = task.reminders
    .map((reminder) => reminder.fires_at)
    .filter((firesAt): firesAt is string => firesAt !== null && Date.parse(firesAt) > now)
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  return coming[0] ?? null;
}
