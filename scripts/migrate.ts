/** Applies pending migrations to the configured database (DATABASE_URL) and exits. */
import { fileURLToPath } from "node:url";
import { parseConfig } from "../src/config.ts";
import { openLibsql } from "../src/db/client.ts";

const parsed = parseConfig(Deno.env.toObject());
if (!parsed.ok) {
  console.error("Invalid configuration:");
  for (const line of parsed.errors) console.error(`  ${line}`);
  Deno.exit(1);
}
const { databaseUrl, databaseAuthToken } = parsed.config;
const fileUrl = databaseUrl.match(/^file:(.+)$/);
if (fileUrl) {
  const dir = fileUrl[1].replace(/[^/]*$/, "");
  if (dir) await Deno.mkdir(dir, { recursive: true });
}
const database = await openLibsql({
  url: databaseUrl,
  authToken: databaseAuthToken,
  migrationsFolder: fileURLToPath(new URL("../migrations", import.meta.url)),
});
const applied = await database.client.execute(
  "SELECT count(*) AS n FROM __drizzle_migrations",
);
console.log(`Database ${databaseUrl} is up to date (${applied.rows[0].n} migrations applied)`);
database.close();
