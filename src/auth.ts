import { sha256 } from "@noble/hashes/sha2.js";
import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "./config.ts";
import { ApiError } from "./errors.ts";
import type { KeyActor, KeysRepo } from "./db/keys-repo.ts";
import { type Role, roleAllows } from "./domain/roles.ts";
import type { ApiKeyRow } from "./db/schema.ts";
import { budgetKey, resolveClientAddress } from "./client-address.ts";

const encoder = new TextEncoder();

/** Who is making a request, as established by their key. */
export interface Principal {
  /** Key id, or null for the SECRET_KEY bootstrap key. */
  keyId: number | null;
  name: string;
  role: Role;
  /** When the key stops working (ms since the epoch), or null if it never expires. */
  expiresAt: number | null;
}

/** True while a key row may be used at `now`: not revoked, not expired. */
export function keyIsLive(row: ApiKeyRow, now: number): boolean {
  return row.revokedAt === null && (row.expiresAt === null || row.expiresAt > now);
}

/** The name recorded for actions taken with SECRET_KEY. */
export const SHARED_KEY_NAME = "shared key";

/**
 * SHA-256 of a key; keys are only ever stored and compared as hashes. Synchronous (pure JS):
 * on the hot path of every request it is ~20x cheaper than the async Web Crypto call.
 */
export function hashKey(key: string): Uint8Array {
  return sha256(encoder.encode(key));
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two equal-length digests without an early exit, so timing reveals nothing. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const KEY_PREFIX = "pm_";
const VISIBLE_CHARS = 10;

/** A new random key (192 bits, base64url) with its visible prefix and stored hash. */
export function generateKey(): { key: string; prefix: string; keyHash: string } {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const body = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
  const key = `${KEY_PREFIX}${body}`;
  return { key, prefix: key.slice(0, VISIBLE_CHARS), keyHash: toHex(hashKey(key)) };
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

/** Counts failed authentications per client address in fixed one-minute windows. */
export class FailureLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxTracked = 10_000,
  ) {}

  /** Seconds until the address may try again, or 0 when it is not blocked. */
  blockedFor(address: string, now: number): number {
    const w = this.windows.get(address);
    if (!w || w.resetAt <= now || w.count < this.limit) return 0;
    return Math.ceil((w.resetAt - now) / 1000);
  }

  recordFailure(address: string, now: number): void {
    const w = this.windows.get(address);
    if (w && w.resetAt > now) {
      w.count++;
      return;
    }
    if (this.windows.size >= this.maxTracked) this.prune(now);
    this.windows.set(address, { count: 1, resetAt: now + this.windowMs });
  }

  private prune(now: number): void {
    for (const [address, w] of this.windows) {
      if (w.resetAt <= now) this.windows.delete(address);
    }
    // Still full of live windows: drop the oldest entries rather than grow without bound.
    for (const address of this.windows.keys()) {
      if (this.windows.size < this.maxTracked) break;
      this.windows.delete(address);
    }
  }
}

export interface AuthOptions {
  config: Config;
  keys: KeysRepo;
  now: () => number;
  /** The client's network address, as the runtime reports it. */
  clientAddress: (c: Context) => string | undefined;
}

const TOUCH_GRANULARITY_MS = 60_000;

/**
 * Establishes the Principal for /api routes: SECRET_KEY is the bootstrap admin, other keys are
 * looked up by hash. Wrong keys count against the client address; a valid key is never
 * throttled, so a whole team behind one school NAT keeps working.
 */
export function createAuth(options: AuthOptions): MiddlewareHandler {
  const { config, keys, now } = options;
  const sharedHash = hashKey(config.secretKey);
  const limiter = new FailureLimiter(config.authFailureLimit, 60_000);
  const lastTouched = new Map<number, number>();

  const addressOf = (c: Context): string => {
    const address = resolveClientAddress(
      config.proxyTrust.mode === "direct" ? undefined : c.req.header("x-forwarded-for"),
      options.clientAddress(c),
      config.proxyTrust,
    );
    return address === undefined ? "unknown" : budgetKey(address);
  };

  const lookup = async (key: string): Promise<Principal | null> => {
    const digest = hashKey(key);
    if (constantTimeEqual(digest, sharedHash)) {
      return { keyId: null, name: SHARED_KEY_NAME, role: "admin", expiresAt: null };
    }
    const hex = toHex(digest);
    const row: ApiKeyRow | undefined = await keys.findByHash(hex);
    // The index finds the row by hash; the constant-time check guards the final decision.
    const t = now();
    // Revoked and expired keys get the same answer as keys that never existed.
    if (!row || !keyIsLive(row, t)) return null;
    if (!constantTimeEqual(encoder.encode(row.keyHash), encoder.encode(hex))) return null;
    if ((lastTouched.get(row.id) ?? 0) < t - TOUCH_GRANULARITY_MS) {
      lastTouched.set(row.id, t);
      await keys.touch(row.id, t, TOUCH_GRANULARITY_MS);
    }
    return { keyId: row.id, name: row.name, role: row.role, expiresAt: row.expiresAt };
  };

  return async (c, next) => {
    if (c.req.method === "OPTIONS") return next();
    const key = presentedKey(c.req.raw.headers);
    if (!key) throw new ApiError("unauthorized", "API key required", { details: HOW_TO_SEND });
    const principal = key.length <= 512 ? await lookup(key) : null;
    if (principal) {
      c.set("principal", principal);
      return next();
    }
    const address = addressOf(c);
    const t = now();
    const wait = limiter.blockedFor(address, t);
    if (wait > 0) {
      throw new ApiError(
        "rate_limited",
        "Too many failed authentication attempts; try again later",
        { details: `Retry in ${wait} s` },
        { "Retry-After": String(wait) },
      );
    }
    limiter.recordFailure(address, t);
    throw new ApiError("unauthorized", "Invalid API key", { details: HOW_TO_SEND });
  };
}

/** Route middleware: 403 unless the principal's role is at least `needed`. */
export function requireRole(needed: Role): MiddlewareHandler {
  return async (c, next) => {
    const principal = c.get("principal") as Principal | undefined;
    if (!principal) throw new ApiError("unauthorized", "API key required");
    if (!roleAllows(principal.role, needed)) {
      throw new ApiError(
        "forbidden",
        `This needs the ${needed} role; your key has the ${principal.role} role`,
        { details: `Ask an admin for a key with the ${needed} role`, requiredRole: needed },
      );
    }
    await next();
  };
}

/** Creates a key for a person: returns the stored row and the key itself (shown only once). */
export async function issueKey(
  keys: KeysRepo,
  input: { name: string; role: Role; expiresAt?: number | null },
  now: number,
  actor: KeyActor,
): Promise<{ row: ApiKeyRow; key: string }> {
  const { key, prefix, keyHash } = generateKey();
  const row = await keys.insert({ ...input, prefix, keyHash, createdAt: now }, actor);
  return { row, key };
}
