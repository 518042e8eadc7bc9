"use client";

import Link from "next/link";
import { useCallback, useEffect, useState } from "react";

import { CHANGE_LABELS, changedFieldsOf, timeAgo } from "@/lib/history";
import { describe, type Problem } from "@/lib/problems";
import type { TaskVersion } from "@/lib/task-api";
import { formatInstant } from "@/lib/task-form";

import { useTaskApi } from "./api-context";
import { ProblemAlert, ProblemPage } from "./problem-page";

interface Shown {
  items: TaskVersion[];
  nextCursor: string | null;
  loading: boolean;
  /** Set when the activity itself cannot be shown (403, the API down): a page of its own. */
  problem: Problem | null;
}

/** What changed in the user's tasks, newest first, a page at a time: what, to which task, when. */
export function ActivityView({ userId }: { userId: string }) {
  const api = useTaskApi();
  const [shown, setShown] = useState<Shown>({
    items: [],
    nextCursor: null,
    loading: true,
    problem: null,
  });
  // Until it arrives, no date can be shown: the items wait for it.
  const [timeZone, setTimeZone] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [alert, setAlert] = useState<Problem | null>(null);

  const fail = useCallback((error: unknown) => {
    const problem = describe(error);
    if (problem.signedOut) {
      window.location.assign("/sign-in");
      return;
    }
    setAlert(problem);
  }, []);

  /** The activity from its newest change. */
  const load = useCallback(async () => {
    setShown((current) => ({ ...current, loading: true }));
    try {
      const page = await api.activity(userId);
      setNow(Date.now());
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
      const page = await api.activity(userId, cursor);
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

  if (shown.problem !== null) {
    return <ProblemPage problem={shown.problem} onRetry={() => void load()} />;
  }

  const loading = shown.loading || timeZone === null;
  const { nextCursor } = shown;
  return (
    <div className="activity">
      <p>
        <Link href={`/users/${encodeURIComponent(userId)}/tasks`}>← Back to tasks</Link>
      </p>
      {alert && <ProblemAlert problem={alert} onDismiss={() => setAlert(null)} />}
      {shown.items.length === 0 && !loading ? (
        <p className="empty">Nothing has changed lately.</p>
      ) : (
        <ol className="tasks" aria-label="Activity" aria-busy={loading}>
          {timeZone !== null &&
            shown.items.map((entry) => {
              const fields = changedFieldsOf(entry);
              return (
                <li
                  key={`${entry.task.id} ${entry.version} ${entry.change}`}
                  className="change"
                  data-change={entry.change}
                  data-task-id={entry.task.id}
                >
                  <span className="change-text">
                    {CHANGE_LABELS[entry.change]} “{entry.task.title}”
                    {fields !== "" && ` (${fields})`}
                  </span>
                  {" · "}
                  <time
                    dateTime={entry.recorded_at}
                    title={formatInstant(entry.recorded_at, timeZone)}
                  >
                    {timeAgo(entry.recorded_at, now, timeZone)}
                  </time>
                </li>
              );
            })}
        </ol>
      )}
      <div className="more">
        {loading ? (
          <p role="status">Loading…</p>
        ) : (
          nextCursor !== null && (
            <button type="button" onClick={() => void loadMore(nextCursor)}>
              Load more
            </button>
          )
        )}
      </div>
    </div>
  );
}
