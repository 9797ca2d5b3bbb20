/**
 * Writes the deployable bundles to dist/ and reports the Worker's size.
 *
 *   dist/node/           server.mjs (run by plain `node`), step-worker.mjs (the model converter's
 *                        worker thread), migrations/, docs/, package.json + lock
 *   dist/worker/         worker.js exactly as `wrangler deploy` uploads it
 *   dist/worker-assets/  Swagger UI's files for the Worker's ASSETS binding
 *
 *   deno task build           both
 *   deno task build node      only the Node bundle (no wrangler needed)
 *   deno task build worker    only the Worker bundle
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
// The package root module also loads the whole UI bundle; only the path helper is needed.
import getAbsoluteFSPath from "swagger-ui-dist/absolute-path.js";
import { ensureWrangler, ROOT, wrangler } from "./wrangler.ts";

const DIST = `${ROOT}dist`;
/** Cloudflare's limit on a Worker's compressed size on the free plan (10 MiB on paid plans). */
export const FREE_PLAN_GZIP_LIMIT = 3 * 1024 * 1024;
const DOCS_FILES = ["swagger-ui.css", "swagger-ui-bundle.js", "LICENSE"];
/** Packages the Node bundle leaves to npm (runtimes/node/package.json, same versions). */
const NATIVE = ["@libsql/client", "libsql"];
/**
 * The CAD kernel stays an npm package too: its script loads its 7 MB .wasm from its own folder,
 * and the LGPL library remains a separate, replaceable file.
 */
const KERNEL = "occt-import-js";
const NPM_INSTALLED = [...NATIVE, KERNEL];

async function copyTree(from: string, to: string, keep: (name: string) => boolean) {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`, keep);
    } else if (keep(entry.name)) {
      await copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
  }
}

async function copyDocs(to: string) {
  await mkdir(to, { recursive: true });
  const from = getAbsoluteFSPath();
  for (const file of DOCS_FILES) await copyFile(`${from}/${file}`, `${to}/${file}`);
}

/** The npm version deno.json pins for a package. */
async function pinnedVersion(name: string): Promise<string> {
  const imports = JSON.parse(await readFile(`${ROOT}deno.json`, "utf8")).imports;
  const match = String(imports[name]).match(/^npm:.+@([^@/]+)$/);
  if (!match) throw new Error(`deno.json does not pin ${name}`);
  return match[1];
}

/** dist/node: the server bundle, what it reads at start-up, and its one external package. */
export async function buildNode(): Promise<void> {
  const out = `${DIST}/node`;
  await rm(out, { recursive: true, force: true });
  const manifest = JSON.parse(await readFile(`${ROOT}runtimes/node/package.json`, "utf8"));
  for (const name of NPM_INSTALLED) {
    const pinned = await pinnedVersion(name);
    if (manifest.dependencies[name] !== pinned) {
      throw new Error(
        `runtimes/node/package.json has ${name} ${manifest.dependencies[name]}, deno.json ` +
          `${pinned}: make them equal (then npm install --package-lock-only there)`,
      );
    }
  }
  await esbuild.build({
    entryPoints: [`${ROOT}src/entry/node.ts`],
    outfile: `${out}/server.mjs`,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // libSQL loads a native module per platform: npm installs these next to the bundle.
    external: NATIVE,
    sourcemap: "linked",
    legalComments: "linked",
    logLevel: "warning",
  });
  await buildStepWorker(`${out}/step-worker.mjs`);
  await esbuild.stop();
  await copyTree(`${ROOT}migrations`, `${out}/migrations`, (n) => /\.(sql|json)$/.test(n));
  await copyDocs(`${out}/docs`);
  await copyFile(`${ROOT}runtimes/node/package.json`, `${out}/package.json`);
  await copyFile(`${ROOT}runtimes/node/package-lock.json`, `${out}/package-lock.json`);
  const size = (await Deno.stat(`${out}/server.mjs`)).size;
  console.log(`Node bundle: dist/node/server.mjs (${kib(size)} KiB)`);
}

/**
 * The model converter's worker thread for Node (src/cad/node-step-worker.ts), which
 * src/cad/node-worker.ts starts from beside the server bundle. The caller stops esbuild.
 */
export async function buildStepWorker(outfile: string): Promise<void> {
  await esbuild.build({
    entryPoints: [`${ROOT}src/cad/node-step-worker.ts`],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: [KERNEL],
    sourcemap: "linked",
    legalComments: "linked",
    logLevel: "warning",
  });
}

export interface WorkerSize {
  raw: number;
  gzip: number;
}

/** dist/worker: wrangler's own bundle of the Worker (a dry-run deploy), and its size. */
export async function buildWorker(): Promise<WorkerSize> {
  await ensureWrangler();
  await rm(`${DIST}/worker`, { recursive: true, force: true });
  await rm(`${DIST}/worker-assets`, { recursive: true, force: true });
  await copyDocs(`${DIST}/worker-assets`);
  const result = await wrangler(
    ["deploy", "--dry-run", "--outdir", "dist/worker"],
    { stdout: "piped", stderr: "piped" },
  ).output();
  const text = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  if (!result.success) {
    console.error(text);
    throw new Error("wrangler deploy --dry-run failed");
  }
  const code = await readFile(`${DIST}/worker/worker.js`);
  const size = { raw: code.length, gzip: gzipSync(code).length };
  const share = ((size.gzip / FREE_PLAN_GZIP_LIMIT) * 100).toFixed(1);
  console.log(
    `Worker bundle: dist/worker/worker.js ${kib(size.raw)} KiB raw, ${kib(size.gzip)} KiB gzip ` +
      `(${share}% of the free plan's 3 MiB gzip limit)`,
  );
  const upload = text.match(/Total Upload: .*/)?.[0];
  if (upload) console.log(`  wrangler: ${upload}`);
  await writeFile(
    `${DIST}/worker/size.json`,
    JSON.stringify({ ...size, limit: FREE_PLAN_GZIP_LIMIT }),
  );
  return size;
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

if (import.meta.main) {
  const which = Deno.args[0] ?? "all";
  if (!["all", "node", "worker"].includes(which)) {
    console.error("Usage: deno task build [node|worker]");
    Deno.exit(2);
  }
  if (which !== "worker") await buildNode();
  if (which !== "node") {
    const size = await buildWorker();
    if (size.gzip > FREE_PLAN_GZIP_LIMIT) {
      console.error("The Worker is over the free plan's size limit");
      Deno.exit(1);
    }
  }
}
