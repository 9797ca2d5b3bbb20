/**
 * The model converter: a small pool of long-lived conversion workers with limits. Runtime-neutral;
 * the entry passes `spawn` (deno-worker.ts or node-worker.ts).
 *
 * Each worker converts one file at a time; files beyond `concurrency` wait in a FIFO queue. A file
 * over `maxBytes` is refused before it reaches a worker. A conversion past `timeoutMs` ends its
 * worker (WebAssembly cannot be interrupted any other way) and a fresh one takes its place. A
 * worker is also replaced after `recycleAfter` conversions or once the kernel's memory passes
 * `recycleAboveBytes`, because WebAssembly memory never shrinks while its worker lives.
 */
import type { SpawnWorker, WorkerPort, WorkerReply } from "./protocol.ts";
import type { ConversionResult, ModelConverter, ModelFormat } from "./types.ts";

export type { SpawnWorker } from "./protocol.ts";

/** How `createModelConverter` runs its workers. */
export interface ConverterOptions {
  /** Starts one worker (denoSpawner() or nodeSpawner()). */
  spawn: SpawnWorker;
  /** Conversions at a time (one worker each); 1 or 2 suit a small server. Default 1. */
  concurrency?: number;
  /** Longest one conversion may take. Default 60 000 ms. */
  timeoutMs?: number;
  /** Largest file accepted. */
  maxBytes: number;
  /** Replace a worker after this many conversions. Default 20. */
  recycleAfter?: number;
  /** Replace a worker once its kernel's memory is above this. Default 512 MiB. */
  recycleAboveBytes?: number;
  /** Files that may wait for a worker; more are refused. Default 32. */
  maxQueued?: number;
  /** Start the workers and load the kernel now rather than at the first file. Default true. */
  warm?: boolean;
}

interface Job {
  id: number;
  format: ModelFormat;
  bytes: Uint8Array;
  resolve(result: ConversionResult): void;
}

interface Slot {
  port: WorkerPort | null;
  /** Identifies the current worker, so late events from a replaced one are ignored. */
  token: object;
  job: Job | null;
  timer: ReturnType<typeof setTimeout> | undefined;
  conversions: number;
  /** The worker has shown it can start (it answered a warm-up or a conversion). */
  proven: boolean;
}

const MiB = 1024 * 1024;

/** A converter running conversions in workers started by `options.spawn`. */
export function createModelConverter(options: ConverterOptions): ModelConverter {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const recycleAfter = Math.max(1, options.recycleAfter ?? 20);
  const recycleAboveBytes = options.recycleAboveBytes ?? 512 * MiB;
  const maxQueued = options.maxQueued ?? 32;
  const warm = options.warm ?? true;
  const queue: Job[] = [];
  const slots: Slot[] = Array.from({ length: concurrency }, () => ({
    port: null,
    token: {},
    job: null,
    timer: undefined,
    conversions: 0,
    proven: false,
  }));
  let nextId = 1;
  let closed = false;

  /** Starts the slot's worker; the reason when it cannot be started. */
  const start = (slot: Slot): string | null => {
    const token = {};
    slot.token = token;
    slot.conversions = 0;
    slot.proven = false;
    slot.port = null;
    try {
      const port = options.spawn({
        message: (reply) => {
          if (slot.token === token) onReply(slot, reply);
        },
        failed: (reason) => {
          if (slot.token === token) onFailed(slot, reason);
        },
      });
      if (slot.token !== token) {
        port.terminate();
        return "the worker failed as it started";
      }
      slot.port = port;
      if (warm) port.post({ type: "warm" });
      return null;
    } catch (err) {
      slot.port = null;
      return err instanceof Error ? err.message : String(err);
    }
  };

  const stop = (slot: Slot) => {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.token = {};
    slot.port?.terminate();
    slot.port = null;
  };

  /** Ends the slot's job with `result` and hands the slot back. */
  const finish = (slot: Slot, result: ConversionResult) => {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    const job = slot.job;
    slot.job = null;
    job?.resolve(result);
  };

  const replace = (slot: Slot, eager: boolean) => {
    stop(slot);
    if (eager && warm && !closed) start(slot);
  };

  const onReply = (slot: Slot, reply: WorkerReply) => {
    if (reply.type === "ready") {
      slot.proven = true;
      return;
    }
    if (reply.type === "ready-failed") return; // The next conversion reports it.
    if (reply.id !== slot.job?.id) return;
    slot.proven = true;
    slot.conversions++;
    finish(slot, reply.result);
    if (
      reply.broken || slot.conversions >= recycleAfter || reply.memoryBytes > recycleAboveBytes
    ) {
      replace(slot, !reply.broken);
    }
    pump();
  };

  const onFailed = (slot: Slot, reason: string) => {
    const proven = slot.proven;
    stop(slot);
    if (slot.job) {
      finish(slot, { ok: false, badInput: false, error: `The converter crashed: ${reason}` });
    }
    // A worker that never got going would fail again at once: start the next one on demand.
    if (proven) replace(slot, true);
    pump();
  };

  const onTimeout = (slot: Slot) => {
    const limit = timeoutMs >= 1000 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`;
    finish(slot, {
      ok: false,
      badInput: false,
      error: `The conversion took longer than ${limit} and was stopped`,
    });
    replace(slot, true);
    pump();
  };

  const pump = () => {
    for (const slot of slots) {
      while (!closed && queue.length > 0 && !slot.job) {
        const job = queue.shift()!;
        const failure = slot.port ? null : start(slot);
        if (failure !== null || !slot.port) {
          job.resolve(refused(`The converter could not start a worker: ${failure}`));
          continue;
        }
        slot.job = job;
        slot.timer = setTimeout(() => onTimeout(slot), timeoutMs);
        // A copy of its own, moved rather than cloned: the caller keeps its bytes. (Not .slice():
        // on a Node Buffer that is a view, and moving it would empty the caller's.)
        const bytes = new Uint8Array(job.bytes);
        try {
          slot.port.post({ type: "convert", id: job.id, format: job.format, bytes }, [
            bytes.buffer as ArrayBuffer,
          ]);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          finish(slot, refused(`The converter could not take the file: ${reason}`));
          replace(slot, false);
        }
      }
    }
  };

  if (warm) {
    for (const slot of slots) start(slot);
  }

  return {
    convert(format, bytes) {
      if (closed) return Promise.resolve(refused("The converter is closed"));
      if (bytes.length > options.maxBytes) {
        return Promise.resolve(
          refused(`The file is larger than the converter accepts (${options.maxBytes} bytes)`),
        );
      }
      if (queue.length >= maxQueued) {
        return Promise.resolve(refused("The converter is busy; try again later"));
      }
      return new Promise((resolve) => {
        queue.push({ id: nextId++, format, bytes, resolve });
        pump();
      });
    },
    close() {
      closed = true;
      for (const job of queue.splice(0)) job.resolve(refused("The converter was closed"));
      for (const slot of slots) {
        stop(slot);
        finish(slot, refused("The converter was closed"));
      }
      return Promise.resolve();
    },
  };
}

function refused(error: string): ConversionResult {
  return { ok: false, badInput: false, error };
}
