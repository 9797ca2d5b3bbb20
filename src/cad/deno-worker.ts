/**
 * Starts conversion workers as Deno Web Workers (the Deno entry hands this to the pool).
 *
 * Caveat (Deno 2.9): Worker.terminate() ends an idle worker, but one busy in a conversion runs on
 * until the kernel returns by itself; the pool's time limit then frees the slot, not the CPU or
 * memory. deno-process.ts has no such gap.
 */
import type { SpawnWorker, WorkerReply } from "./protocol.ts";

/** A `spawn` for `createModelConverter` that runs `script` (step-worker.ts) in a Web Worker. */
export function denoSpawner(
  script: URL = new URL("./step-worker.ts", import.meta.url),
): SpawnWorker {
  return (events) => {
    const worker = new Worker(script, { type: "module", name: "model-converter" });
    let alive = true;
    const fail = (reason: string) => {
      if (!alive) return;
      alive = false;
      worker.terminate();
      events.failed(reason);
    };
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      if (alive) events.message(event.data);
    };
    worker.onerror = (event) => {
      // Unhandled, a worker's error would end the whole process.
      event.preventDefault();
      fail(event.message || "the worker threw");
    };
    worker.onmessageerror = () => fail("a message from the worker could not be read");
    return {
      post: (request, transfer = []) => worker.postMessage(request, transfer),
      terminate: () => {
        alive = false;
        worker.terminate();
      },
    };
  };
}
