import { headers } from "next/headers";

import { auth } from "./auth";

export interface SignedInUser {
  id: string;
  name: string;
  email: string;
}

export type SessionLookup =
  | { kind: "signed-in"; user: SignedInUser }
  | { kind: "signed-out" }
  | { kind: "unavailable" };

/** Who the request's session cookie belongs to, or that Better Auth could not say. */
export async function lookUpSession(): Promise<SessionLookup> {
  let session: Awaited<ReturnType<ReturnType<typeof auth>["api"]["getSession"]>>;
  const requestHeaders = await headers();
  try {
    session = await auth().api.getSession({ headers: requestHeaders });
  } catch (error) {
    console.error("session lookup failed", error);
    return { kind: "unavailable" };
  }
  if (session === null) {
    return { kind: "signed-out" };
  }
  const { id, name, email } = session.user;
  return { kind: "signed-in", user: { id, name, email } };
}
