/**
 * A real S3 API for tests: s3rver (the npm package from the project's node_modules) run by Node
 * on a free 127.0.0.1 port, keeping objects in a temporary folder. It checks the access key id
 * of a Signature V4 request (default S3RVER) but not the signature itself (s3rver 3.7 leaves V4
 * verification unimplemented), so a wrong secret passes there. Under Deno itself its paged list
 * answers fail (DES, see s3rver-node.mjs), hence the child process.
 *
 * s3rver writes an object in place while it receives it, so unlike S3, R2 or MinIO it is not
 * atomic: concurrent writers of one key interleave, and a reader can see a half-written value.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const S3RVER_KEY = "S3RVER";
export const S3RVER_SECRET = "S3RVER";
/** Contract cases s3rver cannot pass whatever the adapter does (it is not atomic). */
export const S3RVER_NOT_ATOMIC = [
  "concurrent puts of one key end with one complete value",
  "reads during overwrites see a whole old or new value",
];

export interface RunningS3rver {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** Starts s3rver with the given (empty) buckets. */
export async function startS3rver(buckets: string[]): Promise<RunningS3rver> {
  const directory = await mkdtemp(join(tmpdir(), "s3rver-"));
  const script = new URL("./s3rver-node.mjs", import.meta.url).pathname;
  const child = new Deno.Command("node", {
    // s3rver makes continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
    args: ["--openssl-legacy-provider", script, directory, ...buckets],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("s3rver exited before it listened");
    line += value;
  }
  reader.releaseLock();
  const { port } = JSON.parse(line) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async close() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.stdin.close().catch(() => {});
      await child.stdout.cancel().catch(() => {});
      await child.status;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
