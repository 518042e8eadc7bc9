import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { ActivityView } from "@/components/activity-view";
import { AuthUnavailable } from "@/components/auth-unavailable";
import { SignOutButton } from "@/components/sign-out-button";
import { lookUpSession } from "@/server/session";

export const metadata: Metadata = { title: "Activity" };

/** As with the tasks, whose activity the URL names is the API's to decide (403 for another's). */
export default async function ActivityPage({ params }: { params: Promise<{ userId: string }> }) {
  const { userId } = await params;
  const session = await lookUpSession();
  if (session.kind === "unavailable") return <AuthUnavailable />;
  if (session.kind === "signed-out") redirect("/sign-in");
  return (
    <>
      <header className="top">
        <h1>Activity</h1>
        <p className="who">
          <span>{session.user.email}</span> <SignOutButton />
        </p>
      </header>
      <main>
        <ActivityView userId={userId} />
      </main>
    </>
  );
}
