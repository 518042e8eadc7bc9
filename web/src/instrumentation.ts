/** Runs once when the server starts: Better Auth's tables exist before the first request. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { migrateAuthTables } = await import("./server/migrate");
    await migrateAuthTables();
  }
}
