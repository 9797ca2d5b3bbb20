import type { Context } from "hono";
import type { AppEnv, RouteContext } from "../context.ts";
import type { CachedBody } from "../cache.ts";
import { checkNotModified, dataEtag } from "./conditional.ts";

const encoder = new TextEncoder();

/**
 * A response whose body is JSON serialized ahead of time (by SQLite or the cache). The bodies
 * match the routes' response schemas, which the contract tests check on every response; the
 * cast only tells the typed router so.
 */
export function jsonBody(c: Context<AppEnv>, body: CachedBody): never {
  const headers = { "Content-Type": "application/json" };
  if (typeof body === "string") return c.body(body, 200, headers) as never;
  // A Response built from bytes copies them; a stream hands the cached bytes over as they are.
  // For a whole stage (hundreds of KB) under load, that copy dominated memory use.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(body);
      controller.close();
    },
  });
  return c.body(stream, 200, headers) as never;
}

/**
 * Small bodies stay strings: the runtime writes a string straight out, while bytes would be
 * copied into a fresh buffer per response, and thousands of small buffers (a cache full of
 * single parts) made garbage collection slow everything down. Large bodies are stored encoded
 * once and streamed.
 */
function toCachedBody(json: string): CachedBody {
  return json.length < STREAM_ABOVE ? json : encoder.encode(json);
}

const STREAM_ABOVE = 32 * 1024;

export interface Built {
  json: string;
  /** The body's own ETag; by default one derived from the data version. */
  etag?: string;
}

/**
 * Serves a read that depends only on the parts data (plus `extra`, e.g. the day). The data
 * version (newest event id) is read first, on every request, from the database: a cached body
 * is replayed only while that version is unchanged, so it is never older than a completed
 * write on any instance. 304 when the client already has the current ETag. `build` may throw
 * (e.g. 404), and then nothing is cached and no 304 is given.
 */
export async function cachedRead(
  c: Context<AppEnv>,
  ctx: RouteContext,
  build: () => Promise<Built> | Built,
  extra = "",
): Promise<never> {
  const version = await ctx.events.latestId();
  const key = c.req.url + extra;
  const hit = ctx.cache.get(key, version);
  if (hit) {
    checkNotModified(c, hit.etag);
    return jsonBody(c, hit.body);
  }
  const built = await build();
  const etag = built.etag ?? dataEtag(c, version, extra);
  checkNotModified(c, etag);
  const body = toCachedBody(built.json);
  ctx.cache.set(key, version, body, etag);
  return jsonBody(c, body);
}
