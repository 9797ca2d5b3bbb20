/**
 * Start-up shared by the server entries (Deno and Node): parse the environment once, open and
 * migrate the database, add sample data, build the app. Uses only `node:` APIs both provide.
 */
import { type App, type AppDeps, createApp } from "../app.ts";
import { type Config, parseConfig } from "../config.ts";
import { type LibsqlDatabase, openLibsql } from "../db/client.ts";
import { PartsRepo } from "../db/parts-repo.ts";
import { seedSampleParts } from "../db/seed.ts";
import { directorySource } from "./fs-assets.ts";

export interface BootOptions {
  /** The process environment. */
  env: Record<string, string | undefined>;
  /** Folder of drizzle-kit migrations applied at start-up. */
  migrationsFolder: string;
  /** Folder holding Swagger UI's files, or undefined to serve the docs page without them. */
  docsFolder?: string;
  clientAddress: AppDeps["clientAddress"];
}

export type Booted =
  | { ok: true; config: Config; database: LibsqlDatabase; app: App; notes: string[] }
  | { ok: false; errors: string[] };

/** Everything a server entry needs before it listens, or every configuration problem. */
export async function boot(options: BootOptions): Promise<Booted> {
  const parsed = parseConfig(options.env);
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  const config = parsed.config;
  const notes: string[] = [];

  const database = await openLibsql({
    url: config.databaseUrl,
    authToken: config.databaseAuthToken,
    migrationsFolder: options.migrationsFolder,
  });

  const seed = config.seedSampleData ?? config.appEnv === "development";
  if (seed) {
    const added = await seedSampleParts(new PartsRepo(database.db), Date.now());
    if (added > 0) notes.push(`Added ${added} sample parts to the empty database`);
  }
  if (config.usingDevKey) notes.push("SECRET_KEY is not set: using the development key 'dev-key'");

  const app = createApp({
    config,
    db: database.db,
    dataVersion: database.dataVersion,
    docsAssets: options.docsFolder ? directorySource(options.docsFolder) : undefined,
    staticFiles: config.staticDir ? directorySource(config.staticDir) : undefined,
    clientAddress: options.clientAddress,
  });
  return { ok: true, config, database, app, notes };
}

/** The start-up line: where the server listens, on what database, after how long. */
export function listening(
  config: Config,
  runtime: string,
  hostname: string,
  port: number,
  ms: number,
): string {
  // Never print credentials: user info and query strings (authToken=...) are dropped.
  const database = config.databaseUrl.replace(/\/\/[^@/]*@/, "//").replace(/\?.*$/, "");
  return `Parts API (${config.appEnv}, ${runtime}) on http://${hostname}:${port}${config.basePath} ` +
    `(database ${database}, ready in ${ms} ms)`;
}
