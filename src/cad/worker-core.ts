/**
 * The conversion worker's body, shared by the Deno (step-worker.ts) and Node (node-step-worker.ts)
 * scripts, which only differ in how they receive and send messages.
 */
import type { WorkerReply, WorkerRequest } from "./protocol.ts";
import { loadStepReader, type StepReader } from "./step.ts";
import { convertStl } from "./stl.ts";
import type { ConversionResult } from "./types.ts";

/** Sends one reply to the pool, handing over the buffers listed. */
export type Reply = (reply: WorkerReply, transfer: ArrayBuffer[]) => void;

/** A message handler that converts one file at a time, in the order they arrive. */
export function createWorkerHandler(reply: Reply): (request: WorkerRequest) => void {
  let reader: Promise<StepReader> | null = null;
  let broken = false;
  const kernel = () => (reader ??= loadStepReader());
  let queue: Promise<void> = Promise.resolve();

  const warm = async () => {
    const started = performance.now();
    try {
      await kernel();
      reply({ type: "ready", ms: Math.round(performance.now() - started) }, []);
    } catch (err) {
      reply({ type: "ready-failed", error: message(err) }, []);
    }
  };

  const convert = async (request: Extract<WorkerRequest, { type: "convert" }>) => {
    let result: ConversionResult;
    let loaded: StepReader | null = null;
    try {
      if (request.format === "stl") {
        result = await convertStl(request.bytes);
      } else {
        loaded = await kernel();
        result = await loaded.convert(request.bytes);
      }
    } catch (err) {
      // An abort leaves an Emscripten module unusable: the pool replaces this worker.
      broken = true;
      result = { ok: false, badInput: false, error: `The converter failed: ${message(err)}` };
    }
    let memoryBytes = 0;
    try {
      memoryBytes = loaded?.memoryBytes() ?? 0;
    } catch {
      broken = true;
    }
    const transfer = result.ok ? [ownBuffer(result)] : [];
    reply({ type: "done", id: request.id, result, memoryBytes, broken }, transfer);
  };

  return (request) => {
    // Loading the kernel does not hold up an STL file meanwhile.
    if (request.type === "warm") void warm();
    else queue = queue.then(() => convert(request));
  };
}

/** Makes the GLB the sole user of its buffer so it can move to the pool without a copy. */
function ownBuffer(result: ConversionResult & { ok: true }): ArrayBuffer {
  const glb = result.glb;
  if (glb.byteOffset !== 0 || glb.byteLength !== glb.buffer.byteLength) {
    result.glb = new Uint8Array(glb);
  }
  return result.glb.buffer as ArrayBuffer;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
