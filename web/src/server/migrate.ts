/** Creates or updates Better Auth's tables (user, session, account, verification, jwks). */
import { getMigrations } from "better-auth/db/migration";

import { auth } from "./auth";

export async function migrateAuthTables(): Promise<void> {
  const { runMigrations, toBeCreated, toBeAdded } = await getMigrations(auth().options);
  if (toBeCreated.length === 0 && toBeAdded.length === 0) {
    return;
  }
  await runMigrations();
  const tables = [...toBeCreated, ...toBeAdded].map((change) => change.table).join(", ");
  console.info(`better auth tables migrated: ${tables}`);
}
