/**
 * The files of parts: content-addressed blobs in the blob store, revisions in the database.
 * A blob is stored (durably) before any row points at it; a sweep removes blobs that nothing
 * points at, so a crash mid-upload leaves neither a half file nor a dangling row.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { ModelFormat } from "../cad/types.ts";
import type { FileSlot, FilesRepo } from "../db/files-repo.ts";
import type { PartFileRow } from "../db/schema.ts";
import type { BlobStore } from "../storage/types.ts";
import { blobKey, type ConversionService, type ConversionState, glbKey } from "./conversions.ts";

/** An uploaded file, already checked by the route (name sanitised, type sniffed). */
export interface CheckedFile {
  filename: string;
  kind: PartFileRow["kind"];
  contentType: string;
  content: Uint8Array[];
}

/** An incremental SHA-256: the entries pass a native one where the runtime has it. */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  /** The digest as lowercase hex. */
  hex(): string;
}

/** SHA-256 in JavaScript (@noble/hashes), for runtimes without a native incremental hash. */
export function jsSha256(): Sha256 {
  const hash = sha256.create();
  return { update: (bytes) => hash.update(bytes), hex: () => bytesToHex(hash.digest()) };
}

/** Bytes hashed between two turns of the event loop, so a big file never stalls it long. */
const HASH_SLICE = 256 * 1024;

/** SHA-256 (hex) and size of chunked content, yielding to the event loop as it goes. */
export async function hashChunks(
  chunks: Uint8Array[],
  create: () => Sha256 = jsSha256,
): Promise<{ sha256: string; size: number }> {
  const hash = create();
  let size = 0;
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; at += HASH_SLICE) {
      const slice = chunk.subarray(at, at + HASH_SLICE);
      hash.update(slice);
      size += slice.byteLength;
      if (size % (4 * HASH_SLICE) < slice.byteLength) {
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
  }
  return { sha256: hash.hex(), size };
}

/** The model format a stored kind converts from, if any. */
export function modelFormat(kind: PartFileRow["kind"]): ModelFormat | null {
  return kind === "step" ? "step" : kind === "stl" ? "stl" : null;
}

export interface FilesServiceOptions {
  repo: FilesRepo;
  store: BlobStore;
  conversions: ConversionService;
  now: () => number;
  /** A SHA-256 for uploads; JavaScript's when absent. */
  sha256?: () => Sha256;
  logError?: (message: string, error: unknown) => void;
}

/** Uploads, revisions, views and clean-up of the files of parts. */
export class FilesService {
  constructor(private readonly o: FilesServiceOptions) {}

  get store(): BlobStore {
    return this.o.store;
  }

  get conversions(): ConversionService {
    return this.o.conversions;
  }

  /** Stores content under its SHA-256 unless that blob exists already. */
  async storeBlob(
    content: Uint8Array[],
    contentType?: string,
  ): Promise<{ sha256: string; size: number }> {
    // Hashed and stored from the chunks as they arrived: no copy of the whole file.
    const { sha256, size } = await hashChunks(content, this.o.sha256);
    const existing = await this.o.store.head(blobKey(sha256));
    if (!existing || existing.size !== size) {
      await this.o.store.put(blobKey(sha256), content, { contentType });
    }
    return { sha256, size };
  }

  /**
   * Stores a new revision of a part's file or drawing and, for a model, queues its conversion.
   * Null when the part does not exist (its blob is left for the sweep).
   */
  async upload(
    partId: number,
    slot: FileSlot,
    file: CheckedFile,
    uploadedBy: string,
    source: PartFileRow["source"] = "upload",
  ): Promise<{ row: PartFileRow; conversion?: ConversionState } | null> {
    const { sha256, size } = await this.storeBlob(file.content, file.contentType);
    const row = await this.o.repo.addRevision({
      partId,
      slot,
      filename: file.filename,
      kind: file.kind,
      contentType: file.contentType,
      size,
      sha256,
      uploadedBy,
      source,
      createdAt: this.o.now(),
    });
    if (!row) return null;
    const format = slot === "file" ? modelFormat(file.kind) : null;
    const conversion = format ? await this.o.conversions.enqueue(sha256, format) : undefined;
    return { row, conversion };
  }

  /** Removes the rows of a deleted part and every blob only it used. */
  async removePart(partId: number): Promise<void> {
    const shas = await this.o.repo.removePart(partId);
    await this.deleteUnreferenced(shas);
  }

  private async deleteUnreferenced(shas: string[]): Promise<number> {
    if (shas.length === 0) return 0;
    const used = await this.o.repo.referenced(shas);
    const unused = shas.filter((s) => !used.has(s));
    for (const sha of unused) {
      await this.o.store.delete(blobKey(sha));
      await this.o.store.delete(glbKey(sha));
    }
    await this.o.repo.dropConversions(unused);
    return unused.length;
  }

  /**
   * Removes what nothing points at: file rows of parts that are gone, blobs older than
   * `graceMs` that no row names (an upload still in flight is younger), GLBs of such sources.
   */
  async sweep(graceMs = 60 * 60_000): Promise<{ blobs: number; parts: number }> {
    const orphans = await this.o.repo.orphanedParts();
    for (const id of orphans) await this.removePart(id);
    const cutoff = this.o.now() - graceMs;
    const candidates: string[] = [];
    for await (const blob of this.o.store.list("blobs/")) {
      if (blob.uploadedAt < cutoff) candidates.push(blob.key.slice("blobs/".length));
    }
    for await (const blob of this.o.store.list("glb/")) {
      if (blob.uploadedAt < cutoff) {
        candidates.push(blob.key.slice("glb/".length).replace(/\.glb$/, ""));
      }
    }
    let removed = 0;
    const unique = [...new Set(candidates)];
    for (let i = 0; i < unique.length; i += 200) {
      removed += await this.deleteUnreferenced(unique.slice(i, i + 200));
    }
    await this.o.repo.dropConversions(await this.o.repo.unusedConversions());
    return { blobs: removed, parts: orphans.length };
  }
}
