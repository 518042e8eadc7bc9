"use client";

import { useState, type FormEvent } from "react";

import { EMPTY_FIELDS, inputOf, type TaskFields } from "@/lib/task-form";
import type { TaskInput } from "@/lib/task-api";

import { TaskFieldInputs } from "./task-fields";

export function NewTaskForm({ onCreate }: { onCreate: (input: TaskInput) => Promise<boolean> }) {
  const [fields, setFields] = useState<TaskFields>(EMPTY_FIELDS);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    const created = await onCreate(inputOf(fields));
    setBusy(false);
    if (created) setFields(EMPTY_FIELDS);
  }

  return (
    <form className="new-task" aria-label="New task" onSubmit={submit}>
      <TaskFieldInputs fields={fields} onChange={setFields} />
      <button type="submit" className="primary" disabled={busy}>
        Add task
      </button>
    </form>
  );
}
