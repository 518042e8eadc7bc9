"use client";

import Link from "next/link";
import { useId, useState, type FormEvent } from "react";

import { authClient } from "@/lib/auth-client";

type Mode = "sign-in" | "sign-up";

const UNAVAILABLE =
  "The sign-in service is not answering right now. Nothing was lost; try again in a moment.";

/** Email and password, through Better Auth; a signed-in user goes to their tasks. */
export function AuthForm({ mode }: { mode: Mode }) {
  const id = useId();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      const answer =
        mode === "sign-up"
          ? await authClient.signUp.email({ name, email, password })
          : await authClient.signIn.email({ email, password });
      if (answer.error) {
        setError(answer.error.status >= 500 ? UNAVAILABLE : (answer.error.message ?? "Refused."));
        return;
      }
      window.location.assign(`/users/${encodeURIComponent(answer.data.user.id)}/tasks`);
    } catch {
      setError(UNAVAILABLE);
    } finally {
      setBusy(false);
    }
  }

  const title = mode === "sign-up" ? "Create your account" : "Sign in";
  return (
    <main className="auth">
      <h1>{title}</h1>
      <form onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`} className="visually-hidden">
          {title}
        </h2>
        {mode === "sign-up" && (
          <div className="field">
            <label htmlFor={`${id}-name`}>Name</label>
            <input
              id={`${id}-name`}
              autoComplete="name"
              required
              value={name}
              onChange={(event) => setName(event.target.value)}
            />
          </div>
        )}
        <div className="field">
          <label htmlFor={`${id}-email`}>Email</label>
          <input
            id={`${id}-email`}
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-password`}>Password</label>
          <input
            id={`${id}-password`}
            type="password"
            autoComplete={mode === "sign-up" ? "new-password" : "current-password"}
            minLength={8}
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </div>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {mode === "sign-up" ? "Create account" : "Sign in"}
        </button>
      </form>
      <p>
        {mode === "sign-up" ? (
          <>
            Have an account? <Link href="/sign-in">Sign in</Link>
          </>
        ) : (
          <>
            New here? <Link href="/sign-up">Create an account</Link>
          </>
        )}
      </p>
    </main>
  );
}
