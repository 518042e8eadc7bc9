/**
 * The one error type of the client: a non-2xx answer, from an openapi-fetch call or from the
 * event stream alike.
 */
import type { components } from "./schema.js";

export type ErrorBody = components["schemas"]["Error"];

/**
 * A non-2xx answer. `code` is the contract's stable `error` code (`not_found`, `forbidden`,
 * `validation_failed`, ...); branch on it and on `status`. A body that is not the contract's
 * `Error` (say, a proxy's HTML 502) gets the code `unexpected_response`.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorBody["details"];
  readonly body: ErrorBody;
  readonly response: Response;

  constructor(response: Response, body: unknown) {
    const error = isErrorBody(body)
      ? { ...body, details: body.details ?? null }
      : unexpected(response, body);
    super(`${response.status} ${error.error}: ${error.message}`);
    this.name = "ApiError";
    this.status = response.status;
    this.code = error.error;
    this.details = error.details;
    this.body = error;
    this.response = response;
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== "object" || body === null) {
    return false;
  }
  const { error, message } = body as Record<string, unknown>;
  return typeof error === "string" && typeof message === "string";
}

function unexpected(response: Response, body: unknown): ErrorBody {
  const text = typeof body === "string" ? body.slice(0, 200) : "";
  return {
    error: "unexpected_response",
    message: text || `HTTP ${response.status} ${response.statusText}`.trim(),
    details: null,
  };
}
