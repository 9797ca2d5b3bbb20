import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import { partEtag, toPart } from "../db/parts-repo.ts";
import type { PartRow } from "../db/schema.ts";
import { ApiError } from "../errors.ts";

/** The entity tags listed in an If-Match / If-None-Match header ("*" matches anything). */
export function parseEtags(header: string | undefined): string[] | "*" | null {
  if (header === undefined || header.trim() === "") return null;
  if (header.trim() === "*") return "*";
  return header.match(/(W\/)?"[^"]*"/g) ?? [];
}

/**
 * Reads If-Match once per request. The returned check throws 412 with the current part when
 * the client's copy is stale; null means the request has no version precondition. Weak tags
 * never match (If-Match uses strong comparison).
 */
export function ifMatch(c: Context<AppEnv>): ((row: PartRow) => void) | null {
  const tags = parseEtags(c.req.header("if-match"));
  // No header, or "*" (any current version): nothing beyond the part existing.
  if (tags === null || tags === "*") return null;
  return (row) => {
    if (tags.includes(partEtag(row))) return;
    throw new ApiError(
      "precondition_failed",
      `The part has changed since you loaded it (now version ${row.version}); reload and retry`,
      { part: toPart(row) },
      { ETag: partEtag(row) },
    );
  };
}

/** Thrown to answer 304 Not Modified; the error handler turns it into an empty response. */
export class NotModified extends Error {}

/** Sets the ETag, and ends the request with 304 when If-None-Match already has it. */
export function checkNotModified(c: Context<AppEnv>, etag: string): void {
  c.header("ETag", etag);
  c.header("Cache-Control", "no-cache");
  const tags = parseEtags(c.req.header("if-none-match"));
  if (tags === null) return;
  // If-None-Match uses weak comparison: W/"x" matches "x".
  if (tags === "*" || tags.some((t) => t.replace(/^W\//, "") === etag)) throw new NotModified();
}

/** A short stable hash, to tell apart the ETags of different queries on the same data. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/**
 * ETag of a response that depends only on the parts data: every change to any part appends an
 * event, so the newest event id identifies the data. Shared by every server instance because it
 * comes from the database, not from process memory.
 */
export function dataEtag(c: Context<AppEnv>, latestEventId: number, extra = ""): string {
  const url = new URL(c.req.url);
  return `"d${latestEventId}-${fnv1a(url.pathname + url.search + extra)}"`;
}
