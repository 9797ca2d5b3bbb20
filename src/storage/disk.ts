/**
 * A blob store in a folder: the key `glb/ab.glb` is the file `<root>/glb/ab.glb`. A put writes a
 * temporary file beside the target (`.tmp-<random>`), fsyncs it, renames it over the key and
 * fsyncs the folder, so a crash at any point leaves the old object or the new one, never part of
 * one. Temporary files are invisible to get/head/list; list and `sweep` remove those an hour old.
 *
 * On disk a key cannot also be a folder of other keys (`a` and `a/b` at once): such a put fails
 * with a StorageError. Deleting the last key of a folder removes the empty folder.
 *
 * Uses only `node:fs` and `node:path` (Deno and Node).
 */
import { lstat, mkdir, open, readdir, rename, rmdir, stat, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { checkKey, checkPrefix, clampRange, MAX_SEGMENT_BYTES, TEMP_PREFIX } from "./keys.ts";
import {
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  StorageError,
} from "./types.ts";

/** How long a temporary file may sit before it counts as left by an interrupted put. */
export const STALE_TEMP_MS = 60 * 60 * 1000;
/** Bytes read from the file per chunk of a get's stream. */
const READ_CHUNK = 256 * 1024;

/** The disk store, with its folder and a clean-up of interrupted puts. */
export interface DiskStore extends BlobStore {
  /** Absolute path of the folder. */
  readonly root: string;
  /** Removes temporary files older than `olderThanMs` (default an hour); returns how many. */
  sweep(olderThanMs?: number): Promise<number>;
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: unknown })?.code as string | undefined;
}

const MISSING = new Set(["ENOENT", "ENOTDIR"]);

function randomName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return TEMP_PREFIX + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let at = 0;
  while (at < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, at, chunk.byteLength - at);
    if (bytesWritten <= 0) throw new Error("the file system accepted no bytes");
    at += bytesWritten;
  }
}

/** Makes a rename durable; some platforms cannot open or sync a folder, which is tolerated. */
async function syncFolder(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    await handle.sync();
  } catch {
    // best effort: the file itself is already fsynced
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** A store over the folder `root` (created on the first put). */
export function createDiskStore(root: string): DiskStore {
  const base = resolve(root);
  const pathOf = (key: string) => join(base, ...key.split("/"));

  const fail = (action: string, key: string, error: unknown): StorageError => {
    const code = codeOf(error);
    const hint = code === "EISDIR" || code === "ENOTDIR" || code === "EEXIST"
      ? " (on disk a key cannot also be a folder of other keys)"
      : "";
    const why = code ?? (error instanceof Error ? error.message : String(error));
    const message = `disk ${root}: cannot ${action} ${JSON.stringify(key)}: ${why}${hint}`;
    return new StorageError(message, { cause: error });
  };

  /** Opens a new temporary file in `folder`, creating the folder (again, if a delete raced us). */
  const openTemp = async (folder: string): Promise<{ path: string; handle: FileHandle }> => {
    for (let attempt = 0;; attempt++) {
      try {
        await mkdir(folder, { recursive: true });
        const path = join(folder, randomName());
        return { path, handle: await open(path, "wx") };
      } catch (error) {
        // ENOENT: a delete removed the (then empty) folder between mkdir and open.
        if (codeOf(error) === "ENOENT" && attempt < 3) continue;
        throw error;
      }
    }
  };

  const removeIfStale = async (path: string, olderThanMs: number): Promise<boolean> => {
    try {
      const info = await stat(path);
      if (Date.now() - info.mtimeMs < olderThanMs) return false;
      await unlink(path);
      return true;
    } catch {
      return false;
    }
  };

  /** Objects under `folder` whose names start with `start` (only at this level). */
  async function* walk(folder: string, keyBase: string, start: string): AsyncGenerator<BlobInfo> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (MISSING.has(codeOf(error) ?? "")) return;
      throw fail("list", keyBase, error);
    }
    for (const entry of entries) {
      const name = entry.name;
      if (!name.startsWith(start)) continue;
      const path = join(folder, name);
      if (name.startsWith(TEMP_PREFIX)) {
        if (entry.isFile()) await removeIfStale(path, STALE_TEMP_MS);
        continue;
      }
      // Files that no key could name (put there by hand) are not objects of this store.
      if (name.includes("\\") || new TextEncoder().encode(name).byteLength > MAX_SEGMENT_BYTES) {
        continue;
      }
      const key = keyBase === "" ? name : `${keyBase}/${name}`;
      if (entry.isDirectory()) {
        yield* walk(path, key, "");
      } else if (entry.isFile()) {
        try {
          const info = await stat(path);
          yield { key, size: info.size, uploadedAt: Math.floor(info.mtimeMs) };
        } catch (error) {
          // Deleted between readdir and stat: no longer an object.
          if (!MISSING.has(codeOf(error) ?? "")) throw fail("list", key, error);
        }
      }
    }
  }

  async function sweepFolder(folder: string, olderThanMs: number): Promise<number> {
    let removed = 0;
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return 0;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) removed += await sweepFolder(path, olderThanMs);
      else if (entry.name.startsWith(TEMP_PREFIX) && await removeIfStale(path, olderThanMs)) {
        removed++;
      }
    }
    return removed;
  }

  return {
    description: `disk ${root}`,
    root: base,

    async put(key: string, body: Uint8Array | Uint8Array[]): Promise<void> {
      checkKey(key);
      const target = pathOf(key);
      const folder = dirname(target);
      let temp: { path: string; handle: FileHandle } | undefined;
      let writing = false;
      try {
        temp = await openTemp(folder);
        writing = true;
        for (const chunk of body instanceof Uint8Array ? [body] : body) {
          await writeAll(temp.handle, chunk);
        }
        await temp.handle.sync();
        writing = false;
        await temp.handle.close();
        await rename(temp.path, target);
      } catch (error) {
        if (temp) {
          if (writing) await temp.handle.close().catch(() => {});
          await unlink(temp.path).catch(() => {});
        }
        throw fail("write", key, error);
      }
      await syncFolder(folder);
    },

    async get(key: string, range?: ByteRange): Promise<BlobBody | null> {
      checkKey(key);
      let handle: FileHandle;
      try {
        handle = await open(pathOf(key), "r");
      } catch (error) {
        if (MISSING.has(codeOf(error) ?? "")) return null;
        throw fail("read", key, error);
      }
      try {
        // The size from the open file: a put renaming a new file over the key meanwhile does not
        // change what this handle reads.
        const info = await handle.stat();
        if (!info.isFile()) {
          await handle.close();
          return null;
        }
        const span = range ? clampRange(range, info.size) : { offset: 0, length: info.size };
        return {
          key,
          size: info.size,
          uploadedAt: Math.floor(info.mtimeMs),
          body: fileStream(handle, span.offset, span.length, (e) => fail("read", key, e)),
          ...(range ? { range: span } : {}),
        };
      } catch (error) {
        await handle.close().catch(() => {});
        if (error instanceof RangeError) throw error;
        throw fail("read", key, error);
      }
    },

    async head(key: string): Promise<BlobInfo | null> {
      checkKey(key);
      try {
        const info = await stat(pathOf(key));
        if (!info.isFile()) return null;
        return { key, size: info.size, uploadedAt: Math.floor(info.mtimeMs) };
      } catch (error) {
        if (MISSING.has(codeOf(error) ?? "")) return null;
        throw fail("read", key, error);
      }
    },

    async delete(key: string): Promise<void> {
      checkKey(key);
      try {
        // A folder of other keys is not an object (and Deno's unlink would remove an empty one).
        if ((await lstat(pathOf(key))).isDirectory()) return;
        await unlink(pathOf(key));
      } catch (error) {
        if (MISSING.has(codeOf(error) ?? "")) return;
        throw fail("delete", key, error);
      }
      // Empty folders left behind go too, up to the root; the first non-empty one stops it.
      let folder = dirname(pathOf(key));
      while (folder !== base && folder.startsWith(base)) {
        try {
          await rmdir(folder);
        } catch {
          break;
        }
        folder = dirname(folder);
      }
    },

    async *list(prefix: string): AsyncIterable<BlobInfo> {
      checkPrefix(prefix);
      const segments = prefix.split("/");
      const start = segments.pop() ?? "";
      yield* walk(join(base, ...segments), segments.join("/"), start);
    },

    sweep(olderThanMs = STALE_TEMP_MS): Promise<number> {
      return sweepFolder(base, olderThanMs);
    },
  };
}

/** Reads `length` bytes from `offset` as a stream; the file is closed at the end or on cancel. */
function fileStream(
  handle: FileHandle,
  offset: number,
  length: number,
  fail: (error: unknown) => StorageError,
): ReadableStream<Uint8Array> {
  let position = offset;
  let remaining = length;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (remaining === 0) {
          await close();
          controller.close();
          return;
        }
        const buffer = new Uint8Array(Math.min(READ_CHUNK, remaining));
        const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position);
        if (bytesRead === 0) throw new Error("the file ended early (truncated in place?)");
        position += bytesRead;
        remaining -= bytesRead;
        controller.enqueue(
          bytesRead === buffer.byteLength ? buffer : buffer.subarray(0, bytesRead),
        );
        if (remaining === 0) {
          await close();
          controller.close();
        }
      } catch (error) {
        await close().catch(() => {});
        controller.error(fail(error));
      }
    },
    async cancel() {
      await close();
    },
  }, { highWaterMark: 0 });
}
