/**
 * The Better Auth server: email and password accounts, sessions in a cookie, and the jwt() plugin,
 * which signs the short-lived tokens taskapi accepts (EdDSA; public keys at /api/auth/jwks).
 * Built once, on the first request that needs it.
 */
import { betterAuth } from "better-auth";
import { nextCookies } from "better-auth/next-js";
import { jwt } from "better-auth/plugins/jwt";
import { Pool } from "pg";

import { readSettings, type Settings } from "./settings";

const AUTH_DATABASE_CONNECTIONS = 5;

function createAuth(settings: Settings) {
  return betterAuth({
    baseURL: settings.betterAuthUrl,
    secret: settings.betterAuthSecret,
    database: new Pool({
      connectionString: settings.authDatabaseUrl,
      max: AUTH_DATABASE_CONNECTIONS,
    }),
    emailAndPassword: { enabled: true, autoSignIn: true },
    plugins: [jwt({ jwt: { expirationTime: settings.tokenLifetime } }), nextCookies()],
    rateLimit: { enabled: settings.rateLimit },
    telemetry: { enabled: false },
  });
}

export type Auth = ReturnType<typeof createAuth>;

let instance: Auth | undefined;

export function auth(): Auth {
  instance ??= createAuth(readSettings());
  return instance;
}
