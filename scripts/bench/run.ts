/**
 * `deno task bench`: measures the API against the ceiling of the HTTP stack on this machine.
 *
 *   deno task bench                     # 2 000 parts, 1 and 32 connections, 5 s per run
 *   deno task bench --parts 50000 --duration 10
 *   deno task bench --no-cache          # the server's response cache turned off
 *   deno task bench --scenarios files   # only the files group (uploads, downloads, STEP → GLB)
 *
 * Starts the real server (production mode) on a fresh file database seeded with realistic parts,
 * drives each scenario with wrk, then runs a bare Deno.serve returning the same bytes (the
 * ceiling) under the same load, and prints req/s, p50 and p99 for both and their ratio. Any
 * non-2xx answer makes the run invalid. Then the files group (files.ts) runs on the same
 * database with a server of its own. Results also go to bench-results/<date>.json.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { openLibsql } from "../../src/db/client.ts";
import { PartsRepo } from "../../src/db/parts-repo.ts";
import { benchParts, SEARCH_WORDS } from "./data.ts";
import { runWrk, type WrkRun } from "./wrk.ts";
import { filesTables, runFilesBench } from "./files.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    parts: { type: "string", default: "2000" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "1,32" },
    scenarios: { type: "string" },
    out: { type: "string" },
    "no-cache": { type: "boolean", default: false },
  },
});
const N = Number(args.values.parts);
const DURATION = Number(args.values.duration);
const CONNECTIONS = args.values.connections!.split(",").map(Number);

const root = fileURLToPath(new URL("../..", import.meta.url));
const here = fileURLToPath(new URL(".", import.meta.url));

async function have(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return out.success || out.code === 1; // wrk --version exits 1
  } catch {
    return false;
  }
}
if (!(await have("wrk"))) {
  console.error("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk");
  console.error("(macOS: brew install wrk)");
  Deno.exit(1);
}

function freePort(): number {
  const l = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const tmp = await Deno.makeTempDir({ prefix: "parts-bench-" });
const dbUrl = `file:${tmp}/parts.db`;
const key = crypto.randomUUID() + crypto.randomUUID();

// Seed through the repository, in batches, each part with its "created" event.
{
  const t0 = performance.now();
  const db = await openLibsql({ url: dbUrl, migrationsFolder: `${root}/migrations` });
  const repo = new PartsRepo(db.db);
  const rows = benchParts(N, Date.now());
  for (let i = 0; i < rows.length; i += 500) {
    await repo.insertMany(rows.slice(i, i + 500), { name: "bench seed" });
  }
  db.close();
  console.log(`Seeded ${N} parts in ${Math.round(performance.now() - t0)} ms (${dbUrl})`);
}

const port = freePort();
const base = `http://127.0.0.1:${port}`;
const auth = { "X-API-Key": key };

function startServer(): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    // The same V8 setting as `deno task serve`: a small young generation keeps memory low.
    args: ["run", "-A", "--v8-flags=--max-semi-space-size=2", `${root}/src/entry/deno.ts`],
    cwd: root,
    env: {
      APP_ENV: "production",
      DATABASE_URL: dbUrl,
      FILES_URL: `file:${tmp}/files`,
      SECRET_KEY: key,
      PORT: String(port),
      HOST: "127.0.0.1",
      SEED_SAMPLE_DATA: "false",
      // --no-cache measures every request doing its full database work.
      RESPONSE_CACHE_MB: args.values["no-cache"] ? "0" : "32",
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

async function waitFor(url: string, headers: Record<string, string>) {
  for (let i = 0; i < 2000; i++) {
    try {
      const res = await fetch(url, { headers });
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no answer from ${url}`);
}

// Cold start: process start to the first successful list, median of three starts.
const starts: number[] = [];
let server!: Deno.ChildProcess;
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  server = startServer();
  await waitFor(`${base}/api/parts?limit=1`, auth);
  starts.push(performance.now() - t0);
  if (i < 2) {
    server.kill("SIGTERM");
    await server.status;
  }
}
const coldStartMs = starts.sort((a, b) => a - b)[1];

interface Scenario {
  name: string;
  /** Lua for wrk: sets `request` (and maybe `init`). */
  lua: string;
  /** A representative request whose answer the ceiling replays. */
  sample: { method: string; path: string; body?: string };
  read: boolean;
}

const luaHeaders =
  `wrk.headers["X-API-Key"] = "${key}"\nwrk.headers["Content-Type"] = "application/json"\n`;
const stageIds = await (async () => {
  const res = await fetch(`${base}/api/parts?category=cnc`, { headers: auth });
  const free = (p: { id: number; assigned: string | null }) => p.assigned === null;
  const cnc = (await res.json()).parts.filter(free).map((p: { id: number }) => p.id);
  const res2 = await fetch(`${base}/api/parts?category=hand`, { headers: auth });
  return [...cnc, ...(await res2.json()).parts.filter(free).map((p: { id: number }) => p.id)];
})();

const scenarios: Scenario[] = [
  {
    name: "get one part",
    read: true,
    lua: `${luaHeaders}request = function()
  return wrk.format("GET", "/api/parts/" .. math.random(1, ${N}))
end`,
    sample: { method: "GET", path: `/api/parts/${Math.ceil(N / 2)}` },
  },
  {
    name: "list page (limit=50, sort_by=name)",
    read: true,
    lua: `${luaHeaders}wrk.path = "/api/parts?limit=50&sort_by=name"`,
    sample: { method: "GET", path: "/api/parts?limit=50&sort_by=name" },
  },
  {
    name: "whole stage (?category=hand)",
    read: true,
    lua: `${luaHeaders}wrk.path = "/api/parts?category=hand"`,
    sample: { method: "GET", path: "/api/parts?category=hand" },
  },
  {
    name: "search (limit=50)",
    read: true,
    lua: `${luaHeaders}local words = {${SEARCH_WORDS.map((w) => `"${w}"`).join(",")}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/parts?search=" .. words[(i % #words) + 1] .. "&limit=50")
end`,
    sample: { method: "GET", path: `/api/parts?search=${SEARCH_WORDS[0]}&limit=50` },
  },
  {
    name: "stats",
    read: true,
    lua: `${luaHeaders}wrk.path = "/api/parts/stats"`,
    sample: { method: "GET", path: "/api/parts/stats" },
  },
  {
    name: "claim/unclaim cycle",
    read: false,
    // Every claim uses the same name, so a claim of a part this run already holds is a
    // harmless 200 repeat rather than a 409: every answer is 2xx, and writes really happen.
    lua: `${luaHeaders}local ids = {${stageIds.join(",")}}
local i = 0
request = function()
  i = i + 1
  local id = ids[math.random(1, #ids)]
  if i % 2 == 0 then
    return wrk.format("POST", "/api/parts/" .. id .. "/assign", nil, '{"assigned":"Bench"}')
  end
  return wrk.format("POST", "/api/parts/" .. id .. "/unclaim", nil, "{}")
end`,
    sample: {
      method: "POST",
      path: `/api/parts/${stageIds[0]}/assign`,
      body: '{"assigned":"Bench"}',
    },
  },
].filter((s) =>
  !args.values.scenarios || args.values.scenarios.split(",").some((f) => s.name.includes(f))
);

type Result = Omit<WrkRun, "mibPerSecond">;

function wrk(url: string, lua: string, connections: number): Promise<Result> {
  return runWrk({ url, lua, connections, seconds: DURATION, timeoutSeconds: 5, tmp });
}

async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
}

const results: {
  scenario: string;
  connections: number;
  ours: Result;
  ceiling: Result;
  ratio: number;
}[] = [];
let invalid = false;
const ceilingPort = freePort();

for (const s of scenarios) {
  // Capture the real answer for the ceiling to replay.
  const res = await fetch(base + s.sample.path, {
    method: s.sample.method,
    headers: { ...auth, "Content-Type": "application/json" },
    body: s.sample.body,
  });
  const capture = `${tmp}/capture.json`;
  await Deno.writeTextFile(
    capture,
    JSON.stringify({ type: res.headers.get("content-type"), body: await res.text() }),
  );
  const ceiling = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${here}/ceiling.ts`, capture, String(ceilingPort)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = ceiling.stdout.getReader();
  await reader.read(); // "ready"
  reader.releaseLock();
  for (const c of CONNECTIONS) {
    const ours = await wrk(base, s.lua, c);
    const ceil = await wrk(`http://127.0.0.1:${ceilingPort}`, s.lua, c);
    if (ours.non2xx > 0 || ours.errors > 0) invalid = true;
    results.push({
      scenario: s.name,
      connections: c,
      ours,
      ceiling: ceil,
      ratio: ours.rps / ceil.rps,
    });
    console.log(
      `${s.name.padEnd(36)} c=${String(c).padStart(2)}  ours ${
        ours.rps.toFixed(0).padStart(6)
      } req/s ` +
        `p50 ${ours.p50_ms.toFixed(2)} p99 ${ours.p99_ms.toFixed(2)} ms | ceiling ${
          ceil.rps.toFixed(0).padStart(6)
        } req/s | ratio ${(ours.rps / ceil.rps).toFixed(2)}` +
        (ours.non2xx || ours.errors
          ? `  INVALID: ${ours.non2xx} non-2xx, ${ours.errors} errors`
          : ""),
    );
  }
  ceiling.kill("SIGTERM");
  await ceiling.status;
}

const rss = await rssMb(server.pid);
server.kill("SIGTERM");
await server.status;

// The files group (scripts/bench/files.ts): its own server (files on disk, 64 MiB uploads) on
// the same database, run after the main server has stopped so the two do not share the CPU.
const wantFiles = !args.values.scenarios || args.values.scenarios.split(",").includes("files");
const files = wantFiles
  ? await runFilesBench({
    parts: N,
    duration: DURATION,
    responseCache: !args.values["no-cache"],
    databaseUrl: dbUrl,
  })
  : undefined;
if (files && !files.valid) invalid = true;

const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
const report = {
  date: new Date().toISOString(),
  machine: { cpu, cores: navigator.hardwareConcurrency, deno: Deno.version.deno },
  parts: N,
  durationSeconds: DURATION,
  responseCache: !args.values["no-cache"],
  coldStartMs: Math.round(coldStartMs),
  serverRssMb: Math.round(rss),
  valid: !invalid,
  results,
  ...(files ? { files } : {}),
};

console.log(
  `\n${N} parts, ${DURATION} s per run, response cache ${
    args.values["no-cache"] ? "off" : "on"
  }, ${cpu}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`,
);
console.log(
  "| scenario | conns | ours req/s | p50 ms | p99 ms | ceiling req/s | ceiling p99 ms | ours/ceiling |",
);
console.log("| --- | --: | --: | --: | --: | --: | --: | --: |");
for (const r of results) {
  console.log(
    `| ${r.scenario} | ${r.connections} | ${r.ours.rps.toFixed(0)} | ${
      r.ours.p50_ms.toFixed(2)
    } | ${r.ours.p99_ms.toFixed(2)} | ${r.ceiling.rps.toFixed(0)} | ${
      r.ceiling.p99_ms.toFixed(2)
    } | ${r.ratio.toFixed(2)} |`,
  );
}
console.log(
  `\nServer RSS after the run: ${report.serverRssMb} MB; cold start: ${report.coldStartMs} ms`,
);
if (files) console.log(`\n${filesTables(files)}`);

const outFile = args.values.out ??
  `${root}/bench-results/${report.date.replace(/[:.]/g, "-")}-${N}.json`;
await Deno.mkdir(outFile.replace(/[^/]*$/, ""), { recursive: true });
await Deno.writeTextFile(outFile, JSON.stringify(report, null, 2));
console.log(`Results: ${outFile}`);
await Deno.remove(tmp, { recursive: true });
if (invalid) {
  console.error("INVALID RUN: some requests were not answered with 2xx");
  Deno.exit(1);
}
