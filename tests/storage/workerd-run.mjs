// Serves a bundled test Worker on workerd through Miniflare (runtimes/worker's pinned copy),
// with a fresh in-memory R2 bucket bound as FILES, asks it for each target, and prints
// {"<target>": <its JSON answer>, ...} on stdout.
//
//   node tests/storage/workerd-run.mjs <worker.mjs> <compatibility-date> '<bindings JSON>' r2 s3
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import process from "node:process";

const tooling = fileURLToPath(new URL("../../runtimes/worker/package.json", import.meta.url));
const { Miniflare } = await import(
  pathToFileURL(createRequire(tooling).resolve("miniflare")).href
);

const [scriptPath, compatibilityDate, bindings, ...targets] = process.argv.slice(2);
const mf = new Miniflare({
  modules: true,
  scriptPath,
  // Module names are relative to this; the bundle lives in a temporary folder.
  modulesRoot: dirname(scriptPath),
  compatibilityDate,
  // For node:assert in the test cases only; the adapters themselves use no Node API.
  compatibilityFlags: ["nodejs_compat"],
  r2Buckets: ["FILES"],
  bindings: JSON.parse(bindings),
  cf: false,
});
try {
  const results = {};
  for (const target of targets) {
    const response = await mf.dispatchFetch(`http://worker.test/${target}`);
    const text = await response.text();
    if (!response.ok) throw new Error(`/${target} answered ${response.status}: ${text}`);
    results[target] = JSON.parse(text);
  }
  process.stdout.write(JSON.stringify(results));
} finally {
  await mf.dispose();
}
