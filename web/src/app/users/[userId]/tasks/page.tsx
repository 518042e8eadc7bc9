import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { AuthUnavailable } from "@/components/auth-unavailable";
import { LiveStateProvider, LiveStatus } from "@/components/live-status";
import { SignOutButton } from "@/components/sign-out-button";
import { TaskBoard } from "@/components/task-board";
import { lookUpSession } from "@/server/session";

export const metadata: Metadata = { title: "Tasks" };

/**
 * Whose tasks the URL names is the API's to decide: another user's id gets the API's 403,
 * shown as a page.
 */
export default async function TasksPage({ params }: { params: Promise<{ userId: string }> }) {
  const { userId } = await params;
  const session = await lookUpSession();
  if (session.kind === "unavailable") return <AuthUnavailable />;
  if (session.kind === "signed-out") redirect("/sign-in");
  return (
    <LiveStateProvider>
      <header className="top">
        <h1>Tasks</h1>
        <p className="who">
          <LiveStatus />
          <span>{session.user.email}</span> <SignOutButton />
        </p>
      </header>
      <main>
        <TaskBoard userId={userId} />
      </main>
    </LiveStateProvider>
  );
}
