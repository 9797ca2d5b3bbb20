/**
 * What the pool and its worker say to each other, and the seam through which an entry hands the
 * pool a way to start a worker on its runtime (deno-worker.ts, node-worker.ts).
 */
import type { ConversionResult, ModelFormat } from "./types.ts";

/** From the pool to a worker. */
export type WorkerRequest =
  /** Load the CAD kernel now, so the first conversion does not wait for it. */
  | { type: "warm" }
  | { type: "convert"; id: number; format: ModelFormat; bytes: Uint8Array };

/** From a worker to the pool. */
export type WorkerReply =
  | { type: "ready"; ms: number }
  | { type: "ready-failed"; error: string }
  | {
    type: "done";
    id: number;
    result: ConversionResult;
    /** The CAD kernel's WebAssembly memory, which only grows while the worker lives. */
    memoryBytes: number;
    /** The kernel aborted: this worker cannot convert again. */
    broken?: boolean;
  };

/** What the pool hears from a worker it started. */
export interface WorkerEvents {
  message(reply: WorkerReply): void;
  /** The worker died or could not start; it will send nothing more. */
  failed(reason: string): void;
}

/** A started worker, as the pool drives it. */
export interface WorkerPort {
  post(request: WorkerRequest, transfer?: ArrayBuffer[]): void;
  /** Ends the worker at once, mid-conversion if need be; frees its memory. */
  terminate(): void;
}

/** Starts one worker running the conversion script (step-worker.ts or its Node twin). */
export type SpawnWorker = (events: WorkerEvents) => WorkerPort;
