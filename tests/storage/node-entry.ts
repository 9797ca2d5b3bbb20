/**
 * Runs the storage contract under Node (bundled by tests/storage/_harness.ts, run by plain
 * `node`): the disk store in a temporary folder, the memory store, and the S3 store against the
 * s3rver at argv[2]. Prints {"disk": results, "memory": results, "s3": results} as JSON.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createDiskStore } from "../../src/storage/disk.ts";
import { createMemoryStore } from "../../src/storage/memory.ts";
import { createS3Store } from "../../src/storage/s3.ts";
import type { BlobStore } from "../../src/storage/types.ts";
import { runContract } from "./contract.ts";

const [endpoint, bucket, skip] = process.argv.slice(2);
const root = await mkdtemp(join(tmpdir(), "node-disk-store-"));
const memory = new Map<string, BlobStore>();
try {
  const results = {
    node: process.version,
    disk: await runContract((ns) => createDiskStore(join(root, ns))),
    memory: await runContract((ns) => {
      if (!memory.has(ns)) memory.set(ns, createMemoryStore());
      return memory.get(ns)!;
    }),
    s3: await runContract(
      (ns) =>
        createS3Store({
          bucket,
          prefix: ns,
          endpoint,
          region: "us-east-1",
          accessKeyId: "S3RVER",
          secretAccessKey: "S3RVER",
          forcePathStyle: true,
          listPageSize: 4,
        }),
      JSON.parse(skip),
    ),
  };
  process.stdout.write(JSON.stringify(results));
} finally {
  await rm(root, { recursive: true, force: true });
}
