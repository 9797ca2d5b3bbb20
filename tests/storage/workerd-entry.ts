/**
 * A Worker that runs the storage contract inside workerd (bundled by tests/storage/_harness.ts,
 * served by Miniflare in workerd-run.mjs): `/r2` against the real R2 simulator bound as FILES,
 * `/s3` against the s3rver at S3_ENDPOINT, through workerd's own fetch. Answers the results as
 * JSON.
 */
import { createR2Store, type R2BucketLike } from "../../src/storage/r2.ts";
import { createS3Store } from "../../src/storage/s3.ts";
import { runContract } from "./contract.ts";

interface Env {
  FILES: R2BucketLike;
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  /** JSON list of contract cases the s3 run skips (s3rver is not atomic). */
  S3_SKIP: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const target = new URL(request.url).pathname;
    if (target === "/r2") {
      // A small page size, so listings go through R2's cursors.
      return Response.json(
        await runContract((ns) => createR2Store(env.FILES, ns, { name: "FILES", listPageSize: 4 })),
      );
    }
    if (target === "/s3") {
      const open = (ns: string) =>
        createS3Store({
          bucket: env.S3_BUCKET,
          prefix: ns,
          endpoint: env.S3_ENDPOINT,
          region: "us-east-1",
          accessKeyId: "S3RVER",
          secretAccessKey: "S3RVER",
          forcePathStyle: true,
          listPageSize: 4,
        });
      return Response.json(await runContract(open, JSON.parse(env.S3_SKIP)));
    }
    return new Response("no such target", { status: 404 });
  },
};
