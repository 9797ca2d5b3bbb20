// Runs s3rver under Node for the storage tests: its continuation tokens are DES-encrypted, a
// cipher Deno's node:crypto does not have (and Node 20 only with --openssl-legacy-provider), so
// under Deno every listing longer than a page fails. Prints {"port":N} once listening; stops on
// SIGTERM or when stdin closes (the test process went away).
//
//   node --openssl-legacy-provider tests/storage/s3rver-node.mjs <directory> <bucket>...
import { createRequire } from "node:module";
import process from "node:process";

// The project's node_modules (populated by `deno install`, nodeModulesDir auto).
const S3rver = createRequire(import.meta.url)("s3rver");

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: !process.env.S3RVER_LOG,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
