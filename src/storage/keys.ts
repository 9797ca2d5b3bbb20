/**
 * Rules every adapter applies the same way: which keys are valid, how a store prefix is written,
 * how a byte range is clamped. Keys are made by the server, but a key that reaches a disk path or
 * an object URL is checked again here.
 */
import { type ByteRange, StorageError } from "./types.ts";

/** Longest key in UTF-8 bytes (S3's limit, applied everywhere so every store accepts the same). */
export const MAX_KEY_BYTES = 1024;
/** Longest segment in UTF-8 bytes (a file name on common file systems). */
export const MAX_SEGMENT_BYTES = 255;
/** Names the disk store gives its temporary files; no key segment may start with it. */
export const TEMP_PREFIX = ".tmp-";

const encoder = new TextEncoder();
// C0 controls, DEL and backslash: never in a server-made key, and unsafe on disk or in XML.
// deno-lint-ignore no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function refuse(what: string, value: string, why: string): never {
  throw new StorageError(`invalid ${what} ${JSON.stringify(value)}: ${why}`);
}

function checkCharacters(what: string, value: string): void {
  if (FORBIDDEN.test(value)) refuse(what, value, "control characters and backslashes are refused");
  if (LONE_SURROGATE.test(value)) refuse(what, value, "not valid Unicode");
  if (encoder.encode(value).byteLength > MAX_KEY_BYTES) {
    refuse(what, value, `longer than ${MAX_KEY_BYTES} bytes`);
  }
}

function checkSegment(what: string, value: string, segment: string): void {
  if (segment === "") refuse(what, value, "empty segments (leading, trailing or double /)");
  if (segment === "." || segment === "..") refuse(what, value, `"${segment}" segments`);
  if (segment.startsWith(TEMP_PREFIX)) refuse(what, value, `segments starting "${TEMP_PREFIX}"`);
  if (encoder.encode(segment).byteLength > MAX_SEGMENT_BYTES) {
    refuse(what, value, `a segment longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
}

/** Throws StorageError unless `key` is a relative `/`-path of plain, non-empty segments. */
export function checkKey(key: string): void {
  if (typeof key !== "string" || key === "") refuse("key", String(key), "empty");
  checkCharacters("key", key);
  for (const segment of key.split("/")) checkSegment("key", key, segment);
}

/**
 * Throws StorageError unless `prefix` is a valid list prefix: empty, or whole valid segments
 * followed by `/` or by the start of a segment (`glb/ab` matches `glb/abc.glb`).
 */
export function checkPrefix(prefix: string): void {
  if (typeof prefix !== "string") refuse("prefix", String(prefix), "not a string");
  if (prefix === "") return;
  checkCharacters("prefix", prefix);
  const segments = prefix.split("/");
  segments.pop();
  for (const segment of segments) checkSegment("prefix", prefix, segment);
}

/** A store's own prefix as it is put before keys: `""`, or whole segments ending in `/`. */
export function storePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? "").replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  checkKey(trimmed);
  return `${trimmed}/`;
}

/**
 * The part of an object a range asks for, clamped to its size: an offset at or past the end
 * gives `{ offset: size, length: 0 }`. Throws RangeError for a negative or fractional range.
 */
export function clampRange(range: ByteRange, size: number): { offset: number; length: number } {
  checkRange(range);
  const offset = Math.min(range.offset, size);
  const rest = size - offset;
  return { offset, length: range.length === undefined ? rest : Math.min(range.length, rest) };
}

/** Throws RangeError unless offset (and length, when given) are whole numbers ≥ 0. */
export function checkRange(range: ByteRange): void {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!ok(range.offset) || (range.length !== undefined && !ok(range.length))) {
    throw new RangeError(`invalid byte range ${JSON.stringify(range)}`);
  }
}

/** The chunks of a put as one array (the chunk itself when there is only one). */
export function concatChunks(body: Uint8Array | Uint8Array[]): Uint8Array {
  if (body instanceof Uint8Array) return body;
  if (body.length === 1) return body[0];
  let size = 0;
  for (const chunk of body) size += chunk.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of body) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A stream of nothing, for an empty object or an empty range. */
export function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
}
