"use client";

import { useState, type FormEvent } from "react";

import {
  dueLabelOf,
  formatInstant,
  isOverdue,
  nextReminderOf,
  repeatLabelOf,
} from "@/lib/task-form";
import type { Task, TaskPlace, TodoList } from "@/lib/task-api";

import { BellIcon } from "./bell-icon";
import { DRAGGED_TASK } from "./list-sidebar";

/** In the user's own order of one list: where the task may go from here. */
export interface Reordering {
  /** How many tasks it is under. */
  depth: number;
  up: TaskPlace | null;
  down: TaskPlace | null;
  /** Under the task before it, last among its subtasks. */
  indent: TaskPlace | null;
  /** Out of its parent, right after it. */
  outdent: TaskPlace | null;
  onMove: (taskId: number, place: TaskPlace) => void;
}

/** How deep tasks nest (the contract's limit). */
export const MAX_DEPTH = 4;

export function TaskItem({
  task,
  now,
  timeZone,
  lists,
  reordering,
  selected,
  onSelect,
  onToggle,
  onEdit,
  onDelete,
  onMoveToList,
  onAddSubtask,
}: {
  task: Task;
  now: number;
  /** The user's, from their settings: the zone dates and times are shown in. */
  timeZone: string;
  lists: TodoList[];
  reordering: Reordering | null;
  selected: boolean;
  onSelect: (task: Task, selected: boolean) => void;
  onToggle: (task: Task) => void;
  onEdit: (task: Task) => void;
  onDelete: (task: Task) => void;
  onMoveToList: (task: Task, listId: number) => void;
  onAddSubtask: (parent: Task, title: string) => Promise<boolean>;
}) {
  const [addingSubtask, setAddingSubtask] = useState(false);
  const [subtaskTitle, setSubtaskTitle] = useState("");
  const canNest = (reordering?.depth ?? 0) < MAX_DEPTH - 1;

  async function addSubtask(event: FormEvent) {
    event.preventDefault();
    if (await onAddSubtask(task, subtaskTitle)) {
      setSubtaskTitle("");
      setAddingSubtask(false);
    }
  }

  const overdue = isOverdue(task, now, timeZone);
  const due = dueLabelOf(task, timeZone);
  const nextReminder = nextReminderOf(task, now);
  const reminders =
    task.reminders.length === 1 ? "1 reminder" : `${task.reminders.length} reminders`;
  return (
    <li
      className={task.completed ? "task done" : "task"}
      data-task-id={task.id}
      data-depth={reordering?.depth ?? 0}
      style={reordering?.depth ? { marginInlineStart: `${reordering.depth * 1.5}rem` } : undefined}
      draggable
      onDragStart={(event) => event.dataTransfer.setData(DRAGGED_TASK, String(task.id))}
      onDragOver={(event) => reordering && event.preventDefault()}
      onDrop={(event) => {
        if (!reordering) return;
        event.preventDefault();
        const dragged = Number(event.dataTransfer.getData(DRAGGED_TASK));
        if (dragged > 0 && dragged !== task.id) {
          // Among the task it is dropped on's siblings, right before it.
          reordering.onMove(dragged, { before_id: task.id, parent_id: task.parent_id });
        }
      }}
    >
      <input
        type="checkbox"
        className="select"
        title="Select"
        checked={selected}
        aria-label={`Select: ${task.title}`}
        onChange={(event) => onSelect(task, event.target.checked)}
      />
      <input
        type="checkbox"
        className="complete"
        title="Done"
        checked={task.completed}
        aria-label={`Done: ${task.title}`}
        onChange={() => onToggle(task)}
      />
      <div className="task-body">
        <span className="task-title">{task.title}</span>
        {task.description && <p className="task-description">{task.description}</p>}
        <p className="task-meta">
          <span className={`priority priority-${task.priority}`}>{task.priority}</span>
          {due && (
            <span className={overdue ? "due overdue" : "due"}>
              {overdue ? "Overdue: " : "Due "}
              <time dateTime={due.dateTime}>{due.text}</time>
              {due.ownZone && ` (${due.ownZone})`}
            </span>
          )}
          {task.recurrence && (
            <span className="repeat" title={task.recurrence.rule}>
              ↻ {repeatLabelOf(task.recurrence.rule)}
            </span>
          )}
          {task.reminders.length > 0 && (
            <span
              className="reminder"
              title={nextReminder === null ? `${reminders}, none to come` : reminders}
            >
              <BellIcon />
              {nextReminder === null ? (
                <span className="visually-hidden">{reminders}, none to come</span>
              ) : (
                <>
                  <span className="visually-hidden">Next reminder:</span>{" "}
                  <time dateTime={nextReminder}>{formatInstant(nextReminder, timeZone)}</time>
                </>
              )}
            </span>
          )}
          {task.tags.map((tag) => (
            <span key={tag} className="tag">
              #{tag}
            </span>
          ))}
        </p>
        {addingSubtask && (
          <form className="new-subtask" aria-label={`New subtask of: ${task.title}`} onSubmit={addSubtask}>
            <input
              aria-label="Subtask title"
              required
              maxLength={200}
              autoFocus
              value={subtaskTitle}
              onChange={(event) => setSubtaskTitle(event.target.value)}
            />
            <button type="submit" className="primary">
              Add subtask
            </button>
            <button type="button" onClick={() => setAddingSubtask(false)}>
              Cancel
            </button>
          </form>
        )}
      </div>
      <div className="task-actions">
        {reordering && (
          <>
            <button
              type="button"
              className="nudge"
              aria-label={`Move up: ${task.title}`}
              disabled={reordering.up === null}
              onClick={() => reordering.up && reordering.onMove(task.id, reordering.up)}
            >
              ↑
            </button>
            <button
              type="button"
              className="nudge"
              aria-label={`Move down: ${task.title}`}
              disabled={reordering.down === null}
              onClick={() => reordering.down && reordering.onMove(task.id, reordering.down)}
            >
              ↓
            </button>
            <button
              type="button"
              className="nudge"
              aria-label={`Make a subtask: ${task.title}`}
              disabled={reordering.indent === null}
              onClick={() => reordering.indent && reordering.onMove(task.id, reordering.indent)}
            >
              →
            </button>
            <button
              type="button"
              className="nudge"
              aria-label={`Out of its parent: ${task.title}`}
              disabled={reordering.outdent === null}
              onClick={() => reordering.outdent && reordering.onMove(task.id, reordering.outdent)}
            >
              ←
            </button>
          </>
        )}
        {lists.length > 1 && (
          <select
            className="task-list"
            aria-label={`List of: ${task.title}`}
            value={task.list_id}
            onChange={(event) => onMoveToList(task, Number(event.target.value))}
          >
            {lists.map((list) => (
              <option key={list.id} value={list.id}>
                {list.name}
              </option>
            ))}
          </select>
        )}
        <button type="button" aria-label={`Edit: ${task.title}`} onClick={() => onEdit(task)}>
          Edit
        </button>
        {canNest && (
          <button
            type="button"
            aria-label={`Add a subtask: ${task.title}`}
            onClick={() => setAddingSubtask(true)}
          >
            + Subtask
          </button>
        )}
        {/* No confirmation: the notice that says it was deleted offers Undo. */}
        <button type="button" aria-label={`Delete: ${task.title}`} onClick={() => onDelete(task)}>
          Delete
        </button>
      </div>
    </li>
  );
}
