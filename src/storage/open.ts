/**
 * Opens the blob store FILES_URL names, for the server entries (Deno, Node). It imports every
 * adapter, the disk one with `node:fs`, so code that must also bundle for Workers imports
 * `parseFilesUrl` from ./files-url.ts and `openRemoteBlobStore` from ./open-remote.ts instead.
 * The Worker entry passes an R2 binding to `createR2Store` itself.
 */
import { createDiskStore } from "./disk.ts";
import { type FilesSpec, parseFilesUrl } from "./files-url.ts";
import { createRemoteBlobStore, needsBinding } from "./open-remote.ts";
import { type BlobStore, StorageError } from "./types.ts";

export { type FilesSpec, type ParsedFilesUrl, parseFilesUrl } from "./files-url.ts";

/** The store a parsed FILES_URL describes; an R2 binding cannot be opened from a URL alone. */
export function createBlobStore(spec: FilesSpec): BlobStore {
  if (spec.kind === "disk") return createDiskStore(spec.root);
  if (spec.kind === "r2") throw needsBinding(spec.binding);
  return createRemoteBlobStore(spec);
}

/** The store FILES_URL names (with S3_* from `env`); throws a StorageError listing problems. */
export function openBlobStore(url: string, env: Record<string, string | undefined>): BlobStore {
  const parsed = parseFilesUrl(url, env);
  if (!parsed.ok) throw new StorageError(parsed.errors.join("\n"));
  return createBlobStore(parsed.spec);
}
