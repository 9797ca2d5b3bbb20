/**
 * The model conversion queue: one STEP/STL → GLB conversion per distinct source file, recorded
 * in the database so every server instance and the standalone converter see the same state.
 * Where this runtime can convert (Deno, Node), a local runner takes queued jobs right after the
 * upload; elsewhere (Workers) `deno task converter` takes them over HTTP.
 */
import { convertStl } from "../cad/stl.ts";
import type { ModelConverter, ModelFormat } from "../cad/types.ts";
import type { FilesRepo } from "../db/files-repo.ts";
import type { ModelConversionRow } from "../db/schema.ts";
import type { BlobStore } from "../storage/types.ts";

export const glbKey = (sha256: string) => `glb/${sha256}.glb`;
export const blobKey = (sha256: string) => `blobs/${sha256}`;

/** What a client is told about a conversion. */
export interface ConversionState {
  status: "queued" | "running" | "done" | "failed";
  error?: string;
}

export function conversionState(row: ModelConversionRow): ConversionState {
  return row.status === "failed"
    ? { status: "failed", error: row.error ?? "conversion failed" }
    : { status: row.status };
}

export interface ConversionOptions {
  repo: FilesRepo;
  store: BlobStore;
  /** The converter of this process, when the runtime can run one. */
  converter?: ModelConverter;
  now: () => number;
  /** A running job older than this is taken to have lost its runner. */
  staleMs?: number;
  /** How many jobs this process runs at once. */
  concurrency?: number;
  logError?: (message: string, error: unknown) => void;
}

/** Reads a whole blob into memory (sources are bounded by MAX_UPLOAD_BYTES). */
export async function readBlob(store: BlobStore, key: string): Promise<Uint8Array | null> {
  const blob = await store.get(key);
  if (!blob) return null;
  return new Uint8Array(await new Response(blob.body).arrayBuffer());
}

/**
 * STL files are triangle meshes already: where no converter runs (Workers), they are turned
 * into GLB in the request that first asks for the model. STEP files wait for a converter.
 */
const inlineStl: ModelConverter = {
  convert: (format, bytes) =>
    format === "stl"
      ? convertStl(bytes)
      : Promise.resolve({ ok: false, badInput: false, error: "no STEP converter here" }),
  close: () => Promise.resolve(),
};

/** Queues, runs and reports model conversions. */
export class ConversionService {
  private readonly inflight = new Map<string, Promise<void>>();
  private active = 0;
  private readonly staleMs: number;
  private readonly concurrency: number;
  private closed = false;

  constructor(private readonly o: ConversionOptions) {
    this.staleMs = o.staleMs ?? 10 * 60_000;
    this.concurrency = o.concurrency ?? 1;
  }

  /** True when this process converts by itself. */
  get local(): boolean {
    return this.o.converter !== undefined;
  }

  /** Queues a conversion for a source file (once per SHA-256) and starts it when local. */
  async enqueue(sha256: string, format: ModelFormat): Promise<ConversionState> {
    const row = await this.o.repo.queueConversion(sha256, format, this.o.now());
    if (row.status === "queued") this.pump();
    return conversionState(row);
  }

  async state(sha256: string): Promise<ModelConversionRow | undefined> {
    return await this.o.repo.conversion(sha256);
  }

  /**
   * Waits (up to `ms`) for a local conversion of `sha256` to end and returns its row. Where
   * nothing converts locally it returns at once.
   */
  async settle(sha256: string, format: ModelFormat, ms: number): Promise<ModelConversionRow> {
    let row = await this.o.repo.queueConversion(sha256, format, this.o.now());
    const canRun = this.local || format === "stl";
    if (!canRun || row.status === "done" || row.status === "failed") return row;
    const deadline = this.o.now() + ms;
    while (row.status === "queued" || row.status === "running") {
      const left = deadline - this.o.now();
      if (left <= 0) break;
      const running = this.inflight.get(sha256) ?? this.runNow(sha256);
      // Another instance may hold the job: look again every second.
      await raceTimeout(running, Math.min(1000, left));
      row = (await this.o.repo.conversion(sha256)) ?? row;
    }
    return row;
  }

  /** Starts queued jobs while there is room (local runner only). */
  pump(): void {
    if (!this.local || this.closed) return;
    while (this.active < this.concurrency) {
      this.active++;
      const job = this.runNext().finally(() => this.active--);
      job.then((ran) => ran && this.pump(), () => {});
      if (this.active >= this.concurrency) break;
    }
  }

  private async runNext(sha256?: string): Promise<boolean> {
    const job = await this.o.repo.claimConversion(this.o.now(), this.staleMs, sha256);
    if (!job) return false;
    const run = this.execute(job).finally(() => this.inflight.delete(job.sha256));
    this.inflight.set(job.sha256, run);
    await run;
    return true;
  }

  /** Runs one particular job now when it is waiting, ahead of the queue. */
  private runNow(sha256: string): Promise<void> {
    return this.runNext(sha256).then(() => {}, () => {});
  }

  private async execute(job: ModelConversionRow): Promise<void> {
    const converter = this.o.converter ?? inlineStl;
    try {
      const source = await readBlob(this.o.store, blobKey(job.sha256));
      if (!source) {
        await this.o.repo.finishConversion(job.sha256, {
          ok: false,
          error: "the source file is missing from storage",
        }, this.o.now());
        return;
      }
      const result = await converter.convert(job.format, source);
      // Bad input and a limit (time, size) alike end the job: retrying would fail the same way.
      if (result.ok) await this.complete(job.sha256, result.glb);
      else await this.fail(job.sha256, result.error);
    } catch (err) {
      this.o.logError?.(`conversion of ${job.sha256} failed`, err);
      // Storage or database trouble: leave it for a later attempt.
      await this.o.repo.requeueConversion(job.sha256, this.o.now()).catch(() => {});
    }
  }

  /** Stores a finished GLB (durably) and marks the job done. */
  async complete(sha256: string, glb: Uint8Array): Promise<void> {
    await this.o.store.put(glbKey(sha256), glb, { contentType: "model/gltf-binary" });
    await this.o.repo.finishConversion(sha256, { ok: true, glbSize: glb.byteLength }, this.o.now());
  }

  async fail(sha256: string, error: string): Promise<void> {
    await this.o.repo.finishConversion(sha256, { ok: false, error }, this.o.now());
  }

  /** Hands the oldest waiting job to a remote converter. */
  claimForRemote(): Promise<ModelConversionRow | null> {
    return this.o.repo.claimConversion(this.o.now(), this.staleMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inflight.values()]);
  }
}

/** Waits for `promise` or `ms`, whichever ends first, leaving no timer behind. */
async function raceTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
  } finally {
    clearTimeout(timer);
  }
}
