/**
 * Where the files of parts live: a folder on disk, S3-compatible object storage, or an R2
 * binding. Keys are `/`-separated paths made by the server (never by a client), such as
 * `blobs/<sha256>` or `glb/<sha256>.glb`.
 */
export interface BlobStore {
  /** A short description for logs and the health answer, e.g. `disk ./data/files`. */
  readonly description: string;
  /**
   * Stores the bytes under `key`, replacing what was there. Resolves only once the bytes are
   * durable (fsynced on disk, acknowledged by the object store); a failed or interrupted put
   * never leaves a partial object under `key`.
   */
  put(key: string, body: Uint8Array | Uint8Array[], options?: PutOptions): Promise<void>;
  /** The object as a stream, the whole of it or one byte range; null when there is none. */
  get(key: string, range?: ByteRange): Promise<BlobBody | null>;
  /** Size and time of an object without reading it; null when there is none. */
  head(key: string): Promise<BlobInfo | null>;
  /** Removes an object; removing one that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in any order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
}

export interface PutOptions {
  contentType?: string;
}

/** Bytes `offset` … `offset + length - 1`; without length, to the end. */
export interface ByteRange {
  offset: number;
  length?: number;
}

export interface BlobInfo {
  key: string;
  /** Size of the whole object in bytes. */
  size: number;
  /** When the object was last written, ms since the epoch. */
  uploadedAt: number;
}

export interface BlobBody extends BlobInfo {
  /** The bytes asked for (the range, when one was given). Cancel it to stop reading. */
  body: ReadableStream<Uint8Array>;
  /** The range actually returned (clamped to the object's size), when one was asked for. */
  range?: { offset: number; length: number };
}

/** Thrown by adapters for a store that cannot be reached or refuses a request. */
export class StorageError extends Error {
  override name = "StorageError";
}
