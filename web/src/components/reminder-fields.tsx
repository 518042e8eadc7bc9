"use client";

import { useId, useState } from "react";

import {
  ALL_DAY_REMINDER_CHOICES,
  dueAtOf,
  firesAtOf,
  formatInstant,
  instantIn,
  MAX_REMINDERS,
  REMINDER_CHOICES,
  reminderKey,
  reminderLabelOf,
  reminderTextOf,
  type FormReminder,
  type TaskFields,
} from "@/lib/task-form";

/** The choice of a date and a time of its own, beside the choices of minutes before. */
const AT = "at";

/**
 * A task's reminders: each with when it fires in the user's zone (as the due date now in the
 * form makes it), a button to remove it, and a picker to add one.
 */
export function ReminderInputs({
  fields,
  timeZone,
  onChange,
}: {
  fields: TaskFields;
  /** The user's: a date and a time typed are read in it, and fire times shown in it. */
  timeZone: string;
  onChange: (reminders: FormReminder[]) => void;
}) {
  const id = useId();
  const allDay = fields.dueDate !== "" && fields.dueTime === "";
  const choices = allDay ? ALL_DAY_REMINDER_CHOICES : REMINDER_CHOICES;
  const [choice, setChoice] = useState(String(choices[0]));
  const [at, setAt] = useState("");
  // A date alone offers other choices than a time: one chosen before the change is not offered.
  const chosen = choice === AT || choices.includes(Number(choice)) ? choice : String(choices[0]);
  const dueAt = dueAtOf(fields, timeZone);
  const { reminders } = fields;

  const adding: FormReminder | null =
    chosen !== AT
      ? { at: null, minutes_before: Number(chosen) }
      : at === ""
        ? null
        : { at: instantIn(at.slice(0, 10), at.slice(11, 16), timeZone), minutes_before: null };
  const full = reminders.length >= MAX_REMINDERS;
  const known =
    adding !== null && reminders.some((item) => reminderKey(item) === reminderKey(adding));

  function add() {
    if (adding === null || full || known) return;
    onChange([...reminders, adding]);
    setAt("");
  }

  return (
    <fieldset className="reminders">
      <legend>Reminders</legend>
      {reminders.length === 0 ? (
        <p className="none">No reminders.</p>
      ) : (
        <ul aria-label="Reminders of this task">
          {reminders.map((reminder) => {
            const text = reminderTextOf(reminder, fields, timeZone);
            const firesAt = firesAtOf(reminder, dueAt);
            return (
              <li key={reminderKey(reminder)}>
                <span className="reminder-text">
                  {reminder.at !== null && firesAt !== null ? (
                    <>
                      At <time dateTime={firesAt}>{formatInstant(firesAt, timeZone)}</time>
                    </>
                  ) : (
                    <>
                      {text}:{" "}
                      {firesAt === null ? (
                        "once the task has a due date"
                      ) : (
                        <time dateTime={firesAt}>{formatInstant(firesAt, timeZone)}</time>
                      )}
                    </>
                  )}
                </span>
                <button
                  type="button"
                  aria-label={`Remove reminder: ${text}`}
                  onClick={() => onChange(reminders.filter((item) => item !== reminder))}
                >
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <div className="reminder-add">
        <div className="field">
          <label htmlFor={`${id}-choice`}>Remind me</label>
          <select
            id={`${id}-choice`}
            value={chosen}
            onChange={(event) => setChoice(event.target.value)}
          >
            {choices.map((minutes) => (
              <option key={minutes} value={String(minutes)}>
                {reminderLabelOf(minutes, allDay)}
              </option>
            ))}
            <option value={AT}>At a date and time…</option>
          </select>
        </div>
        {chosen === AT && (
          <div className="field">
            <label htmlFor={`${id}-at`}>Date and time</label>
            <input
              id={`${id}-at`}
              type="datetime-local"
              value={at}
              onChange={(event) => setAt(event.target.value)}
              // Enter adds the reminder typed, rather than saving the task without it.
              onKeyDown={(event) => {
                if (event.key === "Enter") {
                  event.preventDefault();
                  add();
                }
              }}
            />
          </div>
        )}
        <button
          type="button"
          disabled={adding === null || full || known}
          title={full ? `At most ${MAX_REMINDERS} reminders` : known ? "Already set" : undefined}
          onClick={add}
        >
          Add reminder
        </button>
      </div>
    </fieldset>
  );
}
