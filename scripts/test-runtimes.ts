/**
 * One contract suite, every runtime: builds the bundles, then for each target starts a real
 * server on a free loopback port with a fresh database, runs the HTTP suite against it
 * (TEST_BASE_URL), and stops it.
 *
 *   deno            src/entry/deno.ts, libSQL file database
 *   node            dist/node as deployed: `npm ci` beside the bundle, then plain `node server.mjs`
 *   workerd         dist/worker/worker.js on workerd through Miniflare (runtimes/worker/serve.mjs)
 *                   with wrangler.jsonc's bindings: a local D1 migrated by `wrangler d1 migrations
 *                   apply`, and the Swagger UI files in ASSETS. Not `wrangler dev`: its proxy
 *                   answers 503 to a POST whose body the Worker did not read (the 415 and 413
 *                   answers), which Cloudflare does not.
 *   deno+s3         the Deno entry with FILES_URL=s3://… on s3rver (an S3 API from npm, run by
 *                   Node): the smoke test and the file suites
 *   deno+remote     the Deno entry on a remote libSQL URL (http://, so @libsql/client/web), served
 *   workerd+remote  by tests/runtime/libsql-stand-in.ts (Hrana over HTTP, not Turso itself); the
 *                   Worker without its D1 binding, migrated by scripts/migrate.ts as Turso would be
 *
 *   deno task test:runtimes                      all targets
 *   deno task test:runtimes node workerd         some
 *
 * Ends with a table (start-up time and counts per target) and "N passed, N failed".
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildNode, buildWorker, type WorkerSize } from "./build.ts";
import { ROOT, wrangler, wranglerEnv } from "./wrangler.ts";
import {
  type RunningS3rver,
  S3RVER_KEY,
  S3RVER_SECRET,
  startS3rver,
} from "../tests/storage/_s3rver.ts";

type Runtime = "deno" | "node" | "workerd";

interface Target {
  runtime: Runtime;
  /** Database on a remote libSQL server (the stand-in) instead of a file or D1. */
  remote: boolean;
  /** Files in S3-compatible storage (s3rver) instead of a folder; runs the file suites only. */
  s3?: boolean;
}

const TARGETS: Record<string, Target> = {
  deno: { runtime: "deno", remote: false },
  node: { runtime: "node", remote: false },
  workerd: { runtime: "workerd", remote: false },
  "deno+remote": { runtime: "deno", remote: true },
  "workerd+remote": { runtime: "workerd", remote: true },
  "deno+s3": { runtime: "deno", remote: false, s3: true },
};

/** Wrong keys allowed per address per minute on the test servers (the suite sends a few). */
const AUTH_FAILURE_LIMIT = "40";
const START_TIMEOUT_MS = 60_000;
/** A hung request must not hold CI: a suite that runs longer than this is stopped and failed. */
const SUITE_TIMEOUT_MS = 8 * 60_000;

/** What is running now, so an interrupted run stops it too. */
const running: {
  server?: Server;
  standIn?: Server;
  converter?: Server;
  tests?: Deno.ChildProcess;
} = {};

/** The HTTP suite: every test file that runs against TEST_BASE_URL. */
const SUITE = [
  "tests/contract/",
  "tests/smoke.test.ts",
  "tests/access/hardening.test.ts",
  "tests/access/roles.test.ts",
  "tests/access/acting.test.ts",
  "tests/access/lifecycle.test.ts",
  "tests/access/stream-revocation.test.ts",
  "tests/access/proxy.test.ts",
  "tests/docs/openapi.test.ts",
  "tests/runtime/server.test.ts",
  "tests/files/routes.test.ts",
  "tests/files/views.test.ts",
  "tests/files/conversion.test.ts",
  "tests/files/bad-input.test.ts",
  "tests/files/drawing.test.ts",
];
/** What runs against the S3 target: the files of parts, where storage matters. */
const S3_SUITE = ["tests/smoke.test.ts", ...SUITE.filter((f) => f.startsWith("tests/files/"))];
const S3_BUCKET = "parts-files";

/** Runs after the suite: it blocks 127.0.0.1 for a minute. */
const LAST = ["tests/runtime/rate-limit.test.ts"];

interface Result {
  target: string;
  startupMs: number | null;
  prepareMs: number;
  passed: number;
  failed: number;
  ignored: number;
  /** Test steps (t.step) that passed, as Deno counts them beside the tests. */
  steps: number;
  note?: string;
}

interface Server {
  process: Deno.ChildProcess;
  log: string;
}

/** A loopback port that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function run(command: Deno.Command, what: string): Promise<void> {
  const { success, stdout, stderr } = await command.output();
  if (!success) {
    const dec = new TextDecoder();
    throw new Error(`${what} failed:\n${dec.decode(stdout)}${dec.decode(stderr)}`);
  }
}

/** Starts a command in its own process group (so its children stop with it), logging to a file. */
async function start(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  log: string,
) {
  const file = await Deno.open(log, { write: true, create: true, truncate: true });
  const process = new Deno.Command("setsid", {
    args: [cmd, ...args],
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Both streams go to the log file; neither may block the server.
  const sink = file.writable.getWriter();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) await sink.write(chunk);
  };
  Promise.all([pump(process.stdout), pump(process.stderr)]).finally(() =>
    sink.close().catch(() => {})
  );
  return { process, log };
}

/** SIGTERM to the server's process group, SIGKILL for whatever is left after 5 s. */
async function stop(server: Server): Promise<void> {
  const group = -server.process.pid;
  try {
    Deno.kill(group, "SIGTERM");
  } catch {
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    server.process.status,
    new Promise((r) => timer = setTimeout(r, 5000)),
  ]);
  clearTimeout(timer);
  // Children (Miniflare's workerd processes) go with the group.
  try {
    Deno.kill(group, "SIGKILL");
  } catch {
    // already gone
  }
  await server.process.status;
}

/** Milliseconds until GET /health answers 200, or null if it never does. */
async function waitHealthy(base: string, server: Server, since: number): Promise<number | null> {
  let exited = false;
  server.process.status.then(() => (exited = true));
  while (performance.now() - since < START_TIMEOUT_MS && !exited) {
    try {
      const res = await fetch(new URL("/health", base), { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200) return Math.round(performance.now() - since);
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return null;
}

interface Counts {
  passed: number;
  failed: number;
  ignored: number;
  steps: number;
}

/** Runs test files against `base`, echoing the output, and reads Deno's summary line. */
async function suite(files: string[], env: Record<string, string>): Promise<Counts> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check=remote", ...files],
    cwd: ROOT,
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running.tests = child;
  const timer = setTimeout(() => {
    console.error(`\nThe suite ran over ${SUITE_TIMEOUT_MS / 60_000} minutes: stopping it`);
    child.kill("SIGKILL");
  }, SUITE_TIMEOUT_MS);
  let text = "";
  const dec = new TextDecoder();
  const echo = async (stream: ReadableStream<Uint8Array>, to: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      text += dec.decode(chunk, { stream: true });
      await to.write(chunk);
    }
  };
  await Promise.all([echo(child.stdout, Deno.stdout), echo(child.stderr, Deno.stderr)]);
  const status = await child.status;
  clearTimeout(timer);
  running.tests = undefined;
  const summary = [...text.matchAll(/^(?:ok|FAILED) \| (\d+) passed.*?\| (\d+) failed(.*)$/gm)]
    .at(-1);
  if (!summary) return { passed: 0, failed: 1, ignored: 0, steps: 0 };
  const counts: Counts = {
    passed: Number(summary[1]),
    failed: Number(summary[2]),
    ignored: Number(summary[3].match(/(\d+) ignored/)?.[1] ?? 0),
    steps: Number(summary[0].match(/passed \((\d+) steps?\)/)?.[1] ?? 0),
  };
  if (!status.success && counts.failed === 0) counts.failed = 1;
  return counts;
}

/** Starts the remote-libSQL stand-in on its own file; returns its URL and token. */
async function startStandIn(work: string): Promise<{ url: string; token: string; server: Server }> {
  const port = freePort();
  const token = randomKey();
  const server = await start(
    Deno.execPath(),
    [
      "run",
      "-A",
      "tests/runtime/libsql-stand-in.ts",
      "--port",
      String(port),
      "--db",
      join(work, "remote.db"),
      "--token",
      token,
    ],
    {},
    ROOT,
    join(work, "stand-in.log"),
  );
  const url = `http://127.0.0.1:${port}`;
  const since = performance.now();
  while (performance.now() - since < START_TIMEOUT_MS) {
    try {
      const res = await fetch(`${url}/v2`, { headers: { Authorization: `Bearer ${token}` } });
      await res.body?.cancel();
      if (res.ok) return { url, token, server };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the libSQL stand-in did not start");
}

/** How many parts the stand-in's database holds: proof the server really used it. */
async function remoteCount(url: string, token: string): Promise<number> {
  const res = await fetch(`${url}/v2/pipeline`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      baton: null,
      requests: [
        { type: "execute", stmt: { sql: "SELECT count(*) FROM parts" } },
        { type: "close" },
      ],
    }),
  });
  const body = await res.json();
  return Number(body.results[0].response.result.rows[0][0].value);
}

/** Starts one target on a fresh database and runs the suite against it. */
async function testTarget(name: string): Promise<Result> {
  const { runtime, remote, s3 } = TARGETS[name];
  const work = await mkdtemp(join(tmpdir(), `parts-${runtime}-`));
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const key = randomKey();
  const log = join(work, "server.log");
  const result: Result = {
    target: name,
    startupMs: null,
    prepareMs: 0,
    passed: 0,
    failed: 0,
    ignored: 0,
    steps: 0,
  };
  let server: Server | undefined;
  let standIn: Server | undefined;
  let converter: Server | undefined;
  let s3rver: RunningS3rver | undefined;
  try {
    const staticDir = join(work, "frontend");
    await mkdir(staticDir);
    await writeFile(
      join(staticDir, "index.html"),
      "<!doctype html><title>Parts</title><p>parts-frontend-shell</p>",
    );
    await writeFile(join(staticDir, "app.js"), "console.log('parts frontend');\n");
    const serverEnv: Record<string, string> = {
      APP_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      SECRET_KEY: key,
      SEED_SAMPLE_DATA: "false",
      AUTH_FAILURE_LIMIT,
      // As behind nginx: the suite's requests carry no X-Forwarded-For, so their address is the
      // socket's, and tests/access/proxy.test.ts sends the header as the proxy would.
      TRUST_PROXY: "true",
      STATIC_DIR: staticDir,
      // Workers use the R2 bucket of wrangler.jsonc (kept in the Miniflare state) instead.
      ...(runtime === "workerd" ? {} : { FILES_URL: `file:${join(work, "files")}` }),
    };

    if (s3) {
      s3rver = await startS3rver([S3_BUCKET]);
      Object.assign(serverEnv, {
        FILES_URL: `s3://${S3_BUCKET}/team-3322`,
        S3_ENDPOINT: s3rver.endpoint,
        S3_REGION: "us-east-1",
        S3_ACCESS_KEY_ID: S3RVER_KEY,
        S3_SECRET_ACCESS_KEY: S3RVER_SECRET,
        S3_FORCE_PATH_STYLE: "true",
      });
    }
    const prepared = performance.now();
    const database: Record<string, string> = { DATABASE_URL: `file:${join(work, "parts.db")}` };
    if (remote) {
      const remoteDb = await startStandIn(work);
      standIn = remoteDb.server;
      running.standIn = standIn;
      database.DATABASE_URL = remoteDb.url;
      database.DATABASE_AUTH_TOKEN = remoteDb.token;
    }
    let since = 0;
    if (runtime === "deno") {
      since = performance.now();
      server = await start(
        Deno.execPath(),
        ["run", "-A", "src/entry/deno.ts"],
        { ...serverEnv, ...database },
        ROOT,
        log,
      );
    } else if (runtime === "node") {
      // Exactly the deploy guide: the dist/node folder, its lock file, plain node.
      const app = join(work, "app");
      await cp(join(ROOT, "dist/node"), app, { recursive: true });
      await run(
        new Deno.Command("npm", {
          args: ["ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
          cwd: app,
          stdout: "piped",
          stderr: "piped",
        }),
        "npm ci in dist/node",
      );
      result.prepareMs = Math.round(performance.now() - prepared);
      since = performance.now();
      server = await start(
        "node",
        ["server.mjs"],
        { ...serverEnv, ...database },
        app,
        log,
      );
    } else {
      const state = join(work, "wrangler-state");
      if (remote) {
        // A Worker on Turso is migrated from a workstation, as the README says.
        await run(
          new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", "scripts/migrate.ts"],
            cwd: ROOT,
            env: database,
            stdout: "piped",
            stderr: "piped",
          }),
          "scripts/migrate.ts on the remote database",
        );
      } else {
        await run(
          wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
            env: { CI: "true", WRANGLER_LOG_PATH: join(work, "wrangler-logs") },
            stdout: "piped",
            stderr: "piped",
          }),
          "wrangler d1 migrations apply --local",
        );
      }
      result.prepareMs = Math.round(performance.now() - prepared);
      const vars = Object.entries({ ...serverEnv, ...(remote ? database : {}), STATIC_DIR: "" })
        .filter(([name, value]) => value !== "" && !["HOST", "PORT"].includes(name))
        .flatMap(([name, value]) => ["--var", `${name}:${value}`]);
      since = performance.now();
      server = await start(
        "node",
        [
          join(ROOT, "runtimes/worker/serve.mjs"),
          "--ip",
          "127.0.0.1",
          "--port",
          String(port),
          "--persist-to",
          state,
          ...(remote ? ["--no-d1"] : []),
          ...vars,
        ],
        wranglerEnv({ WRANGLER_LOG_PATH: join(work, "wrangler-logs") }),
        ROOT,
        log,
      );
    }

    running.server = server;
    result.startupMs = await waitHealthy(base, server, since);
    if (result.startupMs === null) {
      result.failed = 1;
      result.note = "server did not become healthy";
      return result;
    }
    console.log(`\n== ${name}: healthy at ${base} after ${result.startupMs} ms\n`);
    if (runtime === "workerd") {
      // workerd cannot run the CAD kernel: the converter process does, over the API.
      converter = await start(
        Deno.execPath(),
        ["run", "-A", "scripts/converter.ts", "--url", base, "--key", key, "--poll", "0.3"],
        {},
        ROOT,
        join(work, "converter.log"),
      );
      running.converter = converter;
    }
    const env = {
      TEST_BASE_URL: base,
      TEST_API_KEY: key,
      TEST_RUNTIME: runtime,
      TEST_AUTH_FAILURE_LIMIT: AUTH_FAILURE_LIMIT,
      TEST_TRUST_PROXY: "hops:1",
    };
    for (const files of s3 ? [S3_SUITE] : [SUITE, LAST]) {
      const counts = await suite(files, env);
      result.passed += counts.passed;
      result.failed += counts.failed;
      result.ignored += counts.ignored;
      result.steps += counts.steps;
    }
    if (s3rver) {
      const listing = await fetch(`${s3rver.endpoint}/${S3_BUCKET}?list-type=2&prefix=team-3322/`);
      const objects = ((await listing.text()).match(/<Key>/g) ?? []).length;
      console.log(`The S3 bucket holds ${objects} objects written by the suite`);
      if (objects === 0) {
        result.failed += 1;
        result.note = "the server did not write to the S3 bucket";
      }
    }
    if (remote) {
      const parts = await remoteCount(database.DATABASE_URL, database.DATABASE_AUTH_TOKEN);
      console.log(`The remote libSQL database holds ${parts} parts written by the suite`);
      if (parts === 0) {
        result.failed += 1;
        result.note = "the server did not write to the remote database";
      }
    }
    return result;
  } catch (err) {
    result.failed += 1;
    result.note = err instanceof Error ? err.message.split("\n")[0] : String(err);
    console.error(err);
    return result;
  } finally {
    if (converter) await stop(converter);
    if (server) await stop(server);
    if (standIn) await stop(standIn);
    await s3rver?.close();
    running.server = running.standIn = running.converter = undefined;
    const kept = join(ROOT, "dist", "test-runtimes", name);
    await rm(kept, { recursive: true, force: true });
    if (result.failed > 0) {
      // Keep the logs, and show what went wrong on the server (not the request lines).
      await mkdir(kept, { recursive: true });
      await cp(work, kept, { recursive: true, filter: (p) => !p.includes("wrangler-state") })
        .catch(() => {});
      const text = await readFile(log, "utf8").catch(() => "");
      const problems = text.split("\n").filter((l) => /error|✘|restart|uncaught|fail/i.test(l));
      console.log(
        `\n-- ${name} server problems (full logs in dist/test-runtimes/${name}) --`,
      );
      console.log(problems.slice(-80).join("\n"));
    }
    await rm(work, { recursive: true, force: true });
  }
}

function pad(value: string | number, width: number): string {
  return String(value).padEnd(width);
}

if (import.meta.main) {
  const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(TARGETS);
  const unknown = wanted.filter((name) => !(name in TARGETS));
  if (unknown.length > 0) {
    console.error(`Unknown target ${unknown.join(", ")}; choose from ${Object.keys(TARGETS)}`);
    Deno.exit(2);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      running.tests?.kill("SIGKILL");
      if (running.converter) await stop(running.converter);
      if (running.server) await stop(running.server);
      if (running.standIn) await stop(running.standIn);
      Deno.exit(130);
    });
  }
  let size: WorkerSize | undefined;
  const runtimes = new Set(wanted.map((name) => TARGETS[name].runtime));
  if (runtimes.has("node")) await buildNode();
  if (runtimes.has("workerd")) size = await buildWorker();

  const results: Result[] = [];
  for (const name of wanted) results.push(await testTarget(name));

  console.log("\ntarget          start-up   prepare  passed  failed  ignored  steps");
  for (const r of results) {
    console.log(
      pad(r.target, 16) + pad(r.startupMs === null ? "-" : `${r.startupMs} ms`, 11) +
        pad(r.prepareMs ? `${r.prepareMs} ms` : "-", 9) + pad(r.passed, 8) + pad(r.failed, 8) +
        pad(r.ignored, 9) + pad(r.steps, 7) + (r.note ? ` ${r.note}` : ""),
    );
  }
  console.log(
    "(start-up: spawn to the first healthy answer; prepare: npm ci beside the Node bundle, " +
      "migrations for a Worker's database)",
  );
  if (size) {
    console.log(
      `Worker bundle: ${(size.raw / 1024).toFixed(1)} KiB raw, ${(size.gzip / 1024).toFixed(1)} ` +
        "KiB gzip (free plan limit: 3 MiB gzip)",
    );
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  Deno.exit(failed > 0 ? 1 : 0);
}
