"use client";

import { useState } from "react";

import type { TodoList } from "@/lib/task-api";

export interface BulkActions {
  onComplete: (completed: boolean) => void;
  onMoveToList: (listId: number) => void;
  onDelete: () => void;
  onClear: () => void;
}

/** What can be done to the selected tasks at once: each action is one request. */
export function BulkBar({
  count,
  lists,
  actions,
}: {
  count: number;
  lists: TodoList[];
  actions: BulkActions;
}) {
  const [confirming, setConfirming] = useState(false);
  const tasks = count === 1 ? "1 task" : `${count} tasks`;
  return (
    <div className="bulk" role="toolbar" aria-label="Selected tasks">
      <span className="bulk-count">{tasks} selected</span>
      <button type="button" onClick={() => actions.onComplete(true)}>
        Complete
      </button>
      <button type="button" onClick={() => actions.onComplete(false)}>
        Reopen
      </button>
      {lists.length > 1 && (
        <select
          aria-label="Move selected to"
          value=""
          onChange={(event) => actions.onMoveToList(Number(event.target.value))}
        >
          <option value="" disabled>
            Move to…
          </option>
          {lists.map((list) => (
            <option key={list.id} value={list.id}>
              {list.name}
            </option>
          ))}
        </select>
      )}
      {confirming ? (
        <>
          <button
            type="button"
            className="danger"
            autoFocus
            onClick={() => {
              setConfirming(false);
              actions.onDelete();
            }}
          >
            Delete {tasks}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </>
      ) : (
        <button type="button" onClick={() => setConfirming(true)}>
          Delete
        </button>
      )}
      <button type="button" onClick={actions.onClear}>
        Clear selection
      </button>
    </div>
  );
}
