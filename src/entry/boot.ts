/**
 * Start-up shared by the server entries (Deno and Node): parse the environment once, open and
 * migrate the database, add sample data, build the app. Uses only `node:` APIs both provide.
 */
import { type App, type AppDeps, createApp } from "../app.ts";
import { type Config, parseConfig } from "../config.ts";
import { type LibsqlDatabase, openLibsql } from "../db/client.ts";
import { PartsRepo } from "../db/parts-repo.ts";
import { seedSampleFiles, seedSampleParts } from "../db/seed.ts";
import { directorySource } from "./fs-assets.ts";
import { appMaintenance } from "../app.ts";
import { createModelConverter } from "../cad/pool.ts";
import type { SpawnWorker } from "../cad/protocol.ts";
import type { ModelConverter } from "../cad/types.ts";
import { openBlobStore } from "../storage/open.ts";
import { createHash } from "node:crypto";

export interface BootOptions {
  /** The process environment. */
  env: Record<string, string | undefined>;
  /** Folder of drizzle-kit migrations applied at start-up. */
  migrationsFolder: string;
  /** Folder holding Swagger UI's files, or undefined to serve the docs page without them. */
  docsFolder?: string;
  clientAddress: AppDeps["clientAddress"];
  /** Starts a STEP/STL conversion worker on this runtime. */
  spawnConverter?: SpawnWorker;
}

/** How often unused blobs are swept away, and how old an unreferenced blob must be. */
const SWEEP_EVERY_MS = 6 * 60 * 60_000;

export type Booted =
  | {
    ok: true;
    config: Config;
    database: LibsqlDatabase;
    app: App;
    notes: string[];
    /** Stops background work (conversions, sweeps); call before closing the database. */
    stop(): Promise<void>;
  }
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
  let seeded = 0;
  if (seed) {
    seeded = await seedSampleParts(new PartsRepo(database.db), Date.now());
    if (seeded > 0) notes.push(`Added ${seeded} sample parts to the empty database`);
  }
  if (config.usingDevKey) notes.push("SECRET_KEY is not set: using the development key 'dev-key'");

  const blobStore = openBlobStore(config.filesUrl, config.s3);
  let converter: ModelConverter | undefined;
  if (options.spawnConverter && config.conversionConcurrency > 0) {
    converter = createModelConverter({
      spawn: options.spawnConverter,
      concurrency: config.conversionConcurrency,
      timeoutMs: config.conversionTimeoutMs,
      maxBytes: config.maxUploadBytes,
    });
  } else {notes.push(
      "STEP/STL conversion is off here: run the converter process (deno task converter)",
    );}

  const app = createApp({
    config,
    db: database.db,
    blobStore,
    converter,
    sha256: () => {
      const hash = createHash("sha256");
      return { update: (bytes) => hash.update(bytes), hex: () => hash.digest("hex") };
    },
    dataVersion: database.dataVersion,
    docsAssets: options.docsFolder ? directorySource(options.docsFolder) : undefined,
    staticFiles: config.staticDir ? directorySource(config.staticDir) : undefined,
    clientAddress: options.clientAddress,
  });
  const maintenance = appMaintenance(app);
  if (seeded > 0) await seedSampleFiles(new PartsRepo(database.db), maintenance.files);
  maintenance.resume();
  const sweep = () =>
    maintenance.sweep().catch((err) => console.error("sweeping unused files failed:", err));
  const first = setTimeout(sweep, 30_000);
  const every = setInterval(sweep, SWEEP_EVERY_MS);
  // Neither timer may keep a stopping server alive.
  for (const t of [first, every] as unknown as { unref?: () => void }[]) t.unref?.();
  const stop = async () => {
    clearTimeout(first);
    clearInterval(every);
    await maintenance.close();
    await converter?.close();
  };
  return { ok: true, config, database, app, notes, stop };
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
