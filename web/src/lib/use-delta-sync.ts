"use client";

import { useEffect, useRef } from "react";

import { ApiError, type Task, type TaskApi } from "./task-api";

/** How often an open tab asks what changed, besides when it regains focus. */
export const SYNC_INTERVAL_MS = 10_000;

export interface RemoteChanges {
  items: Task[];
  deleted: number[];
  /** Whether any list was made, changed or deleted. */
  lists: boolean;
}

/**
 * Keeps this tab in step with the user's other tabs and devices through the API's delta sync
 * (`/tasks/changes`): on focus, when the page becomes visible, when the network comes back, and
 * every SYNC_INTERVAL_MS. The sync token is kept per tab (sessionStorage), so a reload resumes.
 */
export function useDeltaSync(
  api: TaskApi,
  userId: string,
  onChanges: (changes: RemoteChanges) => void,
  onError: (error: unknown) => void,
): void {
  const handlers = useRef({ onChanges, onError });
  handlers.current = { onChanges, onError };

  useEffect(() => {
    const storageKey = `taskapi.sync-token.${userId}`;
    let running: Promise<void> | undefined;
    let stopped = false;
    let again = false;

    async function pull(): Promise<void> {
      const since = sessionStorage.getItem(storageKey) ?? undefined;
      const changes: RemoteChanges = { items: [], deleted: [], lists: false };
      let cursor: string | undefined;
      let token: string | null = null;
      do {
        const page = await api.changes(userId, since, cursor);
        changes.items.push(...page.items);
        changes.deleted.push(...page.deleted);
        changes.lists ||= page.lists.length > 0 || page.deleted_lists.length > 0;
        cursor = page.next_cursor ?? undefined;
        token = page.sync_token;
      } while (cursor !== undefined && !stopped);
      if (stopped || token === null) {
        return;
      }
      sessionStorage.setItem(storageKey, token);
      // The first sync (no token yet) lists every task: the view already shows them.
      const news = changes.items.length > 0 || changes.deleted.length > 0 || changes.lists;
      if (since !== undefined && news) {
        handlers.current.onChanges(changes);
      }
    }

    async function pullUntilCurrent(): Promise<void> {
      // A sync asked for while one runs may be about a write the running one cannot see yet.
      while (again && !stopped) {
        again = false;
        try {
          await pull();
        } catch (error) {
          if (error instanceof ApiError && error.code === "sync_token_expired") {
            // Too old to resume: start again from a full sync, and refresh the view.
            sessionStorage.removeItem(storageKey);
            handlers.current.onChanges({ items: [], deleted: [], lists: true });
            again = true;
          } else if (!stopped) {
            handlers.current.onError(error);
            return;
          }
        }
      }
    }

    function sync(): void {
      again = true;
      running ??= pullUntilCurrent().finally(() => {
        running = undefined;
      });
    }

    function syncWhenVisible(): void {
      if (document.visibilityState === "visible") sync();
    }

    sync();
    const interval = window.setInterval(syncWhenVisible, SYNC_INTERVAL_MS);
    window.addEventListener("focus", sync);
    window.addEventListener("online", sync);
    document.addEventListener("visibilitychange", syncWhenVisible);
    return () => {
      stopped = true;
      window.clearInterval(interval);
      window.removeEventListener("focus", sync);
      window.removeEventListener("online", sync);
      document.removeEventListener("visibilitychange", syncWhenVisible);
    };
  }, [api, userId]);
}
