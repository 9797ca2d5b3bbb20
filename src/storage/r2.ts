/**
 * A blob store over a Cloudflare R2 bucket binding (Workers). R2 writes are atomic, so a put is
 * one call with the whole body. R2 refuses a range that starts at or past the end; this adapter
 * answers it with an empty range instead, like the other stores.
 */
import {
  checkKey,
  checkPrefix,
  checkRange,
  clampRange,
  concatChunks,
  emptyStream,
  storePrefix,
} from "./keys.ts";
import {
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  StorageError,
} from "./types.ts";

/** What this adapter uses of an R2 object's metadata. */
export interface R2ObjectLike {
  key: string;
  size: number;
  uploaded: Date;
}

/** An R2 object with its bytes. */
export interface R2ObjectBodyLike extends R2ObjectLike {
  body: ReadableStream<Uint8Array>;
}

/** The part of the Workers `R2Bucket` binding this adapter calls. */
export interface R2BucketLike {
  put(
    key: string,
    value: Uint8Array,
    options?: { httpMetadata?: { contentType?: string } },
  ): Promise<unknown>;
  get(
    key: string,
    options?: { range?: { offset: number; length?: number } },
  ): Promise<R2ObjectBodyLike | null>;
  head(key: string): Promise<R2ObjectLike | null>;
  delete(key: string): Promise<void>;
  list(options?: { prefix?: string; cursor?: string; limit?: number }): Promise<{
    objects: R2ObjectLike[];
    truncated: boolean;
    cursor?: string;
  }>;
}

export interface R2StoreOptions {
  /** The binding's name, for messages (default `R2`). */
  name?: string;
  /** Keys asked for per list call, 1–1000; default 1000. */
  listPageSize?: number;
}

/** A store over an R2 binding, its keys under `prefix`. */
export function createR2Store(
  bucket: R2BucketLike,
  prefix?: string,
  options: R2StoreOptions = {},
): BlobStore {
  const base = storePrefix(prefix);
  const name = options.name ?? "R2";
  const limit = Math.max(1, Math.min(1000, options.listPageSize ?? 1000));
  const where = `R2 bucket ${name}`;

  /** Runs one binding call, turning what it throws into a StorageError. */
  const call = async <T>(action: string, key: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new StorageError(`${where}: ${action} ${JSON.stringify(key)} failed: ${reason}`, {
        cause: error,
      });
    }
  };

  const info = (key: string, object: R2ObjectLike): BlobInfo => ({
    key,
    size: object.size,
    uploadedAt: object.uploaded.getTime(),
  });

  const head = async (key: string): Promise<BlobInfo | null> => {
    checkKey(key);
    const object = await call("head", key, () => bucket.head(base + key));
    return object && info(key, object);
  };

  const emptyRange = (found: BlobInfo, range: ByteRange): BlobBody => ({
    ...found,
    body: emptyStream(),
    range: { offset: Math.min(range.offset, found.size), length: 0 },
  });

  return {
    description: `r2 ${name}${base ? `/${base.slice(0, -1)}` : ""}`,

    async put(key: string, body: Uint8Array | Uint8Array[], put?: PutOptions): Promise<void> {
      checkKey(key);
      const bytes = concatChunks(body);
      const httpMetadata = put?.contentType ? { contentType: put.contentType } : undefined;
      await call("put", key, () => bucket.put(base + key, bytes, { httpMetadata }));
    },

    async get(key: string, range?: ByteRange): Promise<BlobBody | null> {
      checkKey(key);
      if (!range) {
        const object = await call("get", key, () => bucket.get(base + key));
        return object && { ...info(key, object), body: object.body };
      }
      checkRange(range);
      if (range.length === 0) {
        const found = await head(key);
        return found && emptyRange(found, range);
      }
      const asked = range.length === undefined
        ? { offset: range.offset }
        : { offset: range.offset, length: range.length };
      let object: R2ObjectBodyLike | null;
      try {
        object = await bucket.get(base + key, { range: asked });
      } catch (error) {
        // R2 refuses a range past the end ("not satisfiable"): look at the size and ask again
        // within it, or answer an empty range.
        const found = await head(key);
        if (!found) return null;
        const span = clampRange(range, found.size);
        if (span.length === 0) return emptyRange(found, range);
        if (span.length === range.length) {
          const reason = error instanceof Error ? error.message : String(error);
          throw new StorageError(`${where}: get ${JSON.stringify(key)} failed: ${reason}`, {
            cause: error,
          });
        }
        object = await call("get", key, () => bucket.get(base + key, { range: span }));
      }
      if (!object) return null;
      return { ...info(key, object), body: object.body, range: clampRange(range, object.size) };
    },

    head,

    async delete(key: string): Promise<void> {
      checkKey(key);
      await call("delete", key, () => bucket.delete(base + key));
    },

    async *list(listPrefix: string): AsyncIterable<BlobInfo> {
      checkPrefix(listPrefix);
      let cursor: string | undefined;
      do {
        const page = await call(
          "list",
          listPrefix,
          () => bucket.list({ prefix: base + listPrefix, limit, ...(cursor ? { cursor } : {}) }),
        );
        for (const object of page.objects) {
          if (object.key.startsWith(base)) yield info(object.key.slice(base.length), object);
        }
        if (page.truncated && !page.cursor) {
          throw new StorageError(`${where}: list ${JSON.stringify(listPrefix)}: no cursor`);
        }
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor !== undefined);
    },
  };
}
