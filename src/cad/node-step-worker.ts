/**
 * The conversion worker on Node's worker_threads (see node-worker.ts). `deno task build` bundles
 * it to dist/node/step-worker.mjs; occt-import-js stays an npm package beside it, so the kernel
 * finds its .wasm in its own folder.
 */
import { parentPort } from "node:worker_threads";
import type { WorkerRequest } from "./protocol.ts";
import { createWorkerHandler } from "./worker-core.ts";

const port = parentPort;
if (!port) {
  throw new Error("step-worker.mjs runs as a worker thread, started by the converter pool");
}
const handle = createWorkerHandler((reply, transfer) => port.postMessage(reply, transfer));
port.on("message", (request: WorkerRequest) => handle(request));
