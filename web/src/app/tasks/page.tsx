import { redirect } from "next/navigation";

import { AuthUnavailable } from "@/components/auth-unavailable";
import { lookUpSession } from "@/server/session";

/** The signed-in user's own list, whatever their id; the sign-in page for anyone else. */
export default async function MyTasks() {
  const session = await lookUpSession();
  if (session.kind === "unavailable") return <AuthUnavailable />;
  redirect(
    session.kind === "signed-in" ? `/users/${encodeURIComponent(session.user.id)}/tasks` : "/sign-in",
  );
}
