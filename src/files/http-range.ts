/**
 * Conditional and partial downloads (RFC 9110 §13, §14): Range, If-None-Match, If-Range.
 * Pure functions over header values.
 */

/** What a Range header asks of a representation of `size` bytes. */
export type RangeRequest =
  | { kind: "none" }
  | { kind: "range"; offset: number; length: number }
  | { kind: "unsatisfiable" };

const NONE: RangeRequest = { kind: "none" };
const UNSATISFIABLE: RangeRequest = { kind: "unsatisfiable" };

/**
 * Reads a single byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against `size`. Several
 * ranges, another unit or a malformed value mean "send the whole file", which RFC 9110 allows
 * a server to do for any Range; a range that starts at or past the end is unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return NONE;
  const match = /^\s*bytes\s*=\s*(\d*)-(\d*)\s*$/i.exec(header);
  if (match === null) return NONE;
  const [, first, last] = match;
  if (first === "" && last === "") return NONE;
  if (first === "") {
    // Suffix range: the last n bytes; zero of them, or of an empty file, cannot be served.
    const n = Number(last);
    if (n === 0 || size === 0) return UNSATISFIABLE;
    const length = Math.min(n, size);
    return { kind: "range", offset: size - length, length };
  }
  const offset = Number(first);
  if (last !== "" && Number(last) < offset) return NONE;
  if (offset >= size) return UNSATISFIABLE;
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: "range", offset, length: end - offset + 1 };
}

/** The Content-Range value of a 206 (`bytes a-b/size`) or, without a range, of a 416. */
export function contentRange(size: number, range?: { offset: number; length: number }): string {
  if (range === undefined) return `bytes */${size}`;
  return `bytes ${range.offset}-${range.offset + range.length - 1}/${size}`;
}

const TAG = /(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"/y;
const isOws = (c: string) => c === " " || c === "\t";

/** The entity tags of a header list, `W/` kept; null when the header is empty or malformed. */
function entityTags(header: string): string[] | null {
  const tags: string[] = [];
  let i = 0;
  for (;;) {
    // Empty list elements (", ,") are allowed by the list syntax of RFC 9110 §5.6.1.
    while (i < header.length && (isOws(header[i]) || header[i] === ",")) i++;
    if (i >= header.length) break;
    TAG.lastIndex = i;
    const m = TAG.exec(header);
    if (m === null) return null;
    tags.push(m[0]);
    i = TAG.lastIndex;
    while (i < header.length && isOws(header[i])) i++;
    if (i < header.length && header[i] !== ",") return null;
  }
  return tags.length > 0 ? tags : null;
}

/** The server's own tag in header form: callers may pass it quoted or bare. */
function quoted(etag: string): string {
  return etag.startsWith('"') || etag.startsWith("W/") ? etag : `"${etag}"`;
}

const opaque = (tag: string) => (tag.startsWith("W/") ? tag.slice(2) : tag);

/**
 * True when If-None-Match lists `etag` (weak comparison: `W/"x"` matches `"x"`) or is `*`,
 * so a GET should answer 304. An absent or malformed header never matches.
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  const tags = entityTags(header);
  if (tags === null) return false;
  const mine = opaque(quoted(etag));
  return tags.some((t) => opaque(t) === mine);
}

/**
 * True when a Range may be honoured under If-Range: no header, or a strong entity tag equal to
 * `etag`, or an HTTP date equal to `lastModifiedMs` (to the second). Otherwise the whole file
 * is sent.
 */
export function ifRangeAllows(
  header: string | undefined,
  etag: string,
  lastModifiedMs?: number,
): boolean {
  if (header === undefined || header.trim() === "") return true;
  const value = header.trim();
  if (value.startsWith('"')) return value === quoted(etag) && !quoted(etag).startsWith("W/");
  if (value.startsWith("W/")) return false;
  if (lastModifiedMs === undefined) return false;
  const date = Date.parse(value);
  return Number.isFinite(date) && Math.floor(lastModifiedMs / 1000) === Math.floor(date / 1000);
}
