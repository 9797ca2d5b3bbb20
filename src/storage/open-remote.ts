/**
 * Opens the stores FILES_URL can name without a file system (s3://, memory:), for the Worker
 * entry: unlike ./open.ts it does not import the disk adapter, whose `node:fs` a Worker without
 * the nodejs_compat flag cannot load.
 */
import { type FilesSpec, parseFilesUrl } from "./files-url.ts";
import { createMemoryStore } from "./memory.ts";
import { createS3Store } from "./s3.ts";
import { type BlobStore, StorageError } from "./types.ts";

/** A parsed FILES_URL that needs neither a file system nor a binding. */
export type RemoteFilesSpec = Extract<FilesSpec, { kind: "s3" | "memory" }>;

/** The store of an s3:// or memory: FILES_URL. */
export function createRemoteBlobStore(spec: RemoteFilesSpec): BlobStore {
  return spec.kind === "s3" ? createS3Store(spec.options) : createMemoryStore();
}

/** The s3:// or memory: store FILES_URL names; throws a StorageError for anything else. */
export function openRemoteBlobStore(
  url: string,
  env: Record<string, string | undefined>,
): BlobStore {
  const parsed = parseFilesUrl(url, env);
  if (!parsed.ok) throw new StorageError(parsed.errors.join("\n"));
  const spec = parsed.spec;
  if (spec.kind === "disk") {
    throw new StorageError("FILES_URL file: needs a file system: use s3:// or an R2 binding here");
  }
  if (spec.kind === "r2") throw needsBinding(spec.binding);
  return createRemoteBlobStore(spec);
}

/** The error for an r2:// FILES_URL, which only the Worker entry can open (with its binding). */
export function needsBinding(binding: string): StorageError {
  return new StorageError(
    `FILES_URL r2://${binding} needs the Worker's binding: createR2Store(env.${binding})`,
  );
}
