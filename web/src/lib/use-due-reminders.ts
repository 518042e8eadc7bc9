"use client";

import { useCallback, useEffect, useRef } from "react";

import type { DueReminder, TaskApi } from "./task-api";

/** How soon a poll that failed is tried again, unless an event asks for one first. */
export const REMINDER_RETRY_MS = 30_000;

/** Which reminder fired when: one of a task's reminders, at one of its fire times. */
export function firedKeyOf({ task, fires_at, reminder }: DueReminder): string {
  return `${task.id} ${fires_at} ${reminder.at} ${reminder.minutes_before}`;
}

/**
 * The notifier of an open tab: asks `/reminders` for those that fired from where its last
 * answered poll ended up to now, when the tab opens and each time the returned `check` is called:
 * when the live events say reminders fired (up to the `until` they name, if the service's clock
 * is ahead of this device's), and when the stream is open again after it was down.
 *
 * Nothing polls on a timer, and nothing needs to: the service announces each window in which the
 * user's reminders fire to every open stream, and a window that passed while the stream was down
 * is asked for when it is back, since each poll starts where the last answered one ended. Where that was is kept per
 * tab (sessionStorage), so that a reload neither repeats nor misses a reminder. A failed poll
 * moves nothing, and is tried again REMINDER_RETRY_MS later.
 */
export function useDueReminders(
  api: TaskApi,
  userId: string,
  onFired: (items: DueReminder[]) => void,
  onError: (error: unknown) => void,
): (announcedUntil?: string) => void {
  const handlers = useRef({ onFired, onError });
  handlers.current = { onFired, onError };
  const checkNow = useRef<(announcedUntil?: string) => void>(() => {});

  useEffect(() => {
    const storageKey = `taskapi.reminders-until.${userId}`;
    // A server that answers the same page whatever the window (the mock's examples) shows each
    // reminder once.
    const delivered = new Set<string>();
    let running: Promise<void> | undefined;
    let retry: number | undefined;
    let stopped = false;
    let again = false;
    // The latest end of a window the service said reminders fired in, by its clock.
    let announced = 0;

    async function poll(): Promise<void> {
      const after = sessionStorage.getItem(storageKey);
      const until = new Date(Math.max(Date.now(), announced)).toISOString();
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
          if (stopped) return;
          handlers.current.onError(error);
          retry = window.setTimeout(() => check(), REMINDER_RETRY_MS);
          return;
        }
      }
    }

    function check(announcedUntil?: string): void {
      window.clearTimeout(retry);
      const until = Date.parse(announcedUntil ?? "");
      if (!Number.isNaN(until)) announced = Math.max(announced, until);
      again = true;
      running ??= pollUntilCurrent().finally(() => {
        running = undefined;
      });
    }

    check();
    checkNow.current = check;
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      checkNow.current = () => {};
    };
  }, [api, userId]);

  return useCallback((announcedUntil?: string) => checkNow.current(announcedUntil), []);
}
