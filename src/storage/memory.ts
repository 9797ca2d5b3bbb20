/** A blob store in process memory, for tests and throwaway servers: same rules as the others. */
import { checkKey, checkPrefix, clampRange, concatChunks } from "./keys.ts";
import type { BlobBody, BlobInfo, BlobStore, ByteRange } from "./types.ts";

/** Bytes handed to a reader at a time, so big objects stream like they do from the others. */
const CHUNK = 64 * 1024;

interface Entry {
  bytes: Uint8Array;
  uploadedAt: number;
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) {
        controller.close();
        return;
      }
      // Copies, so a reader that writes into its chunks cannot change the stored object.
      controller.enqueue(bytes.slice(at, at + CHUNK));
      at += CHUNK;
    },
  }, { highWaterMark: 0 });
}

/** An empty in-memory store. */
export function createMemoryStore(): BlobStore {
  const objects = new Map<string, Entry>();
  const info = (key: string, entry: Entry): BlobInfo => ({
    key,
    size: entry.bytes.byteLength,
    uploadedAt: entry.uploadedAt,
  });

  return {
    description: "memory",

    put(key: string, body: Uint8Array | Uint8Array[]): Promise<void> {
      try {
        checkKey(key);
        const joined = concatChunks(body);
        // A copy even of a single chunk: the caller may reuse its buffer.
        const shared = body instanceof Uint8Array || body.length === 1;
        objects.set(key, { bytes: shared ? joined.slice() : joined, uploadedAt: Date.now() });
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    },

    get(key: string, range?: ByteRange): Promise<BlobBody | null> {
      try {
        checkKey(key);
        const entry = objects.get(key);
        if (!entry) return Promise.resolve(null);
        if (!range) return Promise.resolve({ ...info(key, entry), body: streamOf(entry.bytes) });
        const span = clampRange(range, entry.bytes.byteLength);
        const part = entry.bytes.subarray(span.offset, span.offset + span.length);
        return Promise.resolve({ ...info(key, entry), body: streamOf(part), range: span });
      } catch (error) {
        return Promise.reject(error);
      }
    },

    head(key: string): Promise<BlobInfo | null> {
      try {
        checkKey(key);
        const entry = objects.get(key);
        return Promise.resolve(entry ? info(key, entry) : null);
      } catch (error) {
        return Promise.reject(error);
      }
    },

    delete(key: string): Promise<void> {
      try {
        checkKey(key);
        objects.delete(key);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    },

    async *list(prefix: string): AsyncIterable<BlobInfo> {
      checkPrefix(prefix);
      // A snapshot, so puts and deletes while the caller iterates do not disturb the walk.
      const matches = [...objects].filter(([key]) => key.startsWith(prefix));
      for (const [key, entry] of matches) yield await Promise.resolve(info(key, entry));
    },
  };
}
