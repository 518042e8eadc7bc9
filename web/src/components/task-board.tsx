"use client";

import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import {
  DEFAULT_FILTERS,
  filtersFromSearch,
  PAGE_SIZE,
  queryOf,
  searchOf,
  type Filters,
} from "@/lib/filters";
import { describe, type Problem } from "@/lib/problems";
import type {
  DueReminder,
  Place,
  Settings,
  Task,
  TaskBatchOperation,
  TaskBatchOperationResult,
  TaskPlace,
  TaskApi,
  TaskInput,
  TaskList,
  TasksOfDeletedList,
  TodoList,
} from "@/lib/task-api";
import { entityTag } from "@/lib/task-api";
import { inCompletionOrder, inverseMoves, undoCompletion, type Move } from "@/lib/undo";
import { useDeltaSync, type RemoteChanges } from "@/lib/use-delta-sync";
import { firedKeyOf, useDueReminders } from "@/lib/use-due-reminders";
import { useLiveEvents } from "@/lib/use-live-events";

import { useTaskApi } from "./api-context";
import { BulkBar, type BulkActions } from "./bulk-actions";
import { ListSidebar, type ListActions } from "./list-sidebar";
import { useShareLiveState } from "./live-status";
import { NewTaskForm } from "./new-task-form";
import { NO_NOTICE, NoticeBar, type Notice, type NoticeAction } from "./notice";
import { ProblemAlert, ProblemPage } from "./problem-page";
import {
  DesktopNotificationsButton,
  FiredReminders,
  showOnDesktop,
} from "./reminder-notifications";
import { TaskEditor } from "./task-editor";
import { TaskFilters } from "./task-filters";
import { MAX_DEPTH, TaskItem, type Reordering } from "./task-item";
import { TimeZoneControl } from "./time-zone-control";

interface View {
  items: Task[];
  nextCursor: string | null;
  loading: boolean;
  /** Set when the list itself cannot be shown (403, 404, the API down): a page of its own. */
  problem: Problem | null;
}

const INITIAL_VIEW: View = { items: [], nextCursor: null, loading: true, problem: null };

/** The user's tasks: filters, the list (paged as it scrolls), and every write. */
export function TaskBoard({ userId }: { userId: string }) {
  const api = useTaskApi();
  const searchParams = useSearchParams();
  const [filters, setFilters] = useState<Filters>(() => filtersFromSearch(searchParams));
  // Until they arrive, no date can be shown: the tasks wait for them.
  const [settings, setSettings] = useState<Settings | null>(null);
  // The user's zone, where a date filter needs it: a day is the user's day. Until the settings
  // arrive, UTC's; the list is loaded again in the user's (and shown only then).
  const datesZone =
    filters.dueAfter !== "" || filters.dueBefore !== "" ? (settings?.time_zone ?? "UTC") : "UTC";
  const query = useMemo(() => queryOf(filters, datesZone), [filters, datesZone]);
  const [view, setView] = useState<View>(INITIAL_VIEW);
  const [alert, setAlert] = useState<Problem | null>(null);
  const [notice, setNotice] = useState<Notice>(NO_NOTICE);
  const [editing, setEditing] = useState<Task | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [lists, setLists] = useState<TodoList[]>([]);
  const [selected, setSelected] = useState<ReadonlySet<number>>(() => new Set());
  const [fired, setFired] = useState<DueReminder[]>([]);
  // Writes reload the list with the filters of now, not of when their handler was made.
  const latestQuery = useRef(query);
  latestQuery.current = query;
  // Answers to a query that has since been replaced are dropped.
  const generation = useRef(0);
  const shown = useRef(0);
  shown.current = view.items.length;

  const fail = useCallback((error: unknown) => {
    const problem = describe(error);
    if (problem.signedOut) {
      window.location.assign("/sign-in");
      return;
    }
    setAlert(problem);
  }, []);

  /** The list from the top again, as far down as the user had scrolled. */
  const reload = useCallback(async () => {
    const ticket = ++generation.current;
    const keep = Math.max(PAGE_SIZE, shown.current);
    setView((current) => ({ ...current, loading: true }));
    try {
      let shownSoFar: Pick<View, "items" | "nextCursor"> = { items: [], nextCursor: null };
      let cursor: string | undefined;
      do {
        const page = await api.list(userId, {
          ...latestQuery.current,
          limit: PAGE_SIZE,
          ...(cursor && { cursor }),
        });
        shownSoFar = withPage(shownSoFar.items, page);
        cursor = shownSoFar.nextCursor ?? undefined;
      } while (cursor !== undefined && shownSoFar.items.length < keep);
      if (ticket !== generation.current) return;
      setNow(Date.now());
      setView({ ...shownSoFar, loading: false, problem: null });
    } catch (error) {
      if (ticket !== generation.current) return;
      const problem = describe(error);
      if (problem.signedOut) {
        window.location.assign("/sign-in");
        return;
      }
      setView({ items: [], nextCursor: null, loading: false, problem });
    }
  }, [api, userId]);

  const loadMore = useCallback(async () => {
    if (view.loading || view.nextCursor === null) return;
    const ticket = generation.current;
    setView((current) => ({ ...current, loading: true }));
    try {
      const page = await api.list(userId, {
        ...latestQuery.current,
        limit: PAGE_SIZE,
        cursor: view.nextCursor,
      });
      if (ticket !== generation.current) return;
      setView((current) => ({ ...current, ...withPage(current.items, page), loading: false }));
    } catch (error) {
      if (ticket !== generation.current) return;
      setView((current) => ({ ...current, loading: false }));
      fail(error);
    }
  }, [api, userId, view.loading, view.nextCursor, fail]);

  const reloadLists = useCallback(async () => {
    try {
      setLists(await allLists(api, userId));
    } catch (error) {
      fail(error);
    }
  }, [api, userId, fail]);
  useEffect(() => {
    void reloadLists();
  }, [reloadLists]);

  const reloadSettings = useCallback(async () => {
    try {
      const answer = await api.getSettings(userId);
      // An answer overtaken by a change made here meanwhile is older than what is shown.
      setSettings((current) =>
        current !== null && current.version > answer.version ? current : answer,
      );
    } catch (error) {
      fail(error);
    }
  }, [api, userId, fail]);
  useEffect(() => {
    void reloadSettings();
  }, [reloadSettings]);

  // New filters: the list from the top, and the page's address says them.
  useEffect(() => {
    void reload();
  }, [reload, query]);
  useEffect(() => {
    const address = `${window.location.pathname}${searchOf(filters)}`;
    if (address !== `${window.location.pathname}${window.location.search}`) {
      window.history.replaceState(null, "", address);
    }
  }, [filters]);

  const onRemoteChanges = useCallback(
    ({ items, deleted, lists: listsChanged }: RemoteChanges) => {
      const inView = new Map(view.items.map((task) => [task.id, task.version]));
      const news =
        (items.length === 0 && deleted.length === 0) ||
        items.some((task) => inView.get(task.id) !== task.version) ||
        deleted.some((id) => inView.has(id));
      if (news) {
        void reload();
        // The changes do not carry settings; a zone changed elsewhere moves tasks, which they do.
        void reloadSettings();
      }
      if (listsChanged) void reloadLists();
    },
    [view.items, reload, reloadLists, reloadSettings],
  );
  const sync = useDeltaSync(api, userId, onRemoteChanges, fail);

  const checkReminders = useDueReminders(
    api,
    userId,
    (items) => {
      setFired((current) => [...current, ...items]);
      // The tasks' next reminders are now later ones.
      setNow(Date.now());
      showOnDesktop(items, settings?.time_zone ?? "UTC");
    },
    fail,
  );

  const live = useLiveEvents(api, userId, {
    onEvent: (event) => {
      switch (event.event) {
        // `ready` starts a stream (a first sync, or the catch-up after a reconnect), `changed`
        // says something changed, `resync` that what was missed cannot be told: the delta sync
        // from this tab's own token answers all three.
        case "ready":
        case "changed":
        case "resync":
          sync(event.data.sync_token);
          break;
        case "reminder":
          checkReminders(event.data.until);
          break;
        case "closing":
          // The stream reconnects by itself, to another instance.
          break;
      }
    },
    onReopen: () => checkReminders(),
    onError: fail,
  });
  useShareLiveState(live);

  const replace = (task: Task) =>
    setView((current) => ({
      ...current,
      items: current.items.map((item) => (item.id === task.id ? task : item)),
    }));

  async function create(input: TaskInput): Promise<boolean> {
    try {
      const listId = filters.listId ?? undefined;
      const task = await api.create(
        userId,
        { ...input, ...(listId !== undefined && { list_id: listId }) },
        crypto.randomUUID(),
      );
      setNotice({ text: `Added “${task.title}”.` });
      setAlert(null);
      // Not awaited: the form empties as soon as the task exists. The live events reload the
      // list too and may show the task first; emptied after this reload, the form would lose
      // what the user typed next.
      void reload();
      return true;
    } catch (error) {
      fail(error);
      return false;
    }
  }

  async function addSubtask(parent: Task, title: string): Promise<boolean> {
    try {
      const task = await api.create(userId, { title, parent_id: parent.id }, crypto.randomUUID());
      setNotice({ text: `Added “${task.title}” under “${parent.title}”.` });
      setAlert(null);
      // As for create: the form empties now.
      void reload();
      return true;
    } catch (error) {
      fail(error);
      return false;
    }
  }

  /**
   * One request for the selected tasks; what was refused is told, the rest is done. `undoOf`
   * says, from the answer's results (one per operation), the operations that take the change
   * back, and `undone` what the notice says once they did.
   */
  async function bulk(
    done: string,
    operations: TaskBatchOperation[],
    undoOf: (results: TaskBatchOperationResult[]) => TaskBatchOperation[],
    undone: (tasks: Task[]) => string = backAsTheyWere,
    goneIsDone = false,
  ) {
    try {
      const answer = await api.batch(userId, operations);
      const refused = answer.results.filter(
        (result) => result.status >= 400 && !(goneIsDone && result.status === 404),
      );
      const applied = operations.length - refused.length;
      const undo = undoOf(answer.results);
      setNotice({
        text: `${done} ${countOf(applied)}.`,
        action:
          undo.length === 0 ? undefined : { label: "Undo", run: () => void undoBatch(undo, undone) },
      });
      setAlert(refusalOf(refused, "of the selected tasks could not be changed"));
      setSelected(new Set());
      await reload();
    } catch (error) {
      fail(error);
    }
  }

  /** One batch of undos: what it took back is told, and what it could not (412 included). */
  async function undoBatch(operations: TaskBatchOperation[], undone: (tasks: Task[]) => string) {
    setNotice({ text: "Undoing…" });
    try {
      const answer = await api.batch(userId, operations);
      const back = answer.results.flatMap((result) => (result.task ? [result.task] : []));
      setNotice(back.length === 0 ? NO_NOTICE : { text: undone(back) });
      setAlert(
        refusalOf(
          answer.results.filter((result) => result.status >= 400),
          "of the tasks could not be put back",
        ),
      );
    } catch (error) {
      setNotice(NO_NOTICE);
      fail(error);
    }
    await reload();
  }

  const selectedTasks = view.items.filter((task) => selected.has(task.id));
  const bulkActions: BulkActions = {
    onComplete: (completed) => {
      const tasks = inCompletionOrder(view.items, selectedTasks, completed);
      void bulk(
        completed ? "Completed" : "Reopened",
        tasks.map((task) => ({ op: "complete", task_id: task.id, completed })),
        (results) =>
          results
            .flatMap((result, index) => {
              const before = tasks[index];
              const undo = before && result.task && undoCompletion(before, result.task);
              return undo ? [undo] : [];
            })
            .reverse(),
      );
    },
    onMoveToList: (listId) => {
      const where = lists.find((list) => list.id === listId)?.name ?? "the list";
      const moves = selectedTasks.map((task) => ({ taskId: task.id, move: { place: {}, listId } }));
      const inverses = inverseMoves(view.items, moves);
      void bulk(
        `Moved to ${where}:`,
        moves.map(({ taskId }) => ({ op: "move", task_id: taskId, body: { list_id: listId } })),
        (results) =>
          results
            .flatMap((result, index): TaskBatchOperation[] => {
              const { task } = result;
              const back = inverses[index];
              if (task === undefined || back === undefined) return [];
              return [{ op: "move", task_id: task.id, if_match: entityTag(task), body: bodyOf(back) }];
            })
            .reverse(),
      );
    },
    onDelete: () => {
      const tasks = selectedTasks;
      void bulk(
        "Deleted",
        tasks.map((task) => ({ op: "delete", task_id: task.id })),
        // A subtask deleted with its parent (404 here) comes back with it; the last deleted
        // comes back first, so that a subtask deleted before its parent finds it there.
        (results) =>
          tasks
            .filter((_, index) => results[index]?.status === 204)
            .map((task): TaskBatchOperation => ({
              op: "restore",
              task_id: task.id,
              if_match: entityTag(task),
            }))
            .reverse(),
        (back) =>
          back.length === 1 ? `Restored “${back[0]?.title}”.` : `Restored ${countOf(back.length)}.`,
        true,
      );
    },
    onClear: () => setSelected(new Set()),
  };

  function select(task: Task, on: boolean) {
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(task.id);
      else next.delete(task.id);
      return next;
    });
  }

  async function toggle(task: Task) {
    // The box shows the new state at once; a refusal puts it back.
    replace({ ...task, completed: !task.completed });
    try {
      const occurrence = task.recurrence && !task.completed ? entityTag(task) : undefined;
      const changed = await api.setCompleted(userId, task.id, !task.completed, occurrence);
      replace(changed);
      setNotice({
        text: changed.completed ? `Completed “${task.title}”.` : `Reopened “${task.title}”.`,
        action: undoWriting(changed, changed.version !== task.version),
      });
      void reload();
    } catch (error) {
      replace(task);
      fail(error);
    }
  }

  async function remove(task: Task) {
    let undo: NoticeAction | undefined;
    try {
      await api.delete(userId, task.id);
      undo = { label: "Undo", run: () => void restoreTask(task) };
    } catch (error) {
      // Already gone (deleted in another tab) is what the user asked for, and not this tab's
      // deletion to take back.
      if (describe(error).status !== 404) {
        fail(error);
        return;
      }
    }
    setView((current) => ({ ...current, items: current.items.filter((item) => item.id !== task.id) }));
    setNotice({ text: `Deleted “${task.title}”.`, action: undo });
    // Its subtasks went with it.
    void reload();
  }

  /** A task deleted here back from the trash, only if it is still the version deleted. */
  async function restoreTask(task: Task) {
    setNotice({ text: "Restoring…" });
    try {
      const restored = await api.restoreTask(userId, task.id, entityTag(task));
      setNotice({ text: `Restored “${restored.title}”.` });
      setAlert(null);
    } catch (error) {
      setNotice(NO_NOTICE);
      failUndo(error, task);
    }
    await reload();
  }

  /**
   * The Undo of a write that left `task` at its version: the version before it made current
   * again, only if the task is still at this one. None when the request wrote nothing.
   */
  function undoWriting(task: Task, written: boolean): NoticeAction | undefined {
    return written ? { label: "Undo", run: () => void restoreVersionBefore(task) } : undefined;
  }

  async function restoreVersionBefore(task: Task) {
    setNotice({ text: "Undoing…" });
    try {
      const restored = await api.restoreVersion(userId, task.id, task.version - 1, entityTag(task));
      replace(restored);
      setNotice({ text: `Undone: “${restored.title}” is back as it was.` });
      setAlert(null);
    } catch (error) {
      setNotice(NO_NOTICE);
      failUndo(error, task);
    }
    await reload();
  }

  /** An undo refused because the task changed elsewhere since (412) says so; nothing was written. */
  function failUndo(error: unknown, task: Task) {
    if (describe(error).status !== 412) {
      fail(error);
      return;
    }
    setAlert({
      title: "Changed elsewhere",
      message:
        `“${task.title}” was changed in another tab or device since, so it was not undone. ` +
        "The list shows it as it is now.",
      status: 412,
    });
  }

  async function moveTask(taskId: number, place: TaskPlace, listId?: number) {
    // Where it stands now, from what the list shows: the inverse move puts it back there.
    const [back] = inverseMoves(view.items, [{ taskId, move: { place, listId } }]);
    try {
      const moved = await api.moveTask(userId, taskId, place, listId);
      const where = lists.find((list) => list.id === moved.list_id)?.name ?? "its list";
      setNotice({
        text: listId === undefined ? `Moved “${moved.title}”.` : `Moved “${moved.title}” to ${where}.`,
        action: back && { label: "Undo", run: () => void moveBack(moved, back) },
      });
      await reload();
    } catch (error) {
      fail(error);
    }
  }

  /** A move taken back, only if the task is still as the move left it. */
  async function moveBack(moved: Task, back: Move) {
    setNotice({ text: "Undoing…" });
    try {
      const task = await api.moveTask(userId, moved.id, back.place, back.listId, entityTag(moved));
      setNotice({ text: `Undone: “${task.title}” is back where it was.` });
      setAlert(null);
    } catch (error) {
      setNotice(NO_NOTICE);
      failUndo(error, moved);
    }
    await reload();
  }

  const listActions: ListActions = {
    onSelect: (listId) => setFilters((current) => ({ ...current, listId })),
    onCreate: async (name) => {
      try {
        const list = await api.createList(userId, name, crypto.randomUUID());
        setNotice({ text: `Added the list “${list.name}”.` });
        await reloadLists();
        return true;
      } catch (error) {
        fail(error);
        return false;
      }
    },
    onRename: async (list, name) => {
      try {
        const renamed = await api.renameList(userId, list.id, name);
        setNotice({ text: `Renamed the list to “${renamed.name}”.` });
        await reloadLists();
        return true;
      } catch (error) {
        fail(error);
        return false;
      }
    },
    onDelete: (list, tasks) => void deleteList(list, tasks),
    onMove: (list, place) => void moveList(list, place),
    onDropTask: (taskId, listId) => void moveTask(taskId, {}, listId),
  };

  /** The tasks due on a date alone or at a floating time move with the zone: they are read anew. */
  async function changeTimeZone(timeZone: string) {
    try {
      setSettings(await api.updateSettings(userId, timeZone));
      setNotice({ text: `Time zone: ${timeZone}.` });
      setAlert(null);
      await reload();
    } catch (error) {
      fail(error);
    }
  }

  async function deleteList(list: TodoList, tasks: TasksOfDeletedList) {
    try {
      await api.deleteList(userId, list.id, tasks);
      setNotice({
        text:
          tasks === "delete"
            ? `Deleted the list “${list.name}” and its tasks.`
            : `Deleted the list “${list.name}”; its tasks are in the Inbox.`,
        action: { label: "Undo", run: () => void restoreList(list, tasks) },
      });
      setFilters((current) => ({ ...current, listId: null }));
      await reloadLists();
    } catch (error) {
      fail(error);
    }
  }

  /** The list back from the trash, only if it is still the version deleted here, and shown. */
  async function restoreList(list: TodoList, tasks: TasksOfDeletedList) {
    setNotice({ text: "Restoring…" });
    try {
      const restored = await api.restoreList(userId, list.id, entityTag(list));
      setNotice({
        text:
          tasks === "delete"
            ? `Restored the list “${restored.name}” and its tasks.`
            : `Restored the list “${restored.name}”; its tasks stay in the Inbox.`,
      });
      setAlert(null);
      setFilters((current) => ({ ...current, listId: restored.id }));
      await reloadLists();
    } catch (error) {
      setNotice(NO_NOTICE);
      fail(error);
    }
  }

  async function moveList(list: TodoList, place: Place) {
    try {
      await api.moveList(userId, list.id, place);
      setNotice({ text: `Moved the list “${list.name}”.` });
      await reloadLists();
    } catch (error) {
      fail(error);
    }
  }

  const tree = useMemo(() => treeOf(view.items), [view.items]);
  const showsTree = filters.sort === "manual" && filters.listId !== null;
  const shownItems = showsTree ? tree.map((node) => node.task) : view.items;

  /** Up and down among its siblings, in and out of a parent, when one list is in its order. */
  function reorderingOf(index: number): Reordering | null {
    const node = tree[index];
    if (!showsTree || node === undefined) return null;
    const { task, depth, previous, next } = node;
    const parent = task.parent_id ?? null;
    return {
      depth,
      up: previous ? { before_id: previous.id } : null,
      down: next ? { after_id: next.id } : null,
      indent: previous && depth < MAX_DEPTH - 1 ? { parent_id: previous.id } : null,
      outdent: parent === null ? null : { parent_id: parentOf(view.items, parent), after_id: parent },
      onMove: (taskId, place) => void moveTask(taskId, place),
    };
  }

  function saved(task: Task, written: boolean) {
    setEditing(null);
    replace(task);
    setNotice({ text: `Saved “${task.title}”.`, action: undoWriting(task, written) });
    void reload();
  }

  function restoredVersion(task: Task, version: number, written: boolean) {
    setEditing(null);
    replace(task);
    setNotice({
      text: `Restored version ${version} of “${task.title}”.`,
      action: undoWriting(task, written),
    });
    setAlert(null);
    void reload();
  }

  if (view.problem !== null) {
    return (
      <ProblemPage
        problem={view.problem}
        onRetry={() => {
          void reload();
          void reloadSettings();
        }}
      />
    );
  }

  const timeZone = settings?.time_zone ?? null;
  const loading = view.loading || timeZone === null;
  return (
    <div className="board">
      <div className="board-side">
        <ListSidebar
          lists={lists}
          selected={filters.listId}
          actions={listActions}
          activityHref={`/users/${encodeURIComponent(userId)}/activity`}
          trashHref={`/users/${encodeURIComponent(userId)}/trash`}
        />
        {timeZone !== null && <TimeZoneControl timeZone={timeZone} onChange={changeTimeZone} />}
        <DesktopNotificationsButton />
      </div>
      <div className="board-main">
      <NewTaskForm onCreate={create} />
      <TaskFilters filters={filters} onChange={setFilters} />
      {alert && <ProblemAlert problem={alert} onDismiss={() => setAlert(null)} />}
      <NoticeBar notice={notice} onExpire={() => setNotice(NO_NOTICE)} />
      {view.items.length > 0 && (
        <label className="select-all">
          <input
            type="checkbox"
            checked={selectedTasks.length === view.items.length}
            onChange={(event) =>
              setSelected(new Set(event.target.checked ? view.items.map((task) => task.id) : []))
            }
          />
          Select all shown
        </label>
      )}
      {selectedTasks.length > 0 && (
        <BulkBar count={selectedTasks.length} lists={lists} actions={bulkActions} />
      )}
      {view.items.length === 0 && !loading ? (
        <p className="empty">{isFiltered(filters) ? "No task matches." : "No tasks yet."}</p>
      ) : (
        <ul className="tasks" aria-label="Tasks" aria-busy={loading}>
          {timeZone !== null &&
            shownItems.map((task, index) => (
              <TaskItem
                key={task.id}
                task={task}
                now={now}
                timeZone={timeZone}
                lists={lists}
                reordering={reorderingOf(index)}
                selected={selected.has(task.id)}
                onSelect={select}
                onToggle={(item) => void toggle(item)}
                onEdit={setEditing}
                onDelete={(item) => void remove(item)}
                onMoveToList={(item, listId) => void moveTask(item.id, {}, listId)}
                onAddSubtask={addSubtask}
              />
            ))}
        </ul>
      )}
      {timeZone !== null && (
        <FiredReminders
          items={fired}
          timeZone={timeZone}
          onDismiss={(item) =>
            setFired((current) => current.filter((shown) => firedKeyOf(shown) !== firedKeyOf(item)))
          }
        />
      )}
      <MorePages
        loading={loading}
        hasMore={view.nextCursor !== null}
        onLoadMore={() => void loadMore()}
      />
      {editing && timeZone !== null && (
        <TaskEditor
          key={editing.id}
          api={api}
          userId={userId}
          timeZone={timeZone}
          base={editing}
          onSaved={saved}
          onRestored={restoredVersion}
          onClose={() => setEditing(null)}
        />
      )}
      </div>
    </div>
  );
}

interface TreeNode {
  task: Task;
  depth: number;
  /** Its siblings before and after it. */
  previous: Task | undefined;
  next: Task | undefined;
}

/**
 * The tasks as a tree, depth first: each task followed by its subtasks, siblings in the order
 * given (the API's, by position). A task whose parent is not among them stands at the top.
 */
function treeOf(items: Task[]): TreeNode[] {
  const shown = new Set(items.map((task) => task.id));
  const children = new Map<number | null, Task[]>();
  for (const task of items) {
    const parent = task.parent_id !== null && shown.has(task.parent_id) ? task.parent_id : null;
    children.set(parent, [...(children.get(parent) ?? []), task]);
  }
  const nodes: TreeNode[] = [];
  const walk = (parent: number | null, depth: number) => {
    const siblings = children.get(parent) ?? [];
    siblings.forEach((task, index) => {
      nodes.push({ task, depth, previous: siblings[index - 1], next: siblings[index + 1] });
      walk(task.id, depth + 1);
    });
  };
  walk(null, 0);
  return nodes;
}

function parentOf(items: Task[], taskId: number): number | null {
  return items.find((task) => task.id === taskId)?.parent_id ?? null;
}

/** Every list of the user, page by page, in the user's order. */
async function allLists(api: TaskApi, userId: string): Promise<TodoList[]> {
  const lists: TodoList[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.lists(userId, cursor);
    lists.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return lists;
}

/** Loads the next page when it scrolls into view, or when its button is pressed. */
function MorePages({
  loading,
  hasMore,
  onLoadMore,
}: {
  loading: boolean;
  hasMore: boolean;
  onLoadMore: () => void;
}) {
  const sentinel = useRef<HTMLDivElement>(null);
  const load = useRef(onLoadMore);
  load.current = onLoadMore;

  useEffect(() => {
    const element = sentinel.current;
    // Not while loading: with no tasks shown yet, the sentinel is in view at once.
    if (element === null || !hasMore || loading) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) load.current();
      },
      { rootMargin: "200px" },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [hasMore, loading]);

  return (
    <div ref={sentinel} className="more">
      {loading ? (
        <p role="status">Loading…</p>
      ) : (
        hasMore && (
          <button type="button" onClick={onLoadMore}>
            Show more tasks
          </button>
        )
      )}
    </div>
  );
}

/**
 * The list with a page added, each task once. A page that adds nothing ends the list, so that a
 * server whose cursor does not move on (the mock's examples) is not asked again and again.
 */
function withPage(items: Task[], page: TaskList): Pick<View, "items" | "nextCursor"> {
  const known = new Set(items.map((task) => task.id));
  const added = page.items.filter((task) => !known.has(task.id));
  return { items: [...items, ...added], nextCursor: added.length === 0 ? null : page.next_cursor };
}

function countOf(tasks: number): string {
  return tasks === 1 ? "1 task" : `${tasks} tasks`;
}

function backAsTheyWere(tasks: Task[]): string {
  return `Undone: ${countOf(tasks.length)} back as ${tasks.length === 1 ? "it was" : "they were"}.`;
}

/** A batch's move operation's body: the place, and the list when it names one. */
function bodyOf({ place, listId }: Move): TaskPlace & { list_id?: number } {
  return listId === undefined ? place : { ...place, list_id: listId };
}

/**
 * What a batch could not do, said in one alert: a task changed elsewhere meanwhile (412) was
 * left as it is now; null when every operation was done.
 */
function refusalOf(refused: TaskBatchOperationResult[], what: string): Problem | null {
  if (refused.length === 0) return null;
  const changedElsewhere = refused.some((result) => result.status === 412);
  return {
    title: changedElsewhere ? "Changed elsewhere" : "Some tasks were not changed",
    message: `${refused.length} ${what} (${refused
      .map((result) => result.error?.message ?? result.status)
      .join(" ")}). The list shows them as they are now.`,
  };
}

function isFiltered(filters: Filters): boolean {
  return JSON.stringify(filters) !== JSON.stringify(DEFAULT_FILTERS);
}
