import type { Context } from "hono";
import type { AppEnv, RouteContext } from "../app.ts";
import { checkNotModified, dataEtag } from "./conditional.ts";

const encoder = new TextEncoder();

/**
 * A response whose body is JSON serialized ahead of time (by SQLite or the cache). The bodies
 * match the routes' response schemas, which the contract tests check on every response; the
 * cast only tells the typed router so.
 */
export function jsonBytes(c: Context<AppEnv>, body: Uint8Array<ArrayBuffer>): never {
  return c.body(body, 200, { "Content-Type": "application/json" }) as never;
}

/**
 * Serves a read that depends only on the parts data: answers 304 when the client is current,
 * replays the cached body while the data version (newest event id) is unchanged, and otherwise
 * builds, caches and sends it. `extra` is anything else the body depends on (e.g. the day).
 */
export async function cachedRead(
  c: Context<AppEnv>,
  ctx: RouteContext,
  build: () => Promise<string>,
  extra = "",
): Promise<never> {
  const version = await ctx.events.latestId();
  checkNotModified(c, dataEtag(c, version, extra));
  const key = c.req.url + extra;
  const hit = ctx.cache.get(key, version);
  if (hit) return jsonBytes(c, hit.body);
  const body = encoder.encode(await build());
  ctx.cache.set(key, version, body);
  return jsonBytes(c, body);
}

/** Like cachedRead, for one part: its ETag is the part's own version, known after a build. */
export async function cachedPart(
  c: Context<AppEnv>,
  ctx: RouteContext,
  build: () => Promise<{ json: string; etag: string }>,
): Promise<never> {
  const version = await ctx.events.latestId();
  const key = c.req.url;
  const hit = ctx.cache.get(key, version);
  if (hit) {
    checkNotModified(c, hit.etag!);
    return jsonBytes(c, hit.body);
  }
  const { json, etag } = await build();
  checkNotModified(c, etag);
  const body = encoder.encode(json);
  ctx.cache.set(key, version, body, etag);
  return jsonBytes(c, body);
}
