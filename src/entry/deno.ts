/** Deno entry: reads the environment, opens the database and serves the app. */
import { fileURLToPath } from "node:url";
// The package root module also loads the whole UI bundle; only the path helper is needed.
import getAbsoluteFSPath from "swagger-ui-dist/absolute-path.js";
import { boot, listening } from "./boot.ts";
import { denoProcessSpawner } from "../cad/deno-process.ts";

const started = performance.now();
const booted = await boot({
  env: Deno.env.toObject(),
  migrationsFolder: fileURLToPath(new URL("../../migrations", import.meta.url)),
  docsFolder: getAbsoluteFSPath(),
  clientAddress: (c) =>
    (c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined)?.remoteAddr?.hostname,
  // Conversions run in child processes: Deno's Worker.terminate() cannot stop a thread busy in
  // WebAssembly, so only a process lets the time limit reclaim a runaway conversion. Deno
  // Deploy starts no processes: there, the converter process does the conversions.
  spawnConverter: Deno.env.get("DENO_DEPLOYMENT_ID") ? undefined : denoProcessSpawner(),
});
if (!booted.ok) {
  console.error("Invalid configuration:");
  for (const line of booted.errors) console.error(`  ${line}`);
  Deno.exit(1);
}
const { config, database, app, stop: stopWork } = booted;
for (const note of booted.notes) console.log(note);

const server = Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ hostname, port }) => {
    const ms = Math.round(performance.now() - started);
    console.log(listening(config, `Deno ${Deno.version.deno}`, hostname, port, ms));
  },
}, app.fetch);

const stop = async () => {
  await server.shutdown();
  await stopWork();
  database.close();
  Deno.exit(0);
};
try {
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
} catch {
  // Hosted platforms (Deno Deploy) own the process and offer no signals; nothing to clean up.
}
