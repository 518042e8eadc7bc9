/**
 * The app's configuration, read from the environment when the server first needs it (never at
 * build time, so one build runs anywhere). Secrets come only from here.
 */
export interface Settings {
  /** Where the browser reaches this app; Better Auth's base URL and its tokens' `iss` and `aud`. */
  betterAuthUrl: string;
  betterAuthSecret: string;
  /** The PostgreSQL database that holds Better Auth's tables. */
  authDatabaseUrl: string;
  /** Where the browser reaches taskapi (another origin: its CORS_ORIGINS must name this app). */
  taskApiUrl: string;
  /** How long a token of the jwt() plugin lives, as Better Auth reads it ("15m", "90s"). */
  tokenLifetime: string;
  /** Better Auth's limits per client address (sign-in: 3 tries in 10 s). Off only for tests. */
  rateLimit: boolean;
}

const MIN_SECRET_BYTES = 32;

export class ConfigurationError extends Error {
  override name = "ConfigurationError";
}

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) {
    throw new ConfigurationError(`${name} is not set (see web/README.md)`);
  }
  return value;
}

function origin(name: string): string {
  const value = required(name);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`${name} is not a URL: ${value}`);
  }
  return url.origin;
}

export function readSettings(): Settings {
  const betterAuthSecret = required("BETTER_AUTH_SECRET");
  if (Buffer.byteLength(betterAuthSecret) < MIN_SECRET_BYTES) {
    throw new ConfigurationError(`BETTER_AUTH_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return {
    betterAuthUrl: origin("BETTER_AUTH_URL"),
    betterAuthSecret,
    authDatabaseUrl: required("AUTH_DATABASE_URL"),
    taskApiUrl: origin("TASKAPI_URL"),
    tokenLifetime: process.env.TOKEN_LIFETIME?.trim() || "15m",
    rateLimit: process.env.AUTH_RATE_LIMIT?.trim() !== "off",
  };
}
