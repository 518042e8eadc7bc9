"use client";

import { createContext, useContext, useMemo, type ReactNode } from "react";

import { authClient } from "@/lib/auth-client";
import { TaskApi } from "@/lib/task-api";
import { AuthUnavailableError, SignedOutError, TokenCache } from "@/lib/token-cache";

const TaskApiContext = createContext<TaskApi | null>(null);

async function tokenFromBetterAuth(): Promise<string> {
  let answer: Awaited<ReturnType<typeof authClient.token>>;
  try {
    answer = await authClient.token();
  } catch (error) {
    throw new AuthUnavailableError("The sign-in service could not be reached", { cause: error });
  }
  if (answer.data) {
    return answer.data.token;
  }
  if (answer.error.status === 401) {
    throw new SignedOutError("Not signed in");
  }
  throw new AuthUnavailableError(`The sign-in service answered ${answer.error.status}`);
}

/** One client for the whole app, pointed at the URL the server was configured with. */
export function TaskApiProvider({ baseUrl, children }: { baseUrl: string; children: ReactNode }) {
  const api = useMemo(() => new TaskApi(baseUrl, new TokenCache(tokenFromBetterAuth)), [baseUrl]);
  return <TaskApiContext.Provider value={api}>{children}</TaskApiContext.Provider>;
}

export function useTaskApi(): TaskApi {
  const api = useContext(TaskApiContext);
  if (api === null) {
    throw new Error("useTaskApi outside TaskApiProvider");
  }
  return api;
}
