/**
 * FILES_URL and the S3_* variables, read into a description of the store to open. Pure and free
 * of imports that pull in an adapter, so config parsing (also on Workers) can use it.
 *
 *   file:./data/files  file:/abs/path  file:///abs/path     a folder
 *   s3://bucket[/prefix]                                   S3-compatible storage, with S3_ENDPOINT,
 *                                                          S3_REGION (default auto),
 *                                                          S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY,
 *                                                          S3_FORCE_PATH_STYLE (default false)
 *   r2://BINDING[/prefix]                                  an R2 binding of the Worker
 *   memory:                                                process memory (tests)
 */
import { checkKey } from "./keys.ts";
import type { S3StoreOptions } from "./s3.ts";

export type FilesSpec =
  | { kind: "disk"; root: string }
  | { kind: "s3"; options: S3StoreOptions }
  | { kind: "r2"; binding: string; prefix: string }
  | { kind: "memory" };

export type ParsedFilesUrl = { ok: true; spec: FilesSpec } | { ok: false; errors: string[] };

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];

const blank = (value: string | undefined) => value === undefined || value.trim() === "";

/** Problems with a bucket name (S3's rules: 3–63 of a-z 0-9 . -, starting and ending alnum). */
function bucketProblem(bucket: string): string | undefined {
  if (bucket === "") return "names no bucket";
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
    return `has an invalid bucket name "${bucket}" (3-63 characters: a-z, 0-9, dots, hyphens)`;
  }
  return undefined;
}

function prefixProblem(prefix: string): string | undefined {
  if (prefix === "") return undefined;
  try {
    checkKey(prefix);
    return undefined;
  } catch (error) {
    return `has an invalid prefix: ${(error as Error).message}`;
  }
}

/** Splits `scheme://name/prefix/...` into the name and the prefix (slashes trimmed). */
function splitTarget(rest: string): { name: string; prefix: string } {
  const slash = rest.indexOf("/");
  if (slash < 0) return { name: rest, prefix: "" };
  return { name: rest.slice(0, slash), prefix: rest.slice(slash + 1).replace(/^\/+|\/+$/g, "") };
}

function parseS3(rest: string, env: Record<string, string | undefined>): ParsedFilesUrl {
  const errors: string[] = [];
  const { name: bucket, prefix } = splitTarget(rest);
  if (bucket.includes("@")) {
    errors.push(
      "FILES_URL must not carry credentials: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
    );
  } else {
    const problem = bucketProblem(bucket);
    if (problem) errors.push(`FILES_URL ${problem}`);
  }
  const prefixError = prefixProblem(prefix);
  if (prefixError) errors.push(`FILES_URL ${prefixError}`);

  const needed = `when FILES_URL is s3://...`;
  const endpoint = env.S3_ENDPOINT?.trim() ?? "";
  if (endpoint === "") {
    errors.push(
      `S3_ENDPOINT is required ${needed} (e.g. https://<account>.r2.cloudflarestorage.com, ` +
        `https://s3.<region>.amazonaws.com, http://127.0.0.1:9000)`,
    );
  } else {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      errors.push("S3_ENDPOINT must be an http:// or https:// URL");
    } else if (url.username || url.password) {
      errors.push(
        "S3_ENDPOINT must not carry credentials: use S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY",
      );
    } else if (url.search || url.hash) {
      errors.push("S3_ENDPOINT must not have a query or fragment");
    }
  }
  const region = blank(env.S3_REGION) ? "auto" : env.S3_REGION!.trim();
  if (blank(env.S3_ACCESS_KEY_ID)) errors.push(`S3_ACCESS_KEY_ID is required ${needed}`);
  if (blank(env.S3_SECRET_ACCESS_KEY)) errors.push(`S3_SECRET_ACCESS_KEY is required ${needed}`);
  let forcePathStyle = false;
  if (!blank(env.S3_FORCE_PATH_STYLE)) {
    const value = env.S3_FORCE_PATH_STYLE!.trim().toLowerCase();
    if (TRUE.includes(value)) forcePathStyle = true;
    else if (!FALSE.includes(value)) {
      errors.push("S3_FORCE_PATH_STYLE must be one of true/false, 1/0, yes/no, on/off");
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    spec: {
      kind: "s3",
      options: {
        bucket,
        ...(prefix ? { prefix } : {}),
        endpoint,
        region,
        accessKeyId: env.S3_ACCESS_KEY_ID!.trim(),
        secretAccessKey: env.S3_SECRET_ACCESS_KEY!.trim(),
        forcePathStyle,
      },
    },
  };
}

function parseFile(rest: string): ParsedFilesUrl {
  let root = rest;
  if (rest.startsWith("//")) {
    // A real file URL: file:///abs/path (or file://localhost/abs/path).
    const slash = rest.indexOf("/", 2);
    const host = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    if (host !== "" && host !== "localhost") {
      return {
        ok: false,
        errors: [`FILES_URL file:// URLs must be local (file:///abs/path), not on "${host}"`],
      };
    }
    try {
      root = decodeURIComponent(slash < 0 ? "" : rest.slice(slash));
    } catch {
      return { ok: false, errors: ["FILES_URL is not a valid file URL (bad % escape)"] };
    }
  }
  if (root.trim() === "") {
    return { ok: false, errors: ["FILES_URL names no folder (e.g. file:./data/files)"] };
  }
  if (root.includes("\u0000")) return { ok: false, errors: ["FILES_URL contains a NUL character"] };
  return { ok: true, spec: { kind: "disk", root } };
}

/** Reads FILES_URL (and the S3_* variables for s3://), listing every problem by variable. */
export function parseFilesUrl(
  url: string,
  env: Record<string, string | undefined>,
): ParsedFilesUrl {
  const value = url.trim();
  const scheme = value.match(/^([a-zA-Z][a-zA-Z0-9+.-]*):/)?.[1]?.toLowerCase();
  const rest = scheme ? value.slice(scheme.length + 1) : "";
  switch (scheme) {
    case "file":
      return parseFile(rest);
    case "memory":
      return rest === "" || rest === "//"
        ? { ok: true, spec: { kind: "memory" } }
        : { ok: false, errors: ["FILES_URL memory: takes nothing after the colon"] };
    case "s3":
      if (!rest.startsWith("//")) {
        return {
          ok: false,
          errors: ["FILES_URL must look like s3://bucket or s3://bucket/prefix"],
        };
      }
      return parseS3(rest.slice(2), env);
    case "r2": {
      if (!rest.startsWith("//")) {
        return {
          ok: false,
          errors: ["FILES_URL must look like r2://BINDING or r2://BINDING/prefix"],
        };
      }
      const { name, prefix } = splitTarget(rest.slice(2));
      const errors: string[] = [];
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        errors.push(`FILES_URL r2://${name} does not name a binding (letters, digits, _)`);
      }
      const prefixError = prefixProblem(prefix);
      if (prefixError) errors.push(`FILES_URL ${prefixError}`);
      return errors.length ? { ok: false, errors } : {
        ok: true,
        spec: { kind: "r2", binding: name, prefix },
      };
    }
    default:
      return {
        ok: false,
        errors: [
          `FILES_URL must be file:<folder>, s3://<bucket>[/<prefix>], r2://<BINDING>[/<prefix>] ` +
          `or memory:${scheme ? ` (not ${scheme}:)` : ""}`,
        ],
      };
  }
}
