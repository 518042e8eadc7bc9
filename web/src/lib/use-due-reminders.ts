"use client";

import { useEffect, useRef } from "react";

import type { DueReminder, TaskApi } from "./task-api";

/** How often an open tab asks which reminders have fired, besides when it regains focus. */
export const REMINDER_POLL_MS = 30_000;

/** Which reminder fired when: one of a task's reminders, at one of its fire times. */
export function firedKeyOf({ task, fires_at, reminder }: DueReminder): string {
  return `${task.id} ${fires_at} ${reminder.at} ${reminder.minutes_before}`;
}

/**
 * The notifier of an open tab: asks `/reminders` for those that fired from where its last
 * answered poll ended up to now, every REMINDER_POLL_MS (hidden or not: that is when a desktop
 * notification is wanted), and at once when the tab regains focus, becomes visible or the
 * network comes back. Where the last poll ended is kept per tab (sessionStorage), so that a
 * reload neither repeats nor misses a reminder. A failed poll moves nothing: the next one asks
 * for its window too.
 */
export function useDueReminders(
  api: TaskApi,
  userId: string,
  onFired: (items: DueReminder[]) => void,
  onError: (error: unknown) => void,
): void {
  const handlers = useRef({ onFired, onError });
  handlers.current = { onFired, onError };

  useEffect(() => {
    const storageKey = `taskapi.reminders-until.${userId}`;
    // A server that answers the same page whatever the window (the mock's examples) shows each
    // reminder once.
    const delivered = new Set<string>();
    let running: Promise<void> | undefined;
    let stopped = false;
    let again = false;

    async function poll(): Promise<void> {
      const after = sessionStorage.getItem(storageKey);
      const until = new Date().toISOString();
      // A tab opened afresh has nothing to catch up on: its first window starts now.
      if (after === null) {
        sessionStorage.setItem(storageKey, until);
        return;
      }
      // A clock set back leaves an empty window: nothing can fire in it.
      if (Date.parse(until) <= Date.parse(after)) return;
      const items: DueReminder[] = [];
      let cursor: string | undefined;
      do {
        const page = await api.dueReminders(userId, after, until, cursor);
        items.push(...page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor !== undefined && !stopped);
      if (stopped) return;
      sessionStorage.setItem(storageKey, until);
      const fresh = items.filter((item) => {
        const key = firedKeyOf(item);
        if (delivered.has(key)) return false;
        delivered.add(key);
        return true;
      });
      if (fresh.length > 0) handlers.current.onFired(fresh);
    }

    async function pollUntilCurrent(): Promise<void> {
      // A poll asked for while one runs may be for reminders that fired after its window ended.
      while (again && !stopped) {
        again = false;
        try {
          await poll();
        } catch (error) {
          if (!stopped) handlers.current.onError(error);
          return;
        }
      }
    }

    function check(): void {
      again = true;
      running ??= pollUntilCurrent().finally(() => {
        running = undefined;
      });
    }

    function checkWhenVisible(): void {
      if (document.visibilityState === "visible") check();
    }

    check();
    const interval = window.setInterval(check, REMINDER_POLL_MS);
    window.addEventListener("focus", check);
    window.addEventListener("online", check);
    document.addEventListener("visibilitychange", checkWhenVisible);
    return () => {
      stopped = true;
      window.clearInterval(interval);
      window.removeEventListener("focus", check);
      window.removeEventListener("online", check);
      document.removeEventListener("visibilitychange", checkWhenVisible);
    };
  }, [api, userId]);
}
