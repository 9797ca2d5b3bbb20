// Serves the built Worker (dist/worker/worker.js) on workerd through Miniflare, with the
// bindings wrangler.jsonc declares (D1 as DB, static assets as ASSETS) kept on local disk.
// The test runner's Worker server; `deno task wrangler dev` is the interactive equivalent.
//
//   node runtimes/worker/serve.mjs --port 8787 --persist-to .wrangler/state [--var NAME:VALUE]...
//   --no-d1 leaves the D1 binding out (the Worker then uses DATABASE_URL, remote libSQL).
import { resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const root = resolve(import.meta.dirname, "../..");
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    ip: { type: "string", default: "127.0.0.1" },
    "persist-to": { type: "string", default: resolve(root, ".wrangler/state") },
    var: { type: "string", multiple: true, default: [] },
    "no-d1": { type: "boolean", default: false },
  },
});
const vars = Object.fromEntries(
  values.var.map((pair) => [pair.slice(0, pair.indexOf(":")), pair.slice(pair.indexOf(":") + 1)]),
);

const { workerOptions } = unstable_getMiniflareWorkerOptions(resolve(root, "wrangler.jsonc"));
if (values["no-d1"]) delete workerOptions.d1Databases;
const mf = new Miniflare({
  ...workerOptions,
  name: "parts-api",
  modules: true,
  scriptPath: resolve(root, "dist/worker/worker.js"),
  bindings: { ...workerOptions.bindings, ...vars },
  // The same layout as `wrangler d1 migrations apply --local --persist-to DIR`.
  d1Persist: resolve(values["persist-to"], "v3/d1"),
  host: values.ip,
  port: Number(values.port),
  // Request.cf would be fetched from Cloudflare; a placeholder is enough here.
  cf: false,
});
const url = await mf.ready;
console.log(`Ready on ${url}`);

const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
