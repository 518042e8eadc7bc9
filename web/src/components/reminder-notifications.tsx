"use client";

import { useEffect, useState } from "react";

import { dueLabelOf } from "@/lib/task-form";
import type { DueReminder } from "@/lib/task-api";
import { firedKeyOf } from "@/lib/use-due-reminders";

import { BellIcon } from "./bell-icon";

/** The reminders that fired while the page was open, each until it is dismissed. */
export function FiredReminders({
  items,
  timeZone,
  onDismiss,
}: {
  items: DueReminder[];
  /** The user's, the zone due dates are shown in. */
  timeZone: string;
  onDismiss: (item: DueReminder) => void;
}) {
  if (items.length === 0) return null;
  return (
    <section className="fired-reminders" aria-label="Reminders">
      {items.map((item) => {
        const due = dueLabelOf(item.task, timeZone);
        return (
          <div key={firedKeyOf(item)} role="alert" className="fired-reminder">
            <BellIcon />
            <p>
              <strong className="fired-title">{item.task.title}</strong>
              {due && (
                <>
                  {" "}
                  <span className="fired-due">
                    Due <time dateTime={due.dateTime}>{due.text}</time>
                    {due.ownZone && ` (${due.ownZone})`}
                  </span>
                </>
              )}
            </p>
            <button
              type="button"
              aria-label={`Dismiss reminder: ${item.task.title}`}
              onClick={() => onDismiss(item)}
            >
              Dismiss
            </button>
          </div>
        );
      })}
    </section>
  );
}

/** The fired reminders as the browser's own notifications too, if the user has allowed them. */
export function showOnDesktop(items: DueReminder[], timeZone: string): void {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  for (const item of items) {
    const due = dueLabelOf(item.task, timeZone);
    try {
      // The tag makes the same reminder from two open tabs one notification.
      new Notification(item.task.title, {
        body: due ? `Due ${due.text}` : "Reminder",
        tag: firedKeyOf(item),
      });
    } catch {
      // Chrome on Android shows only a service worker's notifications: the page's one stays.
    }
  }
}

/**
 * Asks for the browser's permission to notify, only when the user presses it (browsers refuse,
 * or remember a refusal, when a page asks on its own); gone once asked.
 */
export function DesktopNotificationsButton() {
  const [permission, setPermission] = useState<NotificationPermission | null>(null);
  // Read once in the browser: the server's render knows of no permission.
  useEffect(() => {
    if ("Notification" in window) setPermission(Notification.permission);
  }, []);
  if (permission !== "default") return null;
  return (
    <button
      type="button"
      className="desktop-notifications"
      onClick={() => void Notification.requestPermission().then(setPermission)}
    >
      Enable desktop notifications
    </button>
  );
}
