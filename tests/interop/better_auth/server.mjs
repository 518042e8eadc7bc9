// A real Better Auth server for the interop test: email and password sign-up, the jwt() plugin with
// its defaults (EdDSA keys, JWKS at /api/auth/jwks, iss = aud = baseURL), everything in memory.
// Usage: node server.mjs <port>   (or PORT=<port>); BETTER_AUTH_SECRET must be set (>= 32 bytes);
// JWT_ALG chooses another of the plugin's signing algorithms (ES256, ES512, PS256, RS256).
import { createServer } from "node:http";

import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins/jwt";

const HOST = "127.0.0.1";
const MIN_SECRET_BYTES = 32;

function fail(message) {
  process.stderr.write(`better-auth interop server: ${message}\n`);
  process.exit(2);
}

const port = Number.parseInt(process.argv[2] ?? process.env.PORT ?? "", 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  fail("a port is required: node server.mjs <port> (or PORT=<port>)");
}
const secret = process.env.BETTER_AUTH_SECRET ?? "";
if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
  fail(`BETTER_AUTH_SECRET must be set to at least ${MIN_SECRET_BYTES} bytes`);
}

const algorithm = process.env.JWT_ALG ?? "EdDSA";

const baseURL = `http://${HOST}:${port}`;
// The memory adapter only writes to tables that already exist.
const db = { user: [], session: [], account: [], verification: [], jwks: [] };

const auth = betterAuth({
  baseURL,
  secret,
  database: memoryAdapter(db),
  emailAndPassword: { enabled: true },
  // Cookie-authenticated POSTs are refused unless their Origin is trusted.
  trustedOrigins: [baseURL],
  plugins: [jwt({ jwks: { keyPairConfig: { alg: algorithm } } })],
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
});

const server = createServer(toNodeHandler(auth));
server.listen(port, HOST, () => {
  process.stdout.write(`better-auth ready on ${baseURL}\n`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
