/**
 * Node entry (Node 20+): reads the environment, opens the database and serves the app with
 * @hono/node-server. Node 20 cannot run TypeScript, so this file always runs as its bundle
 * (`deno task build` → dist/node/server.mjs), which finds its migrations and the docs page's
 * Swagger UI files in folders next to itself.
 */
import process from "node:process";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, SHARE_ENV, Worker } from "node:worker_threads";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { boot, listening } from "./boot.ts";
import { nodeSpawner } from "../cad/node-worker.ts";

/**
 * Node gives V8 under 1 MiB of stack on the main thread, and JSON.stringify recurses: it throws
 * on JSON nested ~4,500 deep, which a 16 KiB miscInfo may be (Deno and workerd cope). A worker
 * thread gets the stack it asks for, so the server runs in one and this thread only supervises.
 */
const STACK_MB = 16;

async function main(): Promise<void> {
  const beside = (folder: string) => fileURLToPath(new URL(folder, import.meta.url));
  const booted = await boot({
    env: process.env,
    migrationsFolder: beside("./migrations"),
    docsFolder: beside("./docs"),
    clientAddress: (c) => getConnInfo(c).remote.address,
    spawnConverter: nodeSpawner(),
  });
  if (!booted.ok) {
    console.error("Invalid configuration:");
    for (const line of booted.errors) console.error(`  ${line}`);
    process.exit(1);
  }
  const { config, database, app, stop } = booted;
  for (const note of booted.notes) console.log(note);

  const server = serve(
    { fetch: app.fetch, port: config.port, hostname: config.host },
    (info) => {
      // Since the process started, so the supervising thread's share counts too.
      const ms = Math.round(process.uptime() * 1000);
      console.log(listening(config, `Node ${process.versions.node}`, info.address, info.port, ms));
    },
  );
  parentPort?.on("message", (message) => {
    if (message !== "stop") return;
    // Open live streams would hold close() forever: give requests a moment, then leave.
    setTimeout(() => process.exit(0), 3000).unref();
    server.close(() => {
      stop().finally(() => {
        database.close();
        process.exit(0);
      });
    });
  });
}

if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url), {
    env: SHARE_ENV,
    resourceLimits: { stackSizeMb: STACK_MB },
  });
  worker.on("error", (err) => {
    console.error(err);
    process.exit(1);
  });
  worker.on("exit", (code) => process.exit(code));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => worker.postMessage("stop"));
  }
} else {
  await main();
}
