import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import type * as schema from "./schema.ts";

/**
 * Any async Drizzle SQLite database with `batch`: libSQL (file, memory, remote) or Cloudflare
 * D1, whose `batch` has the same shape. Repositories depend on this, never on a client.
 */
// deno-lint-ignore no-explicit-any
export type Db = BaseSQLiteDatabase<"async", any, typeof schema> & {
  batch: LibSQLDatabase<typeof schema>["batch"];
};
