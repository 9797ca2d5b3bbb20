/** Starts conversion workers on Node's worker_threads (the Node entry hands this to the pool). */
import { Worker } from "node:worker_threads";
import type { SpawnWorker, WorkerReply } from "./protocol.ts";

/**
 * A `spawn` for `createModelConverter` running `script`: by default step-worker.mjs beside the
 * bundle that imports this (dist/node/, written by `deno task build node`).
 */
export function nodeSpawner(
  script: URL = new URL("./step-worker.mjs", import.meta.url),
): SpawnWorker {
  return (events) => {
    const worker = new Worker(script);
    // An idle converter must not keep the process alive; a conversion's timer does meanwhile.
    worker.unref();
    let alive = true;
    const fail = (reason: string) => {
      if (!alive) return;
      alive = false;
      void worker.terminate();
      events.failed(reason);
    };
    worker.on("message", (reply: WorkerReply) => {
      if (alive) events.message(reply);
    });
    worker.on("error", (err: Error) => fail(err.message || String(err)));
    worker.on("messageerror", () => fail("a message from the worker could not be read"));
    worker.on("exit", (code: number) => fail(`the worker exited (code ${code})`));
    return {
      post: (request, transfer = []) => worker.postMessage(request, transfer),
      terminate: () => {
        alive = false;
        void worker.terminate();
      },
    };
  };
}
