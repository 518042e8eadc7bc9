/**
 * The bearer token taskapi wants, from Better Auth's jwt() plugin: fetched once, reused until
 * shortly before it expires, fetched again after a 401 (the API's clock decides, not ours).
 * Concurrent callers share one fetch.
 */

/** Refresh when this share of the token's lifetime is left (at most MAX_MARGIN_MS). */
const REFRESH_MARGIN_SHARE = 0.2;
const MAX_MARGIN_MS = 60_000;

/** Better Auth answered that nobody is signed in. */
export class SignedOutError extends Error {
  override name = "SignedOutError";
}

/** Better Auth could not be reached or failed: the sign-in service is down. */
export class AuthUnavailableError extends Error {
  override name = "AuthUnavailableError";
}

interface CachedToken {
  token: string;
  refreshAt: number;
}

export type TokenSource = () => Promise<string>;

export class TokenCache {
  #cached: CachedToken | undefined;
  #pending: Promise<string> | undefined;

  constructor(
    private readonly source: TokenSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token that is not about to expire. */
  async get(): Promise<string> {
    if (this.#cached !== undefined && this.now() < this.#cached.refreshAt) {
      return this.#cached.token;
    }
    this.#pending ??= this.#obtain().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Drop the cached token: the API refused it (expired, or its key was rotated). */
  forget(): void {
    this.#cached = undefined;
  }

  async #obtain(): Promise<string> {
    const token = await this.source();
    this.#cached = { token, refreshAt: refreshTime(token, this.now()) };
    return token;
  }
}

/**
 * When to fetch the next token, by this machine's clock: the token's lifetime (`exp - iat`, both
 * set by the server) counted from when it arrived, so a clock that is off changes nothing.
 */
function refreshTime(token: string, receivedAt: number): number {
  const { exp, iat } = readClaims(token);
  if (typeof exp !== "number" || typeof iat !== "number" || exp <= iat) {
    return receivedAt;
  }
  const lifetime = (exp - iat) * 1000;
  return receivedAt + lifetime - Math.min(MAX_MARGIN_MS, lifetime * REFRESH_MARGIN_SHARE);
}

/** The token's claims, read without verifying them: only to know when to fetch a new one. */
function readClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1];
  if (payload === undefined) {
    return {};
  }
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims: unknown = JSON.parse(json);
    return typeof claims === "object" && claims !== null ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
