/** Opens the configured database (DATABASE_URL) with migrations applied, for CLI scripts. */
import { fileURLToPath } from "node:url";
import { type Config, parseConfig } from "../src/config.ts";
import { type LibsqlDatabase, openLibsql } from "../src/db/client.ts";

export async function openConfiguredDatabase(): Promise<
  { config: Config; database: LibsqlDatabase }
> {
  const parsed = parseConfig(Deno.env.toObject());
  if (!parsed.ok) {
    console.error("Invalid configuration:");
    for (const line of parsed.errors) console.error(`  ${line}`);
    Deno.exit(1);
  }
  const config = parsed.config;
  const database = await openLibsql({
    url: config.databaseUrl,
    authToken: config.databaseAuthToken,
    migrationsFolder: fileURLToPath(new URL("../migrations", import.meta.url)),
  });
  return { config, database };
}
