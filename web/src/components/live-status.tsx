"use client";

import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

import type { StreamState } from "@/lib/task-api";

interface LiveStateShared {
  state: StreamState;
  setState: (state: StreamState) => void;
}

const LiveStateContext = createContext<LiveStateShared | null>(null);

/** Lets the task board tell the page's header how its live connection is. */
export function LiveStateProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<StreamState>("connecting");
  const shared = useMemo(() => ({ state, setState }), [state]);
  return <LiveStateContext.Provider value={shared}>{children}</LiveStateContext.Provider>;
}

/** Called by the component that holds the connection, with its state. */
export function useShareLiveState(state: StreamState): void {
  const setState = useContext(LiveStateContext)?.setState;
  useEffect(() => {
    setState?.(state);
  }, [setState, state]);
}

/**
 * Says when this tab does not hear the changes made in the user's other tabs and devices. A
 * polite live region, there from the start so that a screen reader announces what it comes to
 * say; empty (and invisible) while the connection is, or is being, made.
 */
export function LiveStatus() {
  const state = useContext(LiveStateContext)?.state;
  return (
    <span role="status" className="live-status" data-state={state}>
      {state === "offline" && "Offline: reconnecting…"}
      {state === "closed" && "Live updates stopped"}
    </span>
  );
}
