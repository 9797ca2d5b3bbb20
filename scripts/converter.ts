/**
 * The converter process: converts STEP/STL files to GLB for a server that cannot (Cloudflare
 * Workers, or a server started with CONVERSION_CONCURRENCY=0). It talks to that server's API
 * only, so it needs no storage or database credentials, just an admin key:
 *
 *   CONVERTER_API_KEY=<admin key> deno task converter --url https://parts.example.org
 *   deno task converter --url http://127.0.0.1:8787 --key <admin key> --once
 *
 * It takes the oldest waiting job (POST /api/conversions/claim), reads the source file,
 * converts it in a worker with the same limits as the server, and delivers the GLB (PUT
 * /api/conversions/{sha256}/result) or the reason it failed. Idle, it asks again every
 * --poll seconds (default 2). --once stops when no job waits.
 */
import { parseArgs } from "node:util";
import { denoProcessSpawner } from "../src/cad/deno-process.ts";
import { createModelConverter } from "../src/cad/pool.ts";
import type { ModelFormat } from "../src/cad/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string" },
    key: { type: "string" },
    once: { type: "boolean" },
    poll: { type: "string", default: "2" },
    "timeout-seconds": { type: "string", default: "60" },
    "max-bytes": { type: "string", default: String(50 * 1024 * 1024) },
  },
});
const base = (values.url ?? Deno.env.get("CONVERTER_API_URL") ?? "").replace(/\/+$/, "");
const key = values.key ?? Deno.env.get("CONVERTER_API_KEY") ?? "";
if (!/^https?:\/\//.test(base) || key === "") {
  console.error(
    "Usage: CONVERTER_API_KEY=<admin key> deno task converter --url <server URL> [--once]",
  );
  Deno.exit(2);
}
const pollMs = Math.max(0.2, Number(values.poll) || 2) * 1000;
const headers = { "X-API-Key": key };

const converter = createModelConverter({
  spawn: denoProcessSpawner(),
  concurrency: 1,
  timeoutMs: Number(values["timeout-seconds"]) * 1000,
  maxBytes: Number(values["max-bytes"]),
});

interface Job {
  sha256: string;
  format: ModelFormat;
  source: string;
}

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
  });
  if (res.status === 401 || res.status === 403) {
    console.error(`The server refused the key (${res.status}): the converter needs an admin key`);
    Deno.exit(1);
  }
  return res;
}

/** Runs one job; false when none was waiting. */
async function runOne(): Promise<boolean> {
  const claim = await call("/api/conversions/claim", { method: "POST" });
  if (!claim.ok) throw new Error(`claim answered ${claim.status}`);
  const { job } = await claim.json() as { job: Job | null };
  if (!job) return false;
  const source = await call(job.source);
  if (!source.ok) throw new Error(`source of ${job.sha256} answered ${source.status}`);
  const bytes = new Uint8Array(await source.arrayBuffer());
  const started = performance.now();
  const result = await converter.convert(job.format, bytes);
  const ms = Math.round(performance.now() - started);
  if (result.ok) {
    const res = await call(`/api/conversions/${job.sha256}/result`, {
      method: "PUT",
      headers: { "Content-Type": "model/gltf-binary" },
      body: result.glb as Uint8Array<ArrayBuffer>,
    });
    if (!res.ok) throw new Error(`delivering ${job.sha256} answered ${res.status}`);
    await res.body?.cancel();
    console.log(
      `converted ${job.sha256.slice(0, 12)} (${job.format}, ${bytes.length} B) in ${ms} ms`,
    );
  } else {
    const res = await call(`/api/conversions/${job.sha256}/failure`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ error: result.error.slice(0, 2000) }),
    });
    await res.body?.cancel();
    console.log(`could not convert ${job.sha256.slice(0, 12)}: ${result.error}`);
  }
  return true;
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stopping = true);
}
console.log(`Converter for ${base}: waiting for jobs`);
while (!stopping) {
  let ran = false;
  try {
    ran = await runOne();
  } catch (err) {
    console.error(`converter: ${(err as Error).message}; trying again`);
  }
  if (!ran) {
    if (values.once) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
await converter.close();
Deno.exit(0);
