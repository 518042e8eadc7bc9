"use client";

import { useEffect, useRef, useState, type FormEvent } from "react";

import { describe, type Problem } from "@/lib/problems";
import { ApiError, entityTag, type Task, type TaskApi } from "@/lib/task-api";
import {
  fieldsOf,
  formatInstant,
  patchOf,
  reminderTextOf,
  type TaskFields,
} from "@/lib/task-form";

import { ReminderInputs } from "./reminder-fields";
import { TaskFieldInputs } from "./task-fields";
import { TaskHistory } from "./task-history";

type State =
  | { kind: "editing" }
  | { kind: "saving" }
  | { kind: "conflict"; theirs: Task }
  | { kind: "gone" }
  | { kind: "failed"; problem: Problem }
  | { kind: "history" };

const FIELD_LABELS: Record<keyof TaskFields, string> = {
  title: "Title",
  description: "Notes",
  priority: "Priority",
  dueDate: "Due",
  dueTime: "Time",
  dueZone: "Time zone",
  repeat: "Repeat",
  tags: "Tags",
  reminders: "Reminders",
};

/**
 * Edits one task as a merge patch of only the changed fields, sent with `If-Match` for the
 * version the edit started from. If someone changed the task meanwhile (412), shows the server's
 * version beside the user's, and writes only when the user has chosen. Its history shows the
 * task's versions, any of which can be made current again.
 */
export function TaskEditor({
  api,
  userId,
  timeZone,
  base,
  onSaved,
  onRestored,
  onClose,
}: {
  api: TaskApi;
  userId: string;
  /** The user's: to say when the task was changed, and when its reminders fire. */
  timeZone: string;
  base: Task;
  /** `written` is false when nothing was: the server's version was kept, or it had the edit. */
  onSaved: (task: Task, written: boolean) => void;
  onRestored: (task: Task, version: number, written: boolean) => void;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [fields, setFields] = useState<TaskFields>(() => fieldsOf(base));
  const [state, setState] = useState<State>({ kind: "editing" });

  useEffect(() => {
    const element = dialog.current;
    // Focus goes back where it was (the Edit button) when the dialog goes away.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    element?.showModal();
    return () => {
      element?.close();
      opener?.focus();
    };
  }, []);

  async function save(onto: Task) {
    const patch = patchOf(base, fields);
    if (Object.keys(patch).length === 0) {
      onClose();
      return;
    }
    setState({ kind: "saving" });
    try {
      const saved = await api.update(userId, base.id, patch, entityTag(onto));
      onSaved(saved, saved.version !== onto.version);
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        await showConflict();
      } else if (error instanceof ApiError && error.status === 404) {
        setState({ kind: "gone" });
      } else {
        setState({ kind: "failed", problem: describe(error) });
      }
    }
  }

  async function showConflict() {
    try {
      setState({ kind: "conflict", theirs: await api.get(userId, base.id) });
    } catch (error) {
      setState(
        error instanceof ApiError && error.status === 404
          ? { kind: "gone" }
          : { kind: "failed", problem: describe(error) },
      );
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    void save(base);
  }

  return (
    <dialog
      ref={dialog}
      className="editor"
      aria-labelledby="editor-title"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      {state.kind === "conflict" ? (
        <Conflict
          mine={fields}
          base={fieldsOf(base)}
          theirs={state.theirs}
          timeZone={timeZone}
          onKeepMine={() => void save(state.theirs)}
          onTakeTheirs={() => onSaved(state.theirs, false)}
        />
      ) : state.kind === "history" ? (
        <TaskHistory
          api={api}
          userId={userId}
          task={base}
          timeZone={timeZone}
          onRestored={onRestored}
          onBack={() => setState({ kind: "editing" })}
        />
      ) : state.kind === "gone" ? (
        <div role="alert">
          <h2 id="editor-title">This task was deleted</h2>
          <p>It was deleted elsewhere while you were editing it; your changes were not saved.</p>
          <button type="button" onClick={onClose} autoFocus>
            Close
          </button>
        </div>
      ) : (
        <form onSubmit={submit}>
          <h2 id="editor-title">Edit task</h2>
          <div className="task-fields">
            <TaskFieldInputs fields={fields} onChange={setFields} autoFocus />
          </div>
          <ReminderInputs
            fields={fields}
            timeZone={timeZone}
            onChange={(reminders) => setFields((current) => ({ ...current, reminders }))}
          />
          {state.kind === "failed" && (
            <p role="alert" className="error">
              {state.problem.title}: {state.problem.message}
            </p>
          )}
          <div className="buttons">
            <button type="submit" className="primary" disabled={state.kind === "saving"}>
              Save
            </button>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button
              type="button"
              disabled={state.kind === "saving"}
              onClick={() => setState({ kind: "history" })}
            >
              History
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

function Conflict({
  mine,
  base,
  theirs,
  timeZone,
  onKeepMine,
  onTakeTheirs,
}: {
  mine: TaskFields;
  base: TaskFields;
  theirs: Task;
  timeZone: string;
  onKeepMine: () => void;
  onTakeTheirs: () => void;
}) {
  const server = fieldsOf(theirs);
  const text = (fields: TaskFields, key: keyof TaskFields): string =>
    key === "reminders"
      ? fields.reminders.map((reminder) => reminderTextOf(reminder, fields, timeZone)).join(", ")
      : fields[key];
  const keys = (Object.keys(FIELD_LABELS) as Array<keyof TaskFields>).filter(
    (key) => text(mine, key) !== text(base, key) || text(server, key) !== text(base, key),
  );
  return (
    <section className="conflict" role="alert" aria-labelledby="editor-title">
      <h2 id="editor-title">Changed elsewhere</h2>
      <p>
        This task was changed in another tab or device while you were editing it (it is now at
        version {theirs.version}, changed {formatInstant(theirs.updated_at, timeZone)}). Nothing of
        yours was saved yet.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Your version</th>
            <th scope="col">Now on the server</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key}>
              <th scope="row">{FIELD_LABELS[key]}</th>
              <td data-version="mine">{shown(text(mine, key))}</td>
              <td data-version="theirs">{shown(text(server, key))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="buttons">
        <button type="button" className="primary" onClick={onKeepMine} autoFocus>
          Save my changes over it
        </button>
        <button type="button" onClick={onTakeTheirs}>
          Keep the server&apos;s version
        </button>
      </div>
    </section>
  );
}

/**
 * A field as the form holds it (the due date `YYYY-MM-DD`, its time `HH:MM`, the reminders as
 * the editor lists them); a dash for none.
 */
function shown(value: string): string {
  return value === "" ? "—" : value;
}
