/**
 * The R2 adapter against the real thing as far as this machine allows: inside workerd (served by
 * Miniflare, from runtimes/worker), on Miniflare's R2 simulator bound as FILES. The same Worker
 * also runs the S3 adapter's contract on workerd's fetch against s3rver.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createR2Store, type R2BucketLike } from "../../src/storage/r2.ts";
import { StorageError } from "../../src/storage/types.ts";
import type { CaseResult } from "./contract.ts";
import { bundle, compatibilityDate, ensureWrangler, output, stepsFrom } from "./_harness.ts";
import { S3RVER_NOT_ATOMIC, startS3rver } from "./_s3rver.ts";

const BUCKET = "workerd-files";

Deno.test({
  name: "r2 and s3 on workerd (Miniflare)",
  // s3rver's keep-alive sockets outlive the requests.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await ensureWrangler();
    const dir = await mkdtemp(join(tmpdir(), "workerd-storage-"));
    const s3rver = await startS3rver([BUCKET]);
    let results: Record<string, CaseResult[]>;
    try {
      const worker = join(dir, "worker.mjs");
      await bundle("./workerd-entry.ts", worker, "neutral");
      const bindings = {
        S3_ENDPOINT: s3rver.endpoint,
        S3_BUCKET: BUCKET,
        S3_SKIP: JSON.stringify(S3RVER_NOT_ATOMIC),
      };
      results = JSON.parse(
        await output("node", [
          new URL("./workerd-run.mjs", import.meta.url).pathname,
          worker,
          await compatibilityDate(),
          JSON.stringify(bindings),
          "r2",
          "s3",
        ]),
      );
    } finally {
      await s3rver.close();
      await rm(dir, { recursive: true, force: true });
    }
    await t.step("r2 (R2 simulator, workerd)", (t) => stepsFrom(t, results.r2));
    await t.step("s3 (s3rver, workerd fetch)", (t) => stepsFrom(t, results.s3));
  },
});

/** A binding whose every call fails the way a binding does when R2 is unavailable. */
const broken: R2BucketLike = {
  put: () => Promise.reject(new Error("put: We encountered an internal error (10001)")),
  get: () => Promise.reject(new Error("get: We encountered an internal error (10001)")),
  head: () => Promise.reject(new Error("head: We encountered an internal error (10001)")),
  delete: () => Promise.reject(new Error("delete: We encountered an internal error (10001)")),
  list: () => Promise.reject(new Error("list: We encountered an internal error (10001)")),
};

Deno.test("r2: binding failures are StorageErrors naming the binding and the key", async () => {
  const store = createR2Store(broken, "team", { name: "FILES" });
  assert.equal(store.description, "r2 FILES/team");
  const operations: [string, () => Promise<unknown>][] = [
    ["put", () => store.put("a/b", new Uint8Array(1))],
    ["get", () => store.get("a/b")],
    ["head", () => store.head("a/b")],
    ["delete", () => store.delete("a/b")],
    ["list", async () => {
      for await (const _ of store.list("a/")) { /* drain */ }
    }],
  ];
  for (const [name, run] of operations) {
    await assert.rejects(run, (error: unknown) => {
      assert.ok(error instanceof StorageError, name);
      assert.match(
        error.message,
        new RegExp(`^R2 bucket FILES: ${name} "a/(b)?" failed: ${name}:`),
      );
      return true;
    }, name);
  }
});

Deno.test("r2: keys go under the prefix, and only the prefix's keys are listed", async () => {
  const calls: string[] = [];
  const bucket: R2BucketLike = {
    put(key) {
      calls.push(`put ${key}`);
      return Promise.resolve(null);
    },
    get: () => Promise.resolve(null),
    head: () => Promise.resolve(null),
    delete(key) {
      calls.push(`delete ${key}`);
      return Promise.resolve();
    },
    list(options) {
      calls.push(`list ${options?.prefix} ${options?.limit} ${options?.cursor ?? "-"}`);
      const uploaded = new Date(0);
      return Promise.resolve(
        options?.cursor ? { objects: [{ key: "p/q/c", size: 3, uploaded }], truncated: false } : {
          objects: [{ key: "p/q/a", size: 1, uploaded }, { key: "elsewhere", size: 2, uploaded }],
          truncated: true,
          cursor: "next",
        },
      );
    },
  };
  const store = createR2Store(bucket, "/p/q/", { listPageSize: 2 });
  await store.put("k", new Uint8Array(1));
  await store.delete("k");
  const listed = [];
  for await (const info of store.list("")) listed.push(info);
  assert.deepEqual(calls, ["put p/q/k", "delete p/q/k", "list p/q/ 2 -", "list p/q/ 2 next"]);
  assert.deepEqual(listed, [
    { key: "a", size: 1, uploadedAt: 0 },
    { key: "c", size: 3, uploadedAt: 0 },
  ]);
});
