/** The disk, memory and S3 adapters under Node 20 (a bundle run by plain `node`). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import type { CaseResult } from "./contract.ts";
import { bundle, output, stepsFrom } from "./_harness.ts";
import { S3RVER_NOT_ATOMIC, startS3rver } from "./_s3rver.ts";

const BUCKET = "node-files";

Deno.test({
  name: "disk, memory and s3 on Node",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await mkdtemp(join(tmpdir(), "node-storage-"));
    const s3rver = await startS3rver([BUCKET]);
    let results: { node: string; disk: CaseResult[]; memory: CaseResult[]; s3: CaseResult[] };
    try {
      const script = join(dir, "node-entry.mjs");
      await bundle("./node-entry.ts", script, "node");
      results = JSON.parse(
        await output("node", [script, s3rver.endpoint, BUCKET, JSON.stringify(S3RVER_NOT_ATOMIC)]),
      );
    } finally {
      await s3rver.close();
      await rm(dir, { recursive: true, force: true });
    }
    assert.match(results.node, /^v\d+\./);
    await t.step(`disk (Node ${results.node})`, (t) => stepsFrom(t, results.disk));
    await t.step(`memory (Node ${results.node})`, (t) => stepsFrom(t, results.memory));
    await t.step(`s3 (s3rver, Node ${results.node} fetch)`, (t) => stepsFrom(t, results.s3));
  },
});
