import { mkdir } from "node:fs/promises";
import type { Client } from "@libsql/client";
// The web build of drizzle's libSQL driver only wraps the client it is given; unlike
// "drizzle-orm/libsql" it does not load the native module.
import { drizzle } from "drizzle-orm/libsql/web";
import { migrate } from "drizzle-orm/libsql/migrator";
import * as schema from "./schema.ts";
import type { Db } from "./types.ts";

export interface LibsqlDatabase {
  db: Db;
  client: Client;
  /**
   * For file databases: the newest event id through a statement prepared once on a read-only
   * connection. Every read request checks it, and the client library would compile the query
   * anew each time (~20x slower).
   */
  dataVersion?: () => number;
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

/**
 * The client module for a URL. Files and memory need the native build; `libsql:` and `http(s):`
 * use the Web-standard build (fetch only), which also runs where native modules cannot load
 * (Deno Deploy). `ws(s):` stays native: Node 20 has no global WebSocket.
 */
function clientModule(url: string) {
  return /^(libsql|https?):/.test(url) ? import("@libsql/client/web") : import("@libsql/client");
}

/** Opens a libSQL database (file, memory or remote), applies migrations and tunes file databases. */
export async function openLibsql(options: OpenOptions): Promise<LibsqlDatabase> {
  const isFile = options.url.startsWith("file:");
  // A new file database may live in a folder that does not exist yet (data/ on first start).
  if (isFile) {
    const dir = filePath(options.url).replace(/[^/]*$/, "");
    if (dir) await mkdir(dir, { recursive: true });
  }
  const { createClient } = await clientModule(options.url);
  const client = createClient({
    url: options.url,
    authToken: options.authToken,
    // The busy timeout must be set per connection; the client applies it to every one it opens.
    timeout: options.busyTimeoutMs ?? 5000,
    // Every call on a local database runs synchronously to completion (no interactive
    // transactions here), so one connection serves all, and per-connection PRAGMAs stick.
    ...(isFile ? { concurrency: 1 } : {}),
  });
  if (isFile) {
    // WAL lets readers work while one writer commits; the mode is stored in the file itself.
    await client.execute("PRAGMA journal_mode = WAL");
  }
  const db = drizzle(client, { schema });
  if (options.migrationsFolder) {
    await migrate(db, { migrationsFolder: options.migrationsFolder });
  }
  if (!isFile) return { db, client, close: () => client.close() };
  const { default: Database } = await import("libsql");
  const reader = new Database(filePath(options.url), { readonly: true });
  const latest = reader.prepare("SELECT max(id) FROM part_events").raw(true);
  return {
    db,
    client,
    dataVersion: () => Number((latest.get() as [number | null])[0] ?? 0),
    close: () => {
      reader.close();
      client.close();
    },
  };
}

/** The path in a `file:` URL (`file:./data/parts.db`, `file:///srv/parts.db`), without options. */
function filePath(url: string): string {
  const rest = url.slice("file:".length).replace(/\?.*$/, "");
  return rest.startsWith("//") ? decodeURIComponent(new URL(url).pathname) : rest;
}
