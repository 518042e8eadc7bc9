/** What to tell the user when a call fails, by the contract's error codes. */
import { ApiError } from "./task-api";
import { AuthUnavailableError, SignedOutError } from "./token-cache";

export interface Problem {
  title: string;
  message: string;
  /** The API's status, when it answered. */
  status?: number;
  signedOut?: boolean;
}

export function describe(error: unknown): Problem {
  if (error instanceof SignedOutError) {
    return { title: "Signed out", message: "Your session has ended. Sign in again.", signedOut: true };
  }
  if (error instanceof AuthUnavailableError) {
    return {
      title: "Sign-in service unavailable",
      message:
        "The sign-in service is not answering, so your tasks cannot be reached right now. " +
        "Nothing was changed; try again in a moment.",
    };
  }
  if (error instanceof ApiError) {
    return { title: titleOf(error), message: error.body.message, status: error.status };
  }
  if (error instanceof TypeError) {
    // fetch rejects with a TypeError when the API cannot be reached at all.
    return {
      title: "Task service unavailable",
      message: "The task service could not be reached. Check your connection and try again.",
    };
  }
  return { title: "Something went wrong", message: "An unexpected error occurred. Try again." };
}

function titleOf(error: ApiError): string {
  switch (error.status) {
    case 403:
      return "Not your tasks";
    case 404:
      return "Not found";
    case 412:
      return "Changed elsewhere";
    case 422:
      return "Check what you entered";
    case 503:
    case 504:
      return "Task service busy";
    default:
      return `Error ${error.status}`;
  }
}
