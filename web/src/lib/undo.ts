/**
 * What takes a write back, by the API's recipes (docs/api-guide.md, "History and undo"): an edit
 * or a completion by restoring the version before it, a move by the inverse move, a batch by one
 * batch of each operation's undo in reverse order. Each undo names the version the write left
 * (If-Match), so a task changed elsewhere since is refused (412), never overwritten.
 */
import { entityTag, type Task, type TaskBatchOperation, type TaskPlace } from "./task-api";

/** A move of a task: its place (and parent), in the list `listId` (its own when undefined). */
export interface Move {
  place: TaskPlace;
  listId?: number;
}

/**
 * The move that puts each task back where it stood before its move, for moves made one after
 * another from the tasks `items` holds (undefined for a task it does not hold). Each inverse is
 * computed from where its move finds the tasks once the earlier moves are made, so the inverses,
 * made in reverse order, put every task back among the same neighbours. The neighbours are the
 * nearest siblings `items` holds: a filtered or partly loaded view may miss the ones right beside
 * the task, and the task then comes back beside the nearest it shows.
 */
export function inverseMoves(
  items: Task[],
  moves: { taskId: number; move: Move }[],
): (Move | undefined)[] {
  const arrangement = new Arrangement(items);
  return moves.map(({ taskId, move }) => arrangement.move(taskId, move));
}

/** The tasks as the API orders them: a list's top-level tasks and a task's subtasks by position. */
class Arrangement {
  readonly #listOf = new Map<number, number>();
  readonly #parentOf = new Map<number, number | null>();
  readonly #siblings = new Map<string, number[]>();

  constructor(items: Task[]) {
    // Positions compare as the database's "C" collation does: code unit by code unit.
    const ordered = [...items].sort((a, b) =>
      a.position === b.position ? a.id - b.id : a.position < b.position ? -1 : 1,
    );
    for (const task of ordered) {
      this.#listOf.set(task.id, task.list_id);
      this.#parentOf.set(task.id, task.parent_id);
      this.#group(task.list_id, task.parent_id).push(task.id);
    }
  }

  /** Makes the move, as the API would, and answers the one that takes it back. */
  move(taskId: number, { place, listId }: Move): Move | undefined {
    const list = this.#listOf.get(taskId);
    const parent = this.#parentOf.get(taskId);
    if (list === undefined || parent === undefined) return undefined;
    const from = this.#group(list, parent);
    const index = from.indexOf(taskId);
    const previous = from[index - 1];
    const next = from[index + 1];
    from.splice(index, 1);

    const namedList = listId ?? list;
    // Without a parent named, a task keeps its own in its own list and has none in another.
    const toParent =
      place.parent_id !== undefined ? place.parent_id : namedList === list ? parent : null;
    const toList = toParent === null ? namedList : (this.#listOf.get(toParent) ?? namedList);
    const to = this.#group(toList, toParent);
    const neighbour = place.after_id ?? place.before_id;
    const at = neighbour === undefined ? -1 : to.indexOf(neighbour);
    if (at < 0) to.push(taskId);
    else to.splice(place.after_id !== undefined ? at + 1 : at, 0, taskId);
    this.#parentOf.set(taskId, toParent);
    // Its subtasks go with it.
    for (const id of [taskId, ...this.#subtreeOf(taskId)]) this.#listOf.set(id, toList);

    const back: TaskPlace =
      previous !== undefined
        ? { after_id: previous }
        : next !== undefined
          ? { before_id: next }
          : {};
    if (toParent !== parent) back.parent_id = parent;
    return toList === list ? { place: back } : { place: back, listId: list };
  }

  #group(list: number, parent: number | null): number[] {
    const key = parent === null ? `list ${list}` : `task ${parent}`;
    const group = this.#siblings.get(key) ?? [];
    this.#siblings.set(key, group);
    return group;
  }

  #subtreeOf(taskId: number): number[] {
    const children = [...this.#parentOf].filter(([, parent]) => parent === taskId);
    return children.flatMap(([child]) => [child, ...this.#subtreeOf(child)]);
  }
}

/**
 * The batch operation that takes back what a batch's completion or reopening did to a task, from
 * the task as it was and as the batch answered it; undefined when the batch wrote nothing of it,
 * or for a recurring task it reopened (completing that again would do its next occurrence).
 */
export function undoCompletion(before: Task, after: Task): TaskBatchOperation | undefined {
  if (after.version === before.version) return undefined;
  const if_match = entityTag(after);
  if (before.recurrence === null) {
    return { op: "complete", task_id: before.id, completed: before.completed, if_match };
  }
  if (before.completed) return undefined;
  // Doing an occurrence moved the due date (and the reminders at an instant) to the next one,
  // or completed the task when there was none: all of that goes back.
  return {
    op: "update",
    task_id: before.id,
    if_match,
    body: {
      due: before.due,
      recurrence: before.recurrence,
      reminders: before.reminders.map(({ at, minutes_before }) =>
        at !== null ? { at } : { minutes_before },
      ),
      completed: false,
    },
  };
}

/**
 * `tasks` (some of those `items` holds) in the order to complete or reopen them in that keeps
 * each one's undo exact: completing a task completes its subtasks and reopening one reopens the
 * tasks above it, so subtasks are completed before their parents and reopened after them. Then
 * the undos, made in reverse, never find a task changed by another's.
 */
export function inCompletionOrder(items: Task[], tasks: Task[], completed: boolean): Task[] {
  const depths = new Map(tasks.map((task) => [task.id, depthAmong(items, task)]));
  const deeperFirst = (a: Task, b: Task) => (depths.get(b.id) ?? 0) - (depths.get(a.id) ?? 0);
  return [...tasks].sort((a, b) => (completed ? deeperFirst(a, b) : deeperFirst(b, a)));
}

/** How many of the tasks `items` holds the task is under. */
function depthAmong(items: Task[], task: Task): number {
  const parent = items.find((other) => other.id === task.parent_id);
  return parent === undefined ? 0 : 1 + depthAmong(items, parent);
}
