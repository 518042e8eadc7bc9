"use client";

import { jwtClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

/** Better Auth's browser client, on this app's own origin (/api/auth). */
export const authClient = createAuthClient({ plugins: [jwtClient()] });
