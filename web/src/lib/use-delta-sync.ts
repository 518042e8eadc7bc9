"use client";

import { useCallback, useEffect, useRef } from "react";

import { ApiError, type Task, type TaskApi } from "./task-api";

/** How soon a sync that failed is tried again, unless an event asks for one first. */
export const SYNC_RETRY_MS = 10_000;

export interface RemoteChanges {
  items: Task[];
  deleted: number[];
  /** Whether any list was made, changed or deleted. */
  lists: boolean;
}

/**
 * Keeps this tab in step with the user's other tabs and devices through the API's delta sync
 * (`/tasks/changes`), run each time the returned `sync` is called: when the live events say
 * something changed (use-live-events.ts), with the event's sync token, and again SYNC_RETRY_MS
 * after one that failed. The sync token is kept per tab (sessionStorage), so a reload resumes.
 *
 * A tab without a token yet takes the event's: it sees everything up to the event, so the view
 * is loaded once more after it (what changed since the view's first load is then shown), and
 * every later change is announced. That costs one page, where a first sync reads every task.
 */
export function useDeltaSync(
  api: TaskApi,
  userId: string,
  onChanges: (changes: RemoteChanges) => void,
  onError: (error: unknown) => void,
): (eventToken?: string) => void {
  const handlers = useRef({ onChanges, onError });
  handlers.current = { onChanges, onError };
  const syncNow = useRef<(eventToken?: string) => void>(() => {});

  useEffect(() => {
    const storageKey = `taskapi.sync-token.${userId}`;
    let running: Promise<void> | undefined;
    let retry: number | undefined;
    let stopped = false;
    let again = false;
    // The newest event's token, until a tab without one of its own has taken it.
    let offered: string | undefined;

    async function pull(): Promise<void> {
      const since = sessionStorage.getItem(storageKey) ?? undefined;
      if (since === undefined && offered !== undefined) {
        sessionStorage.setItem(storageKey, offered);
        offered = undefined;
        handlers.current.onChanges({ items: [], deleted: [], lists: true });
        return;
      }
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
            retry = window.setTimeout(sync, SYNC_RETRY_MS);
            return;
          }
        }
      }
    }

    function sync(eventToken?: string): void {
      offered = eventToken ?? offered;
      window.clearTimeout(retry);
      again = true;
      running ??= pullUntilCurrent().finally(() => {
        running = undefined;
      });
    }

    syncNow.current = sync;
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      syncNow.current = () => {};
    };
  }, [api, userId]);

  return useCallback((eventToken?: string) => syncNow.current(eventToken), []);
}
