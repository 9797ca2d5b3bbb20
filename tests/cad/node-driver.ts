/**
 * Run by node.test.ts under Node 20, bundled beside step-worker.mjs: drives the real pool with
 * worker_threads and prints what happened as one JSON line.
 *
 *   node driver.mjs <fixtures folder> <folder for the GLBs>
 */
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { nodeSpawner } from "../../src/cad/node-worker.ts";
import { createModelConverter } from "../../src/cad/pool.ts";
import type { SpawnWorker } from "../../src/cad/protocol.ts";
import type { ConversionResult } from "../../src/cad/types.ts";

const [fixtures, out] = process.argv.slice(2);
const MB = 1024 * 1024;

function summary(name: string, result: ConversionResult) {
  if (!result.ok) return { name, ok: false, badInput: result.badInput, error: result.error };
  writeFileSync(`${out}/${name}.glb`, result.glb);
  return { name, ok: true, meshes: result.meshes, triangles: result.triangles };
}

const report: Record<string, unknown> = { node: process.versions.node };
const pool = createModelConverter({ spawn: nodeSpawner(), maxBytes: 50 * MB });
const results = [];
for (const name of ["cube.stp", "as1-oc-214.stp", "broken/truncated.step"]) {
  const bytes = readFileSync(`${fixtures}/${name}`);
  const before = bytes.toString("latin1");
  results.push(summary(name.replace("/", "-"), await pool.convert("step", bytes)));
  // A Buffer is what a Node server holds: the conversion must leave it as it was.
  report.callerBytesIntact = (report.callerBytesIntact ?? true) &&
    bytes.toString("latin1") === before;
}
// The event loop while a conversion runs.
let last = performance.now();
let maxLag = 0;
const timer = setInterval(() => {
  const now = performance.now();
  maxLag = Math.max(maxLag, now - last - 5);
  last = now;
}, 5);
const started = performance.now();
const again = await pool.convert("step", readFileSync(`${fixtures}/as1-oc-214.stp`));
report.conversionMs = Math.round(performance.now() - started);
clearInterval(timer);
results.push(summary("as1-again", again));
report.maxLagMs = Math.round(maxLag * 10) / 10;
await pool.close();

// Lets the driver wait until the second worker (the replacement) has loaded its kernel.
let spawned = 0;
let replacementReady = () => {};
const replacement = new Promise<void>((resolve) => (replacementReady = resolve));
const watched: SpawnWorker = (events) => {
  const n = ++spawned;
  return nodeSpawner()({
    message: (reply) => {
      if (reply.type === "ready" && n === 2) replacementReady();
      events.message(reply);
    },
    failed: events.failed,
  });
};
const limited = createModelConverter({ spawn: watched, maxBytes: 50 * MB, timeoutMs: 300 });
results.push(
  summary("timed-out", await limited.convert("step", readFileSync(`${fixtures}/as1-oc-214.stp`))),
);
await Promise.race([
  replacement,
  new Promise((_, reject) =>
    // Unref'd: once the replacement is ready, this timer must not keep Node running.
    setTimeout(() => reject(new Error("no replacement worker")), 20_000).unref()
  ),
]);
const stl = new TextEncoder().encode(
  "solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid t\n",
);
results.push(summary("after-timeout", await limited.convert("stl", stl)));
await limited.close();

report.results = results;
console.log(JSON.stringify(report));
