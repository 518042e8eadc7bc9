"use client";

import { useState } from "react";

import { authClient } from "@/lib/auth-client";

export function SignOutButton() {
  const [failed, setFailed] = useState(false);
  async function signOut() {
    const { error } = await authClient.signOut();
    if (error) {
      setFailed(true);
      return;
    }
    sessionStorage.clear();
    window.location.assign("/sign-in");
  }
  return (
    <>
      <button type="button" onClick={() => void signOut()}>
        Sign out
      </button>
      {failed && (
        <span role="alert" className="error">
          Could not sign out: the sign-in service is not answering.
        </span>
      )}
    </>
  );
}
