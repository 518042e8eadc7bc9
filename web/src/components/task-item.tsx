"use client";

import { useState } from "react";

import { formatDue, isOverdue } from "@/lib/task-form";
import type { Task } from "@/lib/task-api";

export function TaskItem({
  task,
  now,
  onToggle,
  onEdit,
  onDelete,
}: {
  task: Task;
  now: number;
  onToggle: (task: Task) => void;
  onEdit: (task: Task) => void;
  onDelete: (task: Task) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const overdue = isOverdue(task, now);
  return (
    <li className={task.completed ? "task done" : "task"} data-task-id={task.id}>
      <input
        type="checkbox"
        className="complete"
        checked={task.completed}
        aria-label={`Done: ${task.title}`}
        onChange={() => onToggle(task)}
      />
      <div className="task-body">
        <span className="task-title">{task.title}</span>
        {task.description && <p className="task-description">{task.description}</p>}
        <p className="task-meta">
          <span className={`priority priority-${task.priority}`}>{task.priority}</span>
          {task.due_at && (
            <span className={overdue ? "due overdue" : "due"}>
              {overdue ? "Overdue: " : "Due "}
              <time dateTime={task.due_at}>{formatDue(task.due_at)}</time>
            </span>
          )}
          {task.tags.map((tag) => (
            <span key={tag} className="tag">
              #{tag}
            </span>
          ))}
        </p>
      </div>
      <div className="task-actions">
        {confirming ? (
          <>
            <button type="button" className="danger" autoFocus onClick={() => onDelete(task)}>
              Delete
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <>
            <button type="button" aria-label={`Edit: ${task.title}`} onClick={() => onEdit(task)}>
              Edit
            </button>
            <button
              type="button"
              aria-label={`Delete: ${task.title}`}
              onClick={() => setConfirming(true)}
            >
              Delete
            </button>
          </>
        )}
      </div>
    </li>
  );
}
