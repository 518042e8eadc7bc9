"use client";

import { useEffect, useRef } from "react";

/** How long an action stays offered in a notice: time to read it and to reach its button. */
export const ACTION_OFFERED_MS = 10_000;

export interface NoticeAction {
  label: string;
  run: () => void;
}

/** What the last action did, and, for a while, what takes it back. */
export interface Notice {
  text: string;
  action?: NoticeAction;
}

export const NO_NOTICE: Notice = { text: "" };

/**
 * The outcome of the last action, announced to screen readers. A notice that offers an action
 * goes when the next action replaces it or after ACTION_OFFERED_MS, though not while the pointer
 * or the focus is on it: the user is about to press its button.
 */
export function NoticeBar({ notice, onExpire }: { notice: Notice; onExpire: () => void }) {
  const element = useRef<HTMLParagraphElement>(null);
  const expire = useRef(onExpire);
  expire.current = onExpire;

  useEffect(() => {
    if (notice.action === undefined) return;
    let timer: number;
    const wait = () => {
      timer = window.setTimeout(() => {
        if (element.current?.matches(":hover, :focus-within")) wait();
        else expire.current();
      }, ACTION_OFFERED_MS);
    };
    wait();
    return () => window.clearTimeout(timer);
  }, [notice]);

  return (
    <p ref={element} role="status" className="notice">
      {notice.text}
      {notice.action && (
        <>
          {" "}
          <button type="button" className="notice-action" onClick={notice.action.run}>
            {notice.action.label}
          </button>
        </>
      )}
    </p>
  );
}
