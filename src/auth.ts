import type { MiddlewareHandler } from "hono";
import type { Config } from "./config.ts";
import { ApiError } from "./errors.ts";

const encoder = new TextEncoder();

/** SHA-256 of a key; keys are only ever compared as hashes. */
export async function hashKey(key: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(key)));
}

/** Compares two equal-length digests without an early exit, so timing reveals nothing. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** The key a request carries in `X-API-Key` or `Authorization: Bearer`, if any. */
export function presentedKey(headers: { get(name: string): string | null }): string | null {
  const header = headers.get("x-api-key")?.trim();
  if (header) return header;
  const authorization = headers.get("authorization")?.trim();
  const match = authorization?.match(/^Bearer\s+(.+)$/i);
  return match ? match[1].trim() : null;
}

const HOW_TO_SEND = "Send the key in the X-API-Key header or as 'Authorization: Bearer <key>'";

/** Middleware admitting only requests that carry the team's shared key. */
export function createAuth(config: Config): MiddlewareHandler {
  const expected = hashKey(config.secretKey);
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return next();
    const key = presentedKey(c.req.raw.headers);
    if (!key) throw new ApiError("unauthorized", "API key required", { details: HOW_TO_SEND });
    if (!constantTimeEqual(await hashKey(key), await expected)) {
      throw new ApiError("unauthorized", "Invalid API key", {
        details: "The key is not valid for this server",
      });
    }
    await next();
  };
}
