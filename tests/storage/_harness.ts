/**
 * Runs the contract in other runtimes: bundles an entry with esbuild, runs it with Node (plain,
 * or serving it on workerd through Miniflare), and turns the JSON results into test steps.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as esbuild from "esbuild";
import { ensureWrangler, ROOT } from "../../scripts/wrangler.ts";
import { type CaseResult, CONTRACT } from "./contract.ts";

/** Bundles a test entry into `outfile` (ES module; `node:` imports left to the runtime). */
export async function bundle(entry: string, outfile: string, platform: "node" | "neutral") {
  try {
    await esbuild.build({
      entryPoints: [new URL(entry, import.meta.url).pathname],
      outfile,
      bundle: true,
      format: "esm",
      platform,
      target: "es2022",
      external: ["node:*"],
      // aws4fetch's ESM build for Workers; the default for Node.
      conditions: platform === "neutral" ? ["worker", "import"] : [],
      mainFields: platform === "neutral" ? ["module", "main"] : undefined,
      logLevel: "warning",
    });
  } finally {
    await esbuild.stop();
  }
}

/** Runs a command to the end; its stdout, or an error with both streams. */
export async function output(cmd: string, args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed:\n${decoder.decode(stdout)}\n${decoder.decode(stderr)}`,
    );
  }
  return decoder.decode(stdout);
}

/** The compatibility date the Worker is deployed with (wrangler.jsonc). */
export async function compatibilityDate(): Promise<string> {
  const config = await readFile(`${ROOT}wrangler.jsonc`, "utf8");
  const date = config.match(/"compatibility_date"\s*:\s*"([0-9-]+)"/)?.[1];
  assert.ok(date, "wrangler.jsonc has a compatibility_date");
  return date;
}

/** Miniflare and workerd from runtimes/worker (npm ci there on first use). */
export { ensureWrangler };

/** One step per contract case from a harness's results; every case must have been reported. */
export async function stepsFrom(t: Deno.TestContext, results: CaseResult[]): Promise<void> {
  assert.deepEqual(results.map((r) => r.name), CONTRACT.map((c) => c.name), "every case ran");
  for (const result of results) {
    await t.step({
      name: result.name,
      ignore: result.skipped === true,
      fn() {
        if (!result.ok) throw new Error(result.error);
      },
    });
  }
}
