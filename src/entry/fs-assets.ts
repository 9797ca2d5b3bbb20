/** File-system asset source for server runtimes (Deno and Node both provide node:fs). */
import { readFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import type { AssetSource } from "../app.ts";
import { safeRelativePath } from "../routes/static.ts";

/** Reads files below `root`; anything outside it or missing reads as null. */
export function directorySource(root: string): AssetSource {
  const base = resolve(root);
  return {
    async read(path) {
      const relative = safeRelativePath(path);
      if (relative === null || relative === "") return null;
      const full = join(base, relative);
      if (!full.startsWith(base + sep)) return null;
      try {
        return new Uint8Array(await readFile(full));
      } catch {
        return null;
      }
    },
  };
}
