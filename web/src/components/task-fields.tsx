"use client";

import { useId } from "react";

import { PRIORITIES, type Priority, type TaskFields } from "@/lib/task-form";

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
      <div className="field wide">
        <label htmlFor={`${id}-due`}>Due</label>
        <input
          id={`${id}-due`}
          type="datetime-local"
          value={fields.due}
          onChange={(event) => set({ due: event.target.value })}
        />
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
