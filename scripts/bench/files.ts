/**
 * The files benchmark: uploads, downloads, memory during a large upload, STEP → GLB, and the
 * latency of the rest of the API while conversions run.
 *
 *   deno run -A scripts/bench/files.ts                 # on its own
 *   deno run -A scripts/bench/files.ts --duration 10 --out results.json
 *   deno task bench --scenarios files                  # the `files` group of `deno task bench`
 *
 * Starts the real server (production mode, files on disk) on a seeded file database, and a bare
 * Deno.serve (ceiling.ts --file) that streams the same file from disk and reads and discards
 * upload bodies. For a 10 MiB file it measures upload MiB/s and p50/p99 at 1 and 4 connections
 * (a fetch driver posting multipart bodies; every file is distinct, so every upload is really
 * stored) and download MiB/s and req/s at 1 and 8 connections (wrk), each against the ceiling;
 * plain write + fsync of the same bytes shows what the disk allows. Then the server's RSS growth
 * during one 50 MiB upload (sampled every 20 ms), the time from uploading a STEP assembly to
 * GET /model answering 200, and "get one part" with no conversion running and while fresh
 * copies of that assembly are uploaded and converted back to back — at full load (wrk's closed
 * loop) and at a paced load — with, as the control, PDF uploads at the same pace and nothing to
 * convert (every upload expires the response cache, conversion or not). Last, convert.ts gives
 * STEP → GLB time and peak memory per test model in-process, with the server stopped.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { openLibsql } from "../../src/db/client.ts";
import { PartsRepo } from "../../src/db/parts-repo.ts";
import { benchParts } from "./data.ts";
import { runWrk, type WrkRun } from "./wrk.ts";

const MiB = 1024 * 1024;
const FILE_BYTES = 10 * MiB;
const BIG_FILE_BYTES = 50 * MiB;
const UPLOAD_CONNECTIONS = [1, 4];
const DOWNLOAD_CONNECTIONS = [1, 8];
const GET_ONE_CONNECTIONS = 8;
/** Think time of each connection in the paced get-one runs: at most 8 × 200 req/s. */
const PACED_DELAY_MS = 5;
const ASSEMBLY = "as1-oc-214.stp";
const TARGETS = { downloadRatio: 0.5, rssPerFile: 2, coldMs: 2000, warmMs: 500, p99Change: 20 };

const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const sibling = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
const fixtures = fileURLToPath(new URL("../../../shared/fixtures/step", import.meta.url));

/** How the files benchmark runs. */
export interface FilesBenchOptions {
  /** Parts in the database ("get one part" reads random ids 1..parts). */
  parts: number;
  /** Seconds of each timed run. */
  duration: number;
  /** The server's response cache on (as `deno task bench` without --no-cache). */
  responseCache: boolean;
  /** An already seeded database with `parts` parts; a fresh one is seeded otherwise. */
  databaseUrl?: string;
  /** Skip convert.ts (in-process conversion per model). */
  skipConvert?: boolean;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

export interface UploadStats {
  uploads: number;
  mibPerSecond: number;
  p50_ms: number;
  p99_ms: number;
  failures: number;
}

export type WrkStats = WrkRun;

export interface GetOneRun {
  load: string;
  idle: WrkStats;
  converting: WrkStats;
  /** Conversions that finished during the converting run. */
  conversions: number;
  /** Upload → GET /model 200 of those conversions. */
  conversionMs: { p50: number; max: number };
  p99ChangePercent: number;
  /**
   * The control: PDFs of the assembly's size uploaded at the same pace, nothing converted.
   * Every upload is an event, so it also expires the response cache as the STEP uploads do.
   */
  uploadsOnly: WrkStats;
  uploads: number;
  uploadsOnlyP99ChangePercent: number;
}

/** Everything the files benchmark measured; goes into the bench JSON under `files`. */
export interface FilesReport {
  fileMiB: number;
  durationSeconds: number;
  responseCache: boolean;
  /** /proc/loadavg (1 min) before and after: other work on the machine skews every figure. */
  loadAverage: { before: number; after: number };
  upload: {
    connections: number;
    ours: UploadStats;
    ceiling: UploadStats;
    /** The same bytes written to a file and fsynced, from as many loops. */
    diskMiBPerSecond: number;
    ratio: number;
  }[];
  download: { connections: number; ours: WrkStats; ceiling: WrkStats; ratio: number }[];
  uploadRss: {
    fileMiB: number;
    uploadMs: number;
    baselineMb: number;
    peakMb: number;
    growthMb: number;
    growthPerFileSize: number;
    afterMb: number;
    samples: number;
  };
  /** A fresh copy of the assembly uploaded, until GET /model answers 200, through the server. */
  endToEnd: { model: string; run: string; uploadMs: number; modelMs: number; glbBytes: number }[];
  getOne: { connections: number; runs: GetOneRun[] };
  /** convert.ts's table, by column name (null when it did not run). */
  conversion: { rows: Record<string, string | number>[]; table: string } | null;
  targets: { name: string; value: string; met: boolean }[];
  problems: string[];
  valid: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): number {
  const l = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))];
}

async function loadAverage(): Promise<number> {
  return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
}

async function waitFor(url: string, headers: Record<string, string>) {
  for (let i = 0; i < 2000; i++) {
    try {
      const res = await fetch(url, { headers });
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await sleep(5);
  }
  throw new Error(`no answer from ${url}`);
}

/** Resident memory of a process and all its descendants (the server may run under a wrapper). */
async function treeRssMb(pid: number): Promise<number> {
  let kb = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop()!;
    try {
      const status = await Deno.readTextFile(`/proc/${p}/status`);
      kb += Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
      for await (const task of Deno.readDir(`/proc/${p}/task`)) {
        const children = await Deno.readTextFile(`/proc/${p}/task/${task.name}/children`);
        for (const c of children.split(" ").filter(Boolean)) pending.push(Number(c));
      }
    } catch { /* the process ended meanwhile */ }
  }
  return kb / 1024;
}

function wrk(
  url: string,
  lua: string,
  connections: number,
  seconds: number,
  tmp: string,
): Promise<WrkStats> {
  return runWrk({ url, lua, connections, seconds, timeoutSeconds: 10, tmp });
}

/** Pseudo-random filler, made once and shared by every generated file. */
function filler(bytes: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(bytes, i + 65536)));
  }
  return out;
}

/**
 * A PDF of exactly `size` bytes whose first lines are unique to `seq`, so its SHA-256 differs
 * from every other upload's: the store keeps one copy of identical content and would skip the
 * write.
 */
function pdfFile(seq: string, size: number, fill: Uint8Array<ArrayBuffer>): Blob {
  const head = new TextEncoder().encode(`%PDF-1.4\n%bench ${seq}\n`);
  return new Blob([head, fill.subarray(0, size - head.byteLength)]);
}

/** A multipart body with the one field `file`, built from parts so the file is not copied. */
function multipart(file: Blob, filename: string): { body: Blob; type: string } {
  const boundary = `----bench${crypto.randomUUID().replaceAll("-", "")}`;
  const body = new Blob([
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
    "Content-Type: application/octet-stream\r\n\r\n",
    file,
    `\r\n--${boundary}--\r\n`,
  ]);
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

const pdfUpload = (seq: string, size: number, fill: Uint8Array<ArrayBuffer>) =>
  multipart(pdfFile(seq, size, fill), `bench-${seq}.pdf`);

/** A copy of a STEP file with a comment line of its own: a new SHA-256, the same model. */
function stepCopy(step: Uint8Array, seq: string): Uint8Array<ArrayBuffer> {
  const eol = step.indexOf(0x0a) + 1;
  const comment = new TextEncoder().encode(`/* bench copy ${seq} ${crypto.randomUUID()} */\n`);
  const out = new Uint8Array(step.byteLength + comment.byteLength);
  out.set(step.subarray(0, eol));
  out.set(comment, eol);
  out.set(step.subarray(eol), eol + comment.byteLength);
  return out;
}

async function postFile(
  url: string,
  headers: Record<string, string>,
  form: { body: Blob; type: string },
): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { ...headers, "Content-Type": form.type },
    body: form.body,
  });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t0 };
}

/** Posts distinct 10 MiB files from `connections` loops for `seconds`. */
async function uploadLoop(
  url: (connection: number) => string,
  headers: Record<string, string>,
  connections: number,
  seconds: number,
  fill: Uint8Array<ArrayBuffer>,
  label: string,
): Promise<UploadStats> {
  const latencies: number[] = [];
  let failures = 0;
  let bytes = 0;
  let seq = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: connections }, async (_, i) => {
    while (performance.now() < end) {
      const r = await postFile(url(i), headers, pdfUpload(`${label}-${seq++}`, FILE_BYTES, fill));
      latencies.push(r.ms);
      if (r.status === 201) bytes += FILE_BYTES;
      else failures++;
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    uploads: latencies.length,
    mibPerSecond: bytes / MiB / wall,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    failures,
  };
}

/** What the disk gives the server's store at best: write 10 MiB to a new file, fsync, close. */
async function diskWrite(
  folder: string,
  connections: number,
  seconds: number,
  fill: Uint8Array<ArrayBuffer>,
): Promise<number> {
  let bytes = 0;
  let seq = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) {
      const path = `${folder}/disk-${seq++}`;
      const file = await Deno.open(path, { write: true, createNew: true });
      const data = fill.subarray(0, FILE_BYTES);
      for (let at = 0; at < data.byteLength;) at += await file.write(data.subarray(at));
      await file.sync();
      file.close();
      await Deno.remove(path);
      bytes += FILE_BYTES;
    }
  }));
  return bytes / MiB / ((performance.now() - t0) / 1000);
}

/** Runs convert.ts (in-process conversions per fixture model) and reads back its table. */
async function convertBench(): Promise<NonNullable<FilesReport["conversion"]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", sibling("convert.ts")],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`convert.ts failed:\n${text}`);
  const lines = text.split("\n").filter((l) => l.startsWith("|"));
  const cells = (line: string) => line.slice(1, -1).split("|").map((c) => c.trim());
  const [header, , ...body] = lines;
  if (!header) throw new Error(`convert.ts printed no table:\n${text}`);
  const names = cells(header);
  const rows = body.map((line) =>
    Object.fromEntries(
      cells(line).map((v, i) => [names[i], v !== "" && Number.isFinite(Number(v)) ? Number(v) : v]),
    )
  );
  return { rows, table: lines.join("\n") };
}

/** Runs the files benchmark against a server it starts, and returns what it measured. */
export async function runFilesBench(o: FilesBenchOptions): Promise<FilesReport> {
  const log = o.log ?? console.log;
  // Parts 1–6 and 10–13 receive files.
  if (o.parts < 20) throw new Error("the files benchmark needs at least 20 parts");
  const problems: string[] = [];
  const loadBefore = await loadAverage();
  const tmp = await Deno.makeTempDir({ prefix: "parts-bench-files-" });
  const key = crypto.randomUUID() + crypto.randomUUID();
  const auth = { "X-API-Key": key };
  let dbUrl = o.databaseUrl;
  if (!dbUrl) {
    dbUrl = `file:${tmp}/parts.db`;
    const db = await openLibsql({ url: dbUrl, migrationsFolder: `${root}/migrations` });
    const repo = new PartsRepo(db.db);
    const rows = benchParts(o.parts, Date.now());
    for (let i = 0; i < rows.length; i += 500) {
      await repo.insertMany(rows.slice(i, i + 500), { name: "bench seed" });
    }
    db.close();
  }

  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = new Deno.Command(Deno.execPath(), {
    // The same V8 setting as `deno task serve`.
    args: ["run", "-A", "--v8-flags=--max-semi-space-size=2", `${root}/src/entry/deno.ts`],
    cwd: root,
    env: {
      APP_ENV: "production",
      DATABASE_URL: dbUrl,
      SECRET_KEY: key,
      PORT: String(port),
      HOST: "127.0.0.1",
      SEED_SAMPLE_DATA: "false",
      RESPONSE_CACHE_MB: o.responseCache ? "32" : "0",
      FILES_URL: `file:${tmp}/files`,
      MAX_UPLOAD_BYTES: String(64 * MiB),
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let serverRunning = true;
  let ceiling: Deno.ChildProcess | undefined;
  const stopServer = async () => {
    if (!serverRunning) return;
    serverRunning = false;
    server.kill("SIGTERM");
    await server.status;
  };
  try {
    await waitFor(`${base}/api/parts?limit=1`, auth);
    const fill = filler(BIG_FILE_BYTES);
    const uploadUrl = (id: number) => `${base}/api/parts/${id}/upload`;
    const expect201 = (what: string, r: { status: number; text: string }) => {
      if (r.status !== 201) problems.push(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
    };

    // RSS during one 50 MiB upload, first, while the heap is fresh. The conversion worker
    // loads its kernel at start, so wait until the process has settled.
    let baseline = await treeRssMb(server.pid);
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      const now = await treeRssMb(server.pid);
      const settled = Math.abs(now - baseline) < 0.5;
      baseline = now;
      if (settled && i >= 5) break;
    }
    let peak = baseline;
    let samples = 0;
    let uploading = true;
    const sampler = (async () => {
      while (uploading) {
        peak = Math.max(peak, await treeRssMb(server.pid));
        samples++;
        await sleep(20);
      }
    })();
    const big = await postFile(uploadUrl(1), auth, pdfUpload("big", BIG_FILE_BYTES, fill));
    uploading = false;
    await sampler;
    expect201("50 MiB upload", big);
    await sleep(1000);
    const uploadRss = {
      fileMiB: BIG_FILE_BYTES / MiB,
      uploadMs: big.ms,
      baselineMb: baseline,
      peakMb: peak,
      growthMb: peak - baseline,
      growthPerFileSize: (peak - baseline) / (BIG_FILE_BYTES / MiB),
      afterMb: await treeRssMb(server.pid),
      samples,
    };
    log(
      `files: 50 MiB upload in ${big.ms.toFixed(0)} ms, RSS ${baseline.toFixed(0)} → ${
        peak.toFixed(0)
      } MB (+${uploadRss.growthPerFileSize.toFixed(2)}× the file, ${samples} samples)`,
    );

    // The ceiling serves the same 10 MiB file as the download part holds.
    const downloadPart = 3;
    const served = pdfFile("download", FILE_BYTES, fill);
    await Deno.writeFile(`${tmp}/download.pdf`, new Uint8Array(await served.arrayBuffer()));
    expect201(
      "download file",
      await postFile(uploadUrl(downloadPart), auth, multipart(served, "download.pdf")),
    );
    const ceilingPort = freePort();
    const ceilingBase = `http://127.0.0.1:${ceilingPort}`;
    ceiling = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        sibling("ceiling.ts"),
        "--file",
        `${tmp}/download.pdf`,
        String(ceilingPort),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = ceiling.stdout.getReader();
    await reader.read(); // "ready"
    reader.releaseLock();

    // Upload throughput. Each connection posts to a part of its own, as several people would.
    const upload: FilesReport["upload"] = [];
    const diskFolder = `${tmp}/disk`;
    await Deno.mkdir(diskFolder);
    for (const c of UPLOAD_CONNECTIONS) {
      // One untimed upload each way, so neither side is measured compiling its first request.
      expect201(
        "warm-up upload",
        await postFile(uploadUrl(2), auth, pdfUpload(`w${c}`, FILE_BYTES, fill)),
      );
      await postFile(ceilingBase, auth, pdfUpload(`cw${c}`, FILE_BYTES, fill));
      const ours = await uploadLoop((i) => uploadUrl(10 + i), auth, c, o.duration, fill, `c${c}`);
      const ceil = await uploadLoop(() => ceilingBase, auth, c, o.duration, fill, `ceil${c}`);
      const disk = await diskWrite(diskFolder, c, Math.min(2, o.duration), fill);
      if (ours.failures > 0) problems.push(`upload c=${c}: ${ours.failures} answers not 201`);
      const ratio = ours.mibPerSecond / ceil.mibPerSecond;
      upload.push({ connections: c, ours, ceiling: ceil, diskMiBPerSecond: disk, ratio });
      log(
        `files: upload   c=${c}  ours ${
          ours.mibPerSecond.toFixed(0)
        } MiB/s (${ours.uploads} files) ` +
          `p50 ${ours.p50_ms.toFixed(0)} p99 ${ours.p99_ms.toFixed(0)} ms | ceiling ${
            ceil.mibPerSecond.toFixed(0)
          } MiB/s | write+fsync ${disk.toFixed(0)} MiB/s | ratio ${ratio.toFixed(2)}`,
      );
    }

    // Download throughput.
    const download: FilesReport["download"] = [];
    const downloadLua = `wrk.headers["X-API-Key"] = "${key}"
wrk.path = "/api/parts/${downloadPart}/download"
`;
    for (const c of DOWNLOAD_CONNECTIONS) {
      const ours = await wrk(base, downloadLua, c, o.duration, tmp);
      const ceil = await wrk(ceilingBase, downloadLua, c, o.duration, tmp);
      if (ours.non2xx > 0 || ours.errors > 0) {
        problems.push(`download c=${c}: ${ours.non2xx} non-2xx, ${ours.errors} socket errors`);
      }
      const ratio = ours.mibPerSecond / ceil.mibPerSecond;
      download.push({ connections: c, ours, ceiling: ceil, ratio });
      log(
        `files: download c=${c}  ours ${ours.mibPerSecond.toFixed(0)} MiB/s ${
          ours.rps.toFixed(1)
        } req/s p99 ${ours.p99_ms.toFixed(0)} ms | ceiling ${
          ceil.mibPerSecond.toFixed(0)
        } MiB/s | ratio ${ratio.toFixed(2)}`,
      );
    }
    ceiling.kill("SIGTERM");
    await ceiling.status;
    ceiling = undefined;

    // STEP → GLB through the server: upload, then GET /model, which waits for the conversion.
    const assembly = await Deno.readFile(`${fixtures}/${ASSEMBLY}`);
    let copies = 0;
    const convertOnce = async (partId: number) => {
      const form = multipart(new Blob([stepCopy(assembly, String(copies++))]), ASSEMBLY);
      const up = await postFile(uploadUrl(partId), auth, form);
      const t0 = performance.now() - up.ms;
      if (up.status !== 201) throw new Error(`STEP upload: ${up.status} ${up.text.slice(0, 200)}`);
      for (;;) {
        const res = await fetch(`${base}/api/parts/${partId}/model`, { headers: auth });
        const glb = await res.arrayBuffer();
        if (res.status === 200) {
          return { uploadMs: up.ms, modelMs: performance.now() - t0, glbBytes: glb.byteLength };
        }
        if (res.status !== 503) {
          const text = new TextDecoder().decode(glb).slice(0, 200);
          throw new Error(`GET /model: ${res.status} ${text}`);
        }
        await sleep(20);
      }
    };
    const endToEnd: FilesReport["endToEnd"] = [];
    for (const run of ["first on this server", "second", "third"]) {
      const r = await convertOnce(4);
      endToEnd.push({ model: ASSEMBLY, run, ...r });
      log(`files: ${ASSEMBLY} upload → GET /model 200 (${run}): ${r.modelMs.toFixed(0)} ms`);
    }

    // "Get one part" with nothing else running, then while the assembly is uploaded and
    // converted back to back: at full load, and paced well below it.
    const getOneLua = `wrk.headers["X-API-Key"] = "${key}"
request = function()
  return wrk.format("GET", "/api/parts/" .. math.random(1, ${o.parts}))
end
`;
    const pacedLua = `${getOneLua}delay = function() return ${PACED_DELAY_MS} end\n`;
    await wrk(base, getOneLua, GET_ONE_CONNECTIONS, 2, tmp); // warm-up, not recorded
    const runs: GetOneRun[] = [];
    /** Runs wrk while `step` repeats in the background; returns wrk's figures and each step's ms. */
    const whileRepeating = async (lua: string, step: () => Promise<number>) => {
      let going = true;
      const ms: number[] = [];
      let error: unknown;
      const loop = (async () => {
        try {
          while (going) ms.push(await step());
        } catch (err) {
          error = err;
        }
      })();
      await sleep(100); // the first one is under way
      const stats = await wrk(base, lua, GET_ONE_CONNECTIONS, o.duration, tmp);
      const done = ms.length;
      going = false;
      await loop;
      if (error) problems.push(`background work during get-one: ${error}`);
      return { stats, ms: ms.slice(0, done).sort((a, b) => a - b) };
    };
    const p99Change = (r: WrkStats, idle: WrkStats) => (r.p99_ms / idle.p99_ms - 1) * 100;
    for (
      const [load, lua] of [
        ["full load (closed loop)", getOneLua],
        [`paced (${PACED_DELAY_MS} ms between requests per connection)`, pacedLua],
      ]
    ) {
      const idle = await wrk(base, lua, GET_ONE_CONNECTIONS, o.duration, tmp);
      const converting = await whileRepeating(lua, async () => (await convertOnce(5)).modelMs);
      const cycleMs = percentile(converting.ms, 50);
      let pdfs = 0;
      const uploadsOnly = await whileRepeating(lua, async () => {
        const form = pdfUpload(`pace-${pdfs++}`, assembly.byteLength, fill);
        const r = await postFile(uploadUrl(6), auth, form);
        if (r.status !== 201) throw new Error(`PDF upload: ${r.status} ${r.text.slice(0, 200)}`);
        await sleep(Math.max(0, cycleMs - r.ms));
        return r.ms;
      });
      for (
        const [name, r] of [
          ["idle", idle],
          ["converting", converting.stats],
          ["uploads only", uploadsOnly.stats],
        ] as const
      ) {
        if (r.non2xx > 0 || r.errors > 0) {
          problems.push(`get one (${name}): ${r.non2xx} non-2xx, ${r.errors} socket errors`);
        }
      }
      const run: GetOneRun = {
        load,
        idle,
        converting: converting.stats,
        conversions: converting.ms.length,
        conversionMs: { p50: cycleMs, max: converting.ms.at(-1) ?? NaN },
        p99ChangePercent: p99Change(converting.stats, idle),
        uploadsOnly: uploadsOnly.stats,
        uploads: uploadsOnly.ms.length,
        uploadsOnlyP99ChangePercent: p99Change(uploadsOnly.stats, idle),
      };
      runs.push(run);
      log(
        `files: get one, ${load}: p99 ${idle.p99_ms.toFixed(2)} ms idle, ${
          run.converting.p99_ms.toFixed(2)
        } ms during ${run.conversions} conversions (${run.p99ChangePercent.toFixed(0)} %), ${
          run.uploadsOnly.p99_ms.toFixed(2)
        } ms during ${run.uploads} PDF uploads only (${
          run.uploadsOnlyP99ChangePercent.toFixed(0)
        } %)`,
      );
    }
    await stopServer();

    let conversion: FilesReport["conversion"] = null;
    if (!o.skipConvert) {
      log("files: convert.ts (each model in-process, cold and warm)…");
      try {
        conversion = await convertBench();
      } catch (err) {
        problems.push(String(err));
      }
    }

    const targets: FilesReport["targets"] = [
      ...download.map((d) => ({
        name: `download c=${d.connections} ≥ ${TARGETS.downloadRatio} of the ceiling`,
        value: d.ratio.toFixed(2),
        met: d.ratio >= TARGETS.downloadRatio,
      })),
      {
        name: `RSS growth during a 50 MiB upload ≤ ${TARGETS.rssPerFile}× the file`,
        value: `${uploadRss.growthPerFileSize.toFixed(2)}×`,
        met: uploadRss.growthPerFileSize <= TARGETS.rssPerFile,
      },
    ];
    const as1 = conversion?.rows.find((r) => r.model === ASSEMBLY);
    if (as1) {
      for (const [column, limit] of [["cold ms", TARGETS.coldMs], ["warm ms", TARGETS.warmMs]]) {
        const v = Number(as1[column as string]);
        targets.push({
          name: `${ASSEMBLY} ${column} ≤ ${limit} (convert.ts)`,
          value: String(as1[column as string]),
          met: v <= (limit as number),
        });
      }
    }
    for (const r of runs) {
      targets.push({
        name: `get one p99 moves ≤ ${TARGETS.p99Change} % during conversions, ${r.load}`,
        value: signed(r.p99ChangePercent),
        met: r.p99ChangePercent <= TARGETS.p99Change,
      });
    }
    return {
      fileMiB: FILE_BYTES / MiB,
      durationSeconds: o.duration,
      responseCache: o.responseCache,
      loadAverage: { before: loadBefore, after: await loadAverage() },
      upload,
      download,
      uploadRss,
      endToEnd,
      getOne: { connections: GET_ONE_CONNECTIONS, runs },
      conversion,
      targets,
      problems,
      valid: problems.length === 0,
    };
  } finally {
    if (ceiling) {
      ceiling.kill("SIGTERM");
      await ceiling.status;
    }
    await stopServer();
    await Deno.remove(tmp, { recursive: true });
  }
}

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(0)} %`;

/** The report as markdown tables, one per measurement. */
export function filesTables(r: FilesReport): string {
  const out: string[] = [];
  const row = (cells: (string | number)[]) => out.push(`| ${cells.join(" | ")} |`);
  const rule = (n: number, first = "--:") => row([first, ...Array(n - 1).fill("--:")]);
  out.push(
    `Files: ${r.durationSeconds} s per run, response cache ${r.responseCache ? "on" : "off"}, ` +
      `load average ${f1(r.loadAverage.before)} before / ${f1(r.loadAverage.after)} after`,
    "",
    `Upload of a ${r.fileMiB} MiB file (multipart POST, every file distinct):`,
  );
  row([
    "conns",
    "ours MiB/s",
    "files",
    "p50 ms",
    "p99 ms",
    "ceiling MiB/s",
    "ceiling p99 ms",
    "ours/ceiling",
    "disk write+fsync MiB/s",
  ]);
  rule(9);
  for (const u of r.upload) {
    row([
      u.connections,
      f0(u.ours.mibPerSecond),
      u.ours.uploads,
      f0(u.ours.p50_ms),
      f0(u.ours.p99_ms),
      f0(u.ceiling.mibPerSecond),
      f0(u.ceiling.p99_ms),
      f2(u.ratio),
      f0(u.diskMiBPerSecond),
    ]);
  }
  out.push("", `Download of the ${r.fileMiB} MiB file (wrk):`);
  row([
    "conns",
    "ours MiB/s",
    "req/s",
    "p50 ms",
    "p99 ms",
    "ceiling MiB/s",
    "ceiling req/s",
    "ours/ceiling",
  ]);
  rule(8);
  for (const d of r.download) {
    row([
      d.connections,
      f0(d.ours.mibPerSecond),
      f1(d.ours.rps),
      f0(d.ours.p50_ms),
      f0(d.ours.p99_ms),
      f0(d.ceiling.mibPerSecond),
      f1(d.ceiling.rps),
      f2(d.ratio),
    ]);
  }
  const m = r.uploadRss;
  out.push("", `Server RSS during one ${m.fileMiB} MiB upload (sampled every 20 ms):`);
  row(["upload ms", "RSS before MB", "peak MB", "growth MB", "growth / file size", "1 s after MB"]);
  rule(6);
  row([
    f0(m.uploadMs),
    f0(m.baselineMb),
    f0(m.peakMb),
    f0(m.growthMb),
    `${f2(m.growthPerFileSize)}×`,
    f0(m.afterMb),
  ]);
  out.push("", "STEP → GLB through the server (upload a fresh copy, then GET /model until 200):");
  row(["model", "run", "upload ms", "upload → model 200 ms", "GLB KB"]);
  row(["---", "---", "--:", "--:", "--:"]);
  for (const e of r.endToEnd) {
    row([e.model, e.run, f0(e.uploadMs), f0(e.modelMs), f0(e.glbBytes / 1024)]);
  }
  if (r.conversion) {
    out.push(
      "",
      "STEP → GLB in-process per model (convert.ts, server stopped):",
      r.conversion.table,
    );
  }
  out.push(
    "",
    `Get one part (wrk, ${r.getOne.connections} connections, ${r.durationSeconds} s) without and ` +
      `with ${ASSEMBLY} uploaded and converted back to back:`,
  );
  row(["load", "while", "req/s", "p50 ms", "p99 ms", "p99 change"]);
  row(["---", "---", "--:", "--:", "--:", "--:"]);
  for (const g of r.getOne.runs) {
    row([g.load, "nothing else", f0(g.idle.rps), f2(g.idle.p50_ms), f2(g.idle.p99_ms), ""]);
    row([
      "",
      `STEP uploads, converting (${g.conversions} done, ${f0(g.conversionMs.p50)} ms each)`,
      f0(g.converting.rps),
      f2(g.converting.p50_ms),
      f2(g.converting.p99_ms),
      signed(g.p99ChangePercent),
    ]);
    row([
      "",
      `control: PDF uploads at that pace, no conversion (${g.uploads})`,
      f0(g.uploadsOnly.rps),
      f2(g.uploadsOnly.p50_ms),
      f2(g.uploadsOnly.p99_ms),
      signed(g.uploadsOnlyP99ChangePercent),
    ]);
  }
  out.push("", "Targets:");
  row(["target", "measured", "met"]);
  row(["---", "--:", "---"]);
  for (const t of r.targets) row([t.name, t.value, t.met ? "yes" : "**no**"]);
  if (r.problems.length > 0) out.push("", "Problems:", ...r.problems.map((p) => `- ${p}`));
  return out.join("\n");
}

if (import.meta.main) {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
  } catch {
    console.error("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk");
    Deno.exit(1);
  }
  const args = parseArgs({
    args: Deno.args,
    options: {
      parts: { type: "string", default: "2000" },
      duration: { type: "string", default: "5" },
      out: { type: "string" },
      "no-cache": { type: "boolean", default: false },
      "no-convert": { type: "boolean", default: false },
    },
  });
  const report = await runFilesBench({
    parts: Number(args.values.parts),
    duration: Number(args.values.duration),
    responseCache: !args.values["no-cache"],
    skipConvert: args.values["no-convert"],
  });
  console.log(`\n${filesTables(report)}`);
  const date = new Date().toISOString();
  const outFile = args.values.out ??
    `${root}/bench-results/${date.replace(/[:.]/g, "-")}-files.json`;
  await Deno.mkdir(outFile.replace(/[^/]*$/, ""), { recursive: true });
  await Deno.writeTextFile(outFile, JSON.stringify({ date, files: report }, null, 2));
  console.log(`Results: ${outFile}`);
  if (!report.valid) {
    console.error("INVALID RUN: some requests failed (see Problems)");
    Deno.exit(1);
  }
}
