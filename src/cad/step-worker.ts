/**
 * The conversion worker as a Web Worker (Deno: see deno-worker.ts). Loads the CAD kernel when
 * the pool asks it to warm up, then converts one file at a time.
 */
import type { WorkerRequest } from "./protocol.ts";
import { createWorkerHandler } from "./worker-core.ts";

interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const handle = createWorkerHandler((reply, transfer) => scope.postMessage(reply, transfer));
scope.onmessage = (event) => handle(event.data);
