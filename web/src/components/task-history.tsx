"use client";

import { useCallback, useEffect, useId, useState } from "react";

import { CHANGE_LABELS, changedFieldsOf, timeAgo } from "@/lib/history";
import { describe, type Problem } from "@/lib/problems";
import { ApiError, entityTag, type Task, type TaskApi, type TaskVersion } from "@/lib/task-api";
import { formatInstant } from "@/lib/task-form";

interface Shown {
  items: TaskVersion[];
  nextCursor: string | null;
  loading: boolean;
  problem: Problem | null;
}

const CHANGED_ELSEWHERE: Problem = {
  title: "Changed elsewhere",
  message:
    "This task was changed in another tab or device since its history was shown; nothing was " +
    "restored. Its history is shown again as it is now.",
  status: 412,
};

/**
 * A task's versions, newest first: what made each one, the fields it changed, when, and the
 * task's title then. An earlier version is made current again (its content, not its place) only
 * if the task is still at the newest version shown (If-Match): one changed elsewhere meanwhile is
 * not overwritten, and its history is shown anew.
 */
export function TaskHistory({
  api,
  userId,
  task,
  timeZone,
  onRestored,
  onBack,
}: {
  api: TaskApi;
  userId: string;
  task: Task;
  /** The user's: to say when an older version was made. */
  timeZone: string;
  /** `written` is false when the task already had that version's content. */
  onRestored: (restored: Task, version: number, written: boolean) => void;
  onBack: () => void;
}) {
  const [shown, setShown] = useState<Shown>({
    items: [],
    nextCursor: null,
    loading: true,
    problem: null,
  });
  const [now, setNow] = useState(() => Date.now());
  const [restoring, setRestoring] = useState(false);
  const rowId = useId();

  /** The newest versions, with the problem that made them be read again, if any. */
  const load = useCallback(
    async (problem: Problem | null) => {
      setShown((current) => ({ ...current, loading: true }));
      try {
        const page = await api.taskVersions(userId, task.id);
        setNow(Date.now());
        setShown({ items: page.items, nextCursor: page.next_cursor, loading: false, problem });
      } catch (error) {
        setShown({ items: [], nextCursor: null, loading: false, problem: describe(error) });
      }
    },
    [api, userId, task.id],
  );
  useEffect(() => {
    void load(null);
  }, [load]);

  async function loadMore(cursor: string) {
    setShown((current) => ({ ...current, loading: true }));
    try {
      const page = await api.taskVersions(userId, task.id, cursor);
      setShown((current) => ({
        ...current,
        items: [...current.items, ...page.items],
        nextCursor: page.next_cursor,
        loading: false,
      }));
    } catch (error) {
      setShown((current) => ({ ...current, loading: false, problem: describe(error) }));
    }
  }

  async function restore(entry: TaskVersion, current: Task) {
    setRestoring(true);
    try {
      const restored = await api.restoreVersion(userId, task.id, entry.version, entityTag(current));
      onRestored(restored, entry.version, restored.version !== current.version);
    } catch (error) {
      setRestoring(false);
      if (error instanceof ApiError && error.status === 412) void load(CHANGED_ELSEWHERE);
      else setShown((shownNow) => ({ ...shownNow, problem: describe(error) }));
    }
  }

  const [newest] = shown.items;
  const { nextCursor, problem } = shown;
  return (
    <section className="history" aria-labelledby="editor-title">
      <h2 id="editor-title">History of “{task.title}”</h2>
      {problem && (
        <p role="alert" className="error">
          {problem.title}: {problem.message}
        </p>
      )}
      <ol className="versions" aria-label="Versions" aria-busy={shown.loading}>
        {shown.items.map((entry) => {
          const fields = changedFieldsOf(entry);
          const id = `${rowId}-${entry.version}-${entry.change}`;
          return (
            <li key={id} className="version" data-version={entry.version}>
              <p id={id} className="version-text">
                <span className="version-number">Version {entry.version}</span>{" "}
                <span className="version-change">{CHANGE_LABELS[entry.change]}</span>
                {fields !== "" && <span className="version-fields"> ({fields})</span>}{" "}
                <span className="version-title">“{entry.task.title}”</span>
                {" · "}
                <time
                  dateTime={entry.recorded_at}
                  title={formatInstant(entry.recorded_at, timeZone)}
                >
                  {timeAgo(entry.recorded_at, now, timeZone)}
                </time>
              </p>
              {entry === newest ? (
                <span className="version-current">Current</span>
              ) : (
                // A deletion holds the version before it, which has a row of its own.
                entry.change !== "deleted" &&
                newest !== undefined && (
                  <button
                    type="button"
                    aria-describedby={id}
                    disabled={restoring}
                    onClick={() => void restore(entry, newest.task)}
                  >
                    Restore this version
                  </button>
                )
              )}
            </li>
          );
        })}
      </ol>
      <div className="buttons">
        {nextCursor !== null && !shown.loading && (
          <button type="button" onClick={() => void loadMore(nextCursor)}>
            Show older versions
          </button>
        )}
        <button type="button" onClick={onBack} autoFocus>
          Back to editing
        </button>
      </div>
    </section>
  );
}
