"use client";

import { useEffect, useRef, useState } from "react";

import type { StreamEvent, StreamState, TaskApi } from "./task-api";

export interface LiveEventHandlers {
  onEvent: (event: StreamEvent) => void;
  /**
   * The stream is open again after it was down: what it would have said meanwhile was said to
   * no one. Changes need nothing here (the stream's first event says whether any were missed);
   * reminders do.
   */
  onReopen: () => void;
  /** The stream stopped for good: the API refused it, or the user signed out. */
  onError: (error: unknown) => void;
}

/**
 * This tab's connection to the user's event stream (`/events`), open while the component is
 * mounted, reconnecting by itself. Returns its state, for the page to show.
 */
export function useLiveEvents(api: TaskApi, userId: string, handlers: LiveEventHandlers): StreamState {
  const latest = useRef(handlers);
  latest.current = handlers;
  const [state, setState] = useState<StreamState>("connecting");

  useEffect(() => {
    // The `closed` of a subscription this effect closes itself is not the page's to show.
    let current = true;
    let wasDown = false;
    const subscription = api.liveEvents(userId, {
      onEvent: (event) => latest.current.onEvent(event),
      onState: (next) => {
        if (!current) return;
        setState(next);
        if (next === "offline") {
          wasDown = true;
        } else if (next === "open" && wasDown) {
          wasDown = false;
          latest.current.onReopen();
        }
      },
      onError: (error) => latest.current.onError(error),
    });
    return () => {
      current = false;
      subscription.close();
    };
  }, [api, userId]);

  return state;
}
