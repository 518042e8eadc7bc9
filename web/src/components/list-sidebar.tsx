"use client";

import Link from "next/link";
import { useState, type DragEvent, type FormEvent } from "react";

import type { Place, TasksOfDeletedList, TodoList } from "@/lib/task-api";

/** What a drag carries: a task or a list, by id. */
export const DRAGGED_TASK = "application/x-taskapi-task";
const DRAGGED_LIST = "application/x-taskapi-list";

export interface ListActions {
  onSelect: (listId: number | null) => void;
  onCreate: (name: string) => Promise<boolean>;
  onRename: (list: TodoList, name: string) => Promise<boolean>;
  onDelete: (list: TodoList, tasks: TasksOfDeletedList) => void;
  onMove: (list: TodoList, place: Place) => void;
  /** A task dropped on a list: it goes last there. */
  onDropTask: (taskId: number, listId: number) => void;
}

/**
 * The user's lists in their order: choose one, make one, rename, reorder or delete one; and the
 * way to what changed lately, and to the trash, where deleted lists and tasks wait.
 */
export function ListSidebar({
  lists,
  selected,
  actions,
  activityHref,
  trashHref,
}: {
  lists: TodoList[];
  selected: number | null;
  actions: ListActions;
  activityHref: string;
  trashHref: string;
}) {
  const current = lists.find((list) => list.id === selected);

  function drop(event: DragEvent, target: TodoList) {
    event.preventDefault();
    const task = Number(event.dataTransfer.getData(DRAGGED_TASK));
    const list = Number(event.dataTransfer.getData(DRAGGED_LIST));
    const dragged = lists.find((item) => item.id === list);
    if (task > 0) actions.onDropTask(task, target.id);
    else if (dragged && dragged.id !== target.id) actions.onMove(dragged, { before_id: target.id });
  }

  return (
    <nav className="lists" aria-label="Lists">
      <ul>
        <li>
          <button
            type="button"
            className="list-name"
            aria-current={selected === null ? "page" : undefined}
            onClick={() => actions.onSelect(null)}
          >
            All tasks
          </button>
        </li>
        {lists.map((list, index) => {
          const previous = lists[index - 1];
          const next = lists[index + 1];
          return (
          <li
            key={list.id}
            data-list-id={list.id}
            draggable
            onDragStart={(event) => event.dataTransfer.setData(DRAGGED_LIST, String(list.id))}
            onDragOver={(event) => event.preventDefault()}
            onDrop={(event) => drop(event, list)}
          >
            <button
              type="button"
              className="list-name"
              aria-current={selected === list.id ? "page" : undefined}
              onClick={() => actions.onSelect(list.id)}
            >
              {list.name}
            </button>
            <button
              type="button"
              className="nudge"
              aria-label={`Move list up: ${list.name}`}
              disabled={previous === undefined}
              onClick={() => previous && actions.onMove(list, { before_id: previous.id })}
            >
              ↑
            </button>
            <button
              type="button"
              className="nudge"
              aria-label={`Move list down: ${list.name}`}
              disabled={next === undefined}
              onClick={() => next && actions.onMove(list, { after_id: next.id })}
            >
              ↓
            </button>
          </li>
          );
        })}
      </ul>
      <NewListForm onCreate={actions.onCreate} />
      {current && <CurrentList key={current.id} list={current} actions={actions} />}
      <p className="side-links">
        <Link href={activityHref}>Activity</Link>
        <Link href={trashHref}>Trash</Link>
      </p>
    </nav>
  );
}

function NewListForm({ onCreate }: { onCreate: (name: string) => Promise<boolean> }) {
  const [name, setName] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (name.trim() === "") return;
    if (await onCreate(name)) setName("");
  }

  return (
    <form className="new-list" aria-label="New list" onSubmit={submit}>
      <label htmlFor="new-list-name">New list</label>
      <input
        id="new-list-name"
        value={name}
        maxLength={100}
        required
        onChange={(event) => setName(event.target.value)}
      />
      <button type="submit">Add list</button>
    </form>
  );
}

/** Renaming and deleting the chosen list; the Inbox can be renamed, not deleted. */
function CurrentList({ list, actions }: { list: TodoList; actions: ListActions }) {
  const [name, setName] = useState(list.name);
  const [confirming, setConfirming] = useState(false);

  async function rename(event: FormEvent) {
    event.preventDefault();
    if (name.trim() !== "" && name !== list.name) await actions.onRename(list, name);
  }

  return (
    <section className="current-list" aria-label={`List: ${list.name}`}>
      <form onSubmit={rename}>
        <label htmlFor="list-name">Name</label>
        <input
          id="list-name"
          value={name}
          maxLength={100}
          required
          onChange={(event) => setName(event.target.value)}
        />
        <button type="submit">Rename</button>
      </form>
      {!list.is_inbox &&
        (confirming ? (
          <div className="confirm" role="group" aria-label="Delete this list?">
            <button type="button" autoFocus onClick={() => actions.onDelete(list, "move_to_inbox")}>
              Delete list, keep its tasks in the Inbox
            </button>
            <button type="button" className="danger" onClick={() => actions.onDelete(list, "delete")}>
              Delete list and its tasks
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep the list
            </button>
          </div>
        ) : (
          <button type="button" onClick={() => setConfirming(true)}>
            Delete list
          </button>
        ))}
    </section>
  );
}
