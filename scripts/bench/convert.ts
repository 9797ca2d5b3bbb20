/**
 * Model conversion timings on Deno, through the real pool: prints a markdown table.
 *
 *   deno run -A scripts/bench/convert.ts [--runs 5] [--stl-mb 50] [--spawner worker|process]
 *
 * Workers are Web Workers (deno-worker.ts), or child processes with `--spawner process`
 * (deno-process.ts). Each model is measured in a process of its own, so nothing is shared:
 * cold = from creating the converter (a new worker, the kernel loaded) until the first GLB is
 * back; first = the first conversion in a second worker whose kernel is loaded but whose code is
 * not yet optimised (what a user sees after the pool recycles a worker); warm = the median of
 * `runs` conversions after that. Peak RSS is the whole process, workers included (and its
 * converter processes with `--spawner process`), sampled every 10 ms. Timer lag is the largest
 * delay of a 5 ms interval on the main thread during the warm runs: it stays small because the
 * work is elsewhere. A synthetic binary STL of `--stl-mb` MB shows the STL path at the upload
 * limit.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { denoProcessSpawner } from "../../src/cad/deno-process.ts";
import { denoSpawner } from "../../src/cad/deno-worker.ts";
import { createModelConverter } from "../../src/cad/pool.ts";
import type { SpawnWorker } from "../../src/cad/protocol.ts";
import type { ModelFormat } from "../../src/cad/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    "stl-mb": { type: "string", default: "50" },
    one: { type: "string" },
    spawner: { type: "string", default: "worker" },
  },
});
const RUNS = Math.max(1, Number(values.runs));
const STL_MB = Math.max(1, Number(values["stl-mb"]));
const spawner = values.spawner === "process" ? denoProcessSpawner : denoSpawner;
const STEP_DIR = fileURLToPath(new URL("../../../shared/fixtures/step", import.meta.url));
const MB = 1024 * 1024;

/** RSS of this process's children (the converter processes), from Linux's /proc. */
function childrenRss(): number {
  let total = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
      if (Number(status.match(/^PPid:\s+(\d+)/m)?.[1]) !== Deno.pid) continue;
      total += Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
    } catch {
      // It ended while being looked at.
    }
  }
  return total;
}

let peakRss = 0;
const sampler = setInterval(() => {
  const children = values.spawner === "process" ? childrenRss() : 0;
  peakRss = Math.max(peakRss, Deno.memoryUsage().rss + children);
}, 10);

/** A binary STL: a grid of `count` small triangles, normals left zero for the reader to compute. */
function syntheticStl(megabytes: number): Uint8Array {
  const count = Math.floor((megabytes * MB - 84) / 50);
  const bytes = new Uint8Array(84 + 50 * count);
  const view = new DataView(bytes.buffer);
  view.setUint32(80, count, true);
  const side = Math.ceil(Math.sqrt(count));
  for (let t = 0; t < count; t++) {
    const x = (t % side) * 0.1, y = Math.floor(t / side) * 0.1;
    const at = 84 + t * 50 + 12;
    const v = [x, y, 0, x + 0.1, y, 0, x, y + 0.1, 0.01];
    for (let k = 0; k < 9; k++) view.setFloat32(at + k * 4, v[k], true);
  }
  return bytes;
}

/** The spawn, and a promise for the moment its first worker has loaded the kernel. */
function watched(): { spawn: SpawnWorker; ready: Promise<void> } {
  const inner = spawner();
  let resolve = () => {};
  const ready = new Promise<void>((r) => (resolve = r));
  return {
    ready,
    spawn: (events) =>
      inner({
        message: (reply) => {
          if (reply.type === "ready") resolve();
          events.message(reply);
        },
        failed: events.failed,
      }),
  };
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const out = await work();
  return [out, performance.now() - started];
}

interface Row {
  name: string;
  kb: number;
  triangles: number;
  cold: number;
  first: number;
  warm: number;
  lag: number;
  rss: number;
}

async function measure(name: string, format: ModelFormat, bytes: Uint8Array): Promise<Row> {
  const options = { maxBytes: 64 * MB, timeoutMs: 120_000 };
  // Cold: nothing started yet.
  const coldPool = createModelConverter({ ...options, spawn: spawner(), warm: false });
  const [coldResult, cold] = await timed(() => coldPool.convert(format, bytes));
  await coldPool.close();
  if (!coldResult.ok) throw new Error(`${name}: ${coldResult.error}`);

  const w = watched();
  const pool = createModelConverter({ ...options, spawn: w.spawn, recycleAfter: RUNS + 2 });
  await w.ready;
  const [, first] = await timed(() => pool.convert(format, bytes));
  const warm: number[] = [];
  let lag = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 5);
    last = now;
  }, 5);
  for (let i = 0; i < RUNS; i++) {
    const [result, ms] = await timed(() => pool.convert(format, bytes));
    if (!result.ok) throw new Error(`${name}: ${result.error}`);
    warm.push(ms);
  }
  clearInterval(ticker);
  await pool.close();
  warm.sort((a, b) => a - b);
  return {
    name,
    kb: bytes.length / 1024,
    triangles: coldResult.triangles,
    cold,
    first,
    warm: warm[Math.floor(warm.length / 2)],
    lag,
    rss: peakRss / MB,
  };
}

const MODELS = ["cube.stp", "rounded-cube.step", "dm1-id-214.stp", "as1-oc-214.stp", "stl"];

if (values.one) {
  const row = values.one === "stl"
    ? await measure(`binary STL, zero normals`, "stl", syntheticStl(STL_MB))
    : await measure(values.one, "step", await Deno.readFile(`${STEP_DIR}/${values.one}`));
  clearInterval(sampler);
  console.log(JSON.stringify(row));
} else {
  clearInterval(sampler);
  const rows: Row[] = [];
  for (const model of MODELS) {
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", import.meta.filename!, "--one", model, ...Deno.args],
      stderr: "inherit",
    }).output();
    if (!child.success) Deno.exit(1);
    const lines = new TextDecoder().decode(child.stdout).trim().split("\n");
    rows.push(JSON.parse(lines.at(-1)!));
  }
  const f0 = (n: number) => n.toFixed(0);
  console.log(
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, ${values.spawner} ` +
      `workers; warm = median of ${RUNS}\n`,
  );
  console.log(
    "| model | size KB | triangles | cold ms | first ms | warm ms | max timer lag ms | peak RSS MB |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${f0(r.kb)} | ${r.triangles} | ${f0(r.cold)} | ${f0(r.first)} | ` +
        `${f0(r.warm)} | ${r.lag.toFixed(1)} | ${f0(r.rss)} |`,
    );
  }
}
