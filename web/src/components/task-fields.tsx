"use client";

import { useId } from "react";

import {
  PRIORITIES,
  REPEATS,
  repeatLabelOf,
  type Priority,
  type TaskFields,
} from "@/lib/task-form";

/** The editable fields of a task, for the new-task form and the editor alike. */
export function TaskFieldInputs({
  fields,
  onChange,
  autoFocus = false,
}: {
  fields: TaskFields;
  onChange: (fields: TaskFields) => void;
  autoFocus?: boolean;
}) {
  const id = useId();
  const set = (change: Partial<TaskFields>) => onChange({ ...fields, ...change });
  return (
    <>
      <div className="field grow">
        <label htmlFor={`${id}-title`}>Title</label>
        <input
          id={`${id}-title`}
          value={fields.title}
          required
          maxLength={200}
          autoFocus={autoFocus}
          onChange={(event) => set({ title: event.target.value })}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-priority`}>Priority</label>
        <select
          id={`${id}-priority`}
          value={fields.priority}
          onChange={(event) => set({ priority: event.target.value as Priority })}
        >
          {PRIORITIES.map((priority) => (
            <option key={priority} value={priority}>
              {priority}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-due`}>Due</label>
        <input
          id={`${id}-due`}
          type="date"
          value={fields.dueDate}
          // No date, no due: a time left behind would be a time of no day.
          onChange={(event) =>
            set({
              dueDate: event.target.value,
              ...(event.target.value === "" && { dueTime: "", repeat: "" }),
            })
          }
        />
      </div>
      <div className="field">
        {/* A task kept in a zone of its own shows its time there, and says which. */}
        <label htmlFor={`${id}-time`}>{fields.dueZone ? `Time (${fields.dueZone})` : "Time"}</label>
        <input
          id={`${id}-time`}
          type="time"
          value={fields.dueTime}
          disabled={fields.dueDate === ""}
          title="Empty: all day"
          onChange={(event) => set({ dueTime: event.target.value })}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-repeat`}>Repeat</label>
        <select
          id={`${id}-repeat`}
          value={fields.repeat}
          disabled={fields.dueDate === ""}
          title="A repeat needs a due date"
          onChange={(event) => set({ repeat: event.target.value })}
        >
          <option value="">Never</option>
          {REPEATS.map((repeat) => (
            <option key={repeat.rule} value={repeat.rule}>
              {repeat.label}
            </option>
          ))}
          {/* A rule set elsewhere, kept as it is unless another is chosen. */}
          {fields.repeat !== "" && !REPEATS.some((repeat) => repeat.rule === fields.repeat) && (
            <option value={fields.repeat}>{repeatLabelOf(fields.repeat)}</option>
          )}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-tags`}>Tags</label>
        <input
          id={`${id}-tags`}
          value={fields.tags}
          placeholder="home, errand"
          onChange={(event) => set({ tags: event.target.value })}
        />
      </div>
      <div className="field full">
        <label htmlFor={`${id}-description`}>Notes</label>
        <textarea
          id={`${id}-description`}
          value={fields.description}
          maxLength={1000}
          rows={2}
          onChange={(event) => set({ description: event.target.value })}
        />
      </div>
    </>
  );
}
