/** Shown instead of a page when Better Auth cannot tell who is signed in. */
export function AuthUnavailable() {
  return (
    <main className="problem" role="alert" aria-labelledby="unavailable-title">
      <h1 id="unavailable-title">Sign-in service unavailable</h1>
      <p>
        We cannot check who you are right now, so your tasks cannot be shown. Nothing was lost.
        Reload the page in a moment.
      </p>
    </main>
  );
}
