import Link from "next/link";

import type { Problem } from "@/lib/problems";

/** What cannot be shown, as a page of its own: the user's own tasks, or another try. */
export function ProblemPage({ problem, onRetry }: { problem: Problem; onRetry: () => void }) {
  return (
    <section className="problem" role="alert" aria-labelledby="problem-title">
      <h2 id="problem-title">
        {problem.status !== undefined && <span className="status">{problem.status} </span>}
        {problem.title}
      </h2>
      <p>{problem.message}</p>
      {problem.status === 403 || problem.status === 404 ? (
        <Link href="/tasks">Go to your tasks</Link>
      ) : (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </section>
  );
}

/** A refused action, above what it was done to, until dismissed. */
export function ProblemAlert({ problem, onDismiss }: { problem: Problem; onDismiss: () => void }) {
  return (
    <div role="alert" className="alert">
      <strong>{problem.title}.</strong> {problem.message}
      <button type="button" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
