import { type Client, createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import * as schema from "./schema.ts";
import type { Db } from "./types.ts";

export interface LibsqlDatabase {
  db: Db;
  client: Client;
  close(): void;
}

export interface OpenOptions {
  url: string;
  authToken?: string;
  /** Folder of drizzle-kit migrations to apply before use. */
  migrationsFolder?: string;
  /** How long a writer waits for a locked file database, in ms. */
  busyTimeoutMs?: number;
}

/** Opens a libSQL database (file, memory or remote), applies migrations and tunes file databases. */
export async function openLibsql(options: OpenOptions): Promise<LibsqlDatabase> {
  const isFile = options.url.startsWith("file:");
  const client = createClient({
    url: options.url,
    authToken: options.authToken,
    // The busy timeout must be set per connection; the client applies it to every one it opens.
    timeout: options.busyTimeoutMs ?? 5000,
  });
  if (isFile) {
    // WAL lets readers work while one writer commits; the mode is stored in the file itself.
    await client.execute("PRAGMA journal_mode = WAL");
  }
  const db = drizzle(client, { schema });
  if (options.migrationsFolder) {
    await migrate(db, { migrationsFolder: options.migrationsFolder });
  }
  return { db, client, close: () => client.close() };
}
