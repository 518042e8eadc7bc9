"use client";

import Link from "next/link";
import { useCallback, useEffect, useState } from "react";

import { describe, type Problem } from "@/lib/problems";
import { formatInstant } from "@/lib/task-form";
import { entityTag, type TrashItem } from "@/lib/task-api";

import { useTaskApi } from "./api-context";
import { NO_NOTICE, NoticeBar, type Notice } from "./notice";
import { ProblemAlert, ProblemPage } from "./problem-page";

interface Shown {
  items: TrashItem[];
  nextCursor: string | null;
  loading: boolean;
  /** Set when the trash itself cannot be shown (403, the API down): a page of its own. */
  problem: Problem | null;
}

/**
 * What the user deleted, newest first: each item restored (it shows in the task list again) or
 * removed for good, or the whole trash emptied. Restoring and removing name the version the
 * item was deleted at, so that one deleted anew elsewhere meanwhile is not taken for it.
 */
export function TrashView({ userId }: { userId: string }) {
  const api = useTaskApi();
  const [shown, setShown] = useState<Shown>({
    items: [],
    nextCursor: null,
    loading: true,
    problem: null,
  });
  // Until it arrives, no date can be shown: the items wait for it.
  const [timeZone, setTimeZone] = useState<string | null>(null);
  const [alert, setAlert] = useState<Problem | null>(null);
  const [notice, setNotice] = useState<Notice>(NO_NOTICE);
  const [confirmingEmpty, setConfirmingEmpty] = useState(false);

  const fail = useCallback((error: unknown) => {
    const problem = describe(error);
    if (problem.signedOut) {
      window.location.assign("/sign-in");
      return;
    }
    setAlert(problem);
  }, []);

  /** The trash from its newest item. */
  const load = useCallback(async () => {
    setShown((current) => ({ ...current, loading: true }));
    try {
      const page = await api.trash(userId);
      setShown({ items: page.items, nextCursor: page.next_cursor, loading: false, problem: null });
    } catch (error) {
      const problem = describe(error);
      if (problem.signedOut) {
        window.location.assign("/sign-in");
        return;
      }
      setShown({ items: [], nextCursor: null, loading: false, problem });
    }
  }, [api, userId]);
  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    api.getSettings(userId).then((settings) => setTimeZone(settings.time_zone), fail);
  }, [api, userId, fail]);

  async function loadMore(cursor: string) {
    setShown((current) => ({ ...current, loading: true }));
    try {
      const page = await api.trash(userId, cursor);
      setShown((current) => ({
        ...current,
        items: [...current.items, ...page.items],
        nextCursor: page.next_cursor,
        loading: false,
      }));
    } catch (error) {
      setShown((current) => ({ ...current, loading: false }));
      fail(error);
    }
  }

  const drop = (item: TrashItem) =>
    setShown((current) => ({
      ...current,
      items: current.items.filter((other) => other.kind !== item.kind || other.id !== item.id),
    }));

  async function restore(item: TrashItem) {
    try {
      if (item.kind === "task") await api.restoreTask(userId, item.id, entityTag(item));
      else await api.restoreList(userId, item.id, entityTag(item));
      drop(item);
      setNotice({ text: `Restored “${nameOf(item)}”.` });
      setAlert(null);
    } catch (error) {
      fail(error);
      // Restored, removed or deleted anew elsewhere meanwhile: the trash as it is now.
      void load();
    }
  }

  async function deleteForever(item: TrashItem) {
    try {
      await api.deleteForever(userId, item.kind, item.id, entityTag(item));
    } catch (error) {
      // Already gone (removed in another tab) is what the user asked for.
      if (describe(error).status !== 404) {
        fail(error);
        void load();
        return;
      }
    }
    drop(item);
    setNotice({ text: `Deleted “${nameOf(item)}” for good.` });
    setAlert(null);
  }

  async function emptyTrash() {
    setConfirmingEmpty(false);
    try {
      await api.emptyTrash(userId);
      setShown({ items: [], nextCursor: null, loading: false, problem: null });
      setNotice({ text: "Emptied the trash." });
      setAlert(null);
    } catch (error) {
      fail(error);
    }
  }

  if (shown.problem !== null) {
    return <ProblemPage problem={shown.problem} onRetry={() => void load()} />;
  }

  const loading = shown.loading || timeZone === null;
  const { nextCursor } = shown;
  return (
    <div className="trash">
      <p>
        <Link href={`/users/${encodeURIComponent(userId)}/tasks`}>← Back to tasks</Link>
      </p>
      <p className="trash-intro">
        Deleted tasks and lists wait here until the date shown, and come back as they were when
        restored.
      </p>
      {alert && <ProblemAlert problem={alert} onDismiss={() => setAlert(null)} />}
      <NoticeBar notice={notice} onExpire={() => setNotice(NO_NOTICE)} />
      {shown.items.length > 0 &&
        (confirmingEmpty ? (
          <div className="confirm" role="group" aria-label="Empty the trash?">
            <button type="button" className="danger" autoFocus onClick={() => void emptyTrash()}>
              Delete everything in the trash for good
            </button>
            <button type="button" onClick={() => setConfirmingEmpty(false)}>
              Keep
            </button>
          </div>
        ) : (
          <div className="trash-empty">
            <button type="button" onClick={() => setConfirmingEmpty(true)}>
              Empty trash
            </button>
          </div>
        ))}
      {shown.items.length === 0 && !loading ? (
        <p className="empty">The trash is empty.</p>
      ) : (
        <ul className="tasks" aria-label="Trash" aria-busy={loading}>
          {timeZone !== null &&
            shown.items.map((item) => (
              <TrashRow
                key={`${item.kind} ${item.id}`}
                item={item}
                timeZone={timeZone}
                onRestore={(restored) => void restore(restored)}
                onDeleteForever={(removed) => void deleteForever(removed)}
              />
            ))}
        </ul>
      )}
      <div className="more">
        {loading ? (
          <p role="status">Loading…</p>
        ) : (
          nextCursor !== null && (
            <button type="button" onClick={() => void loadMore(nextCursor)}>
              Show more
            </button>
          )
        )}
      </div>
    </div>
  );
}

function TrashRow({
  item,
  timeZone,
  onRestore,
  onDeleteForever,
}: {
  item: TrashItem;
  /** The user's, from their settings: the zone dates and times are shown in. */
  timeZone: string;
  onRestore: (item: TrashItem) => void;
  onDeleteForever: (item: TrashItem) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const name = nameOf(item);
  const back = comesBackWith(item);
  return (
    <li className="task" data-kind={item.kind} data-item-id={item.id}>
      <div className="task-body">
        <span className="trash-name">{name}</span>{" "}
        <span className="trash-kind">{item.kind === "list" ? "List" : "Task"}</span>
        <p className="task-meta">
          <span>
            Deleted <time dateTime={item.trashed_at}>{formatInstant(item.trashed_at, timeZone)}</time>
          </span>
          {back !== null && <span>{back}</span>}
          <span>
            Kept until <time dateTime={item.purge_at}>{formatInstant(item.purge_at, timeZone)}</time>
          </span>
        </p>
      </div>
      <div className="task-actions">
        {confirming ? (
          <>
            <button type="button" className="danger" autoFocus onClick={() => onDeleteForever(item)}>
              Delete forever
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <>
            <button type="button" aria-label={`Restore: ${name}`} onClick={() => onRestore(item)}>
              Restore
            </button>
            <button
              type="button"
              aria-label={`Delete forever: ${name}`}
              onClick={() => setConfirming(true)}
            >
              Delete forever
            </button>
          </>
        )}
      </div>
    </li>
  );
}

function nameOf(item: TrashItem): string {
  return item.task?.title ?? item.list?.name ?? `${item.kind === "list" ? "List" : "Task"} ${item.id}`;
}

/** What is restored with the item besides itself: a list's tasks, a task's subtasks if any. */
function comesBackWith({ kind, task_count: count }: TrashItem): string | null {
  if (kind === "list") {
    return `With ${count === 0 ? "no tasks" : count === 1 ? "1 task" : `${count} tasks`}`;
  }
  return count === 0 ? null : `With ${count === 1 ? "1 subtask" : `${count} subtasks`}`;
}
