/** Deno entry: reads the environment, opens the database and serves the app. */
import { fileURLToPath } from "node:url";
import { getAbsoluteFSPath } from "swagger-ui-dist";
import { createApp } from "../app.ts";
import { parseConfig } from "../config.ts";
import { openLibsql } from "../db/client.ts";
import { PartsRepo } from "../db/parts-repo.ts";
import { seedSampleParts } from "../db/seed.ts";
import { directorySource } from "./fs-assets.ts";

const started = performance.now();
const parsed = parseConfig(Deno.env.toObject());
if (!parsed.ok) {
  console.error("Invalid configuration:");
  for (const line of parsed.errors) console.error(`  ${line}`);
  Deno.exit(1);
}
const config = parsed.config;

const fileUrl = config.databaseUrl.match(/^file:(.+)$/);
if (fileUrl) {
  const dir = fileUrl[1].replace(/[^/]*$/, "");
  if (dir) await Deno.mkdir(dir, { recursive: true });
}
const database = await openLibsql({
  url: config.databaseUrl,
  authToken: config.databaseAuthToken,
  migrationsFolder: fileURLToPath(new URL("../../migrations", import.meta.url)),
});

const repo = new PartsRepo(database.db);
const seed = config.seedSampleData ?? config.appEnv === "development";
if (seed) {
  const added = await seedSampleParts(repo, Date.now());
  if (added > 0) console.log(`Added ${added} sample parts to the empty database`);
}

const app = createApp({
  config,
  db: database.db,
  docsAssets: directorySource(getAbsoluteFSPath()),
  staticFiles: config.staticDir ? directorySource(config.staticDir) : undefined,
  clientAddress: (c) =>
    (c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined)?.remoteAddr?.hostname,
});

if (config.usingDevKey) {
  console.log("SECRET_KEY is not set: using the development key 'dev-key'");
}
const server = Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ hostname, port }) => {
    const ms = Math.round(performance.now() - started);
    console.log(
      `Parts API (${config.appEnv}) on http://${hostname}:${port}${config.basePath} ` +
        `(database ${config.databaseUrl.replace(/\/\/[^@]*@/, "//")}, ready in ${ms} ms)`,
    );
  },
}, app.fetch);

const stop = async () => {
  await server.shutdown();
  database.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
