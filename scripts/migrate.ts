/** Applies pending migrations to the configured database (DATABASE_URL) and exits. */
import { openConfiguredDatabase } from "./db.ts";

const { config, database } = await openConfiguredDatabase();
const applied = await database.client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
console.log(
  `Database ${config.databaseUrl} is up to date (${applied.rows[0].n} migrations applied)`,
);
database.close();
