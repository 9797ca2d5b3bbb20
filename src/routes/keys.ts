import { createRoute } from "@hono/zod-openapi";
import type { App, RouteContext } from "../context.ts";
import { issueKey } from "../auth.ts";
import type { ApiKeyRow } from "../db/schema.ts";
import { iso } from "../db/parts-repo.ts";
import { ApiError } from "../errors.ts";
import { errors, IdParams, jsonResponse } from "../schemas/common.ts";
import {
  CreatedKeySchema,
  KeyCreateInput,
  KeyListSchema,
  KeySchema,
  KeyUpdateInput,
  MAX_KEY_LIFETIME_MS,
} from "../schemas/keys.ts";
import { access } from "./access.ts";

/** The public view of a key: never its hash. */
export function toKey(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdAt: iso(row.createdAt)!,
    lastUsedAt: iso(row.lastUsedAt),
    revokedAt: iso(row.revokedAt),
    expiresAt: iso(row.expiresAt),
  };
}

/** Checks a requested expiry against the clock: in the future, and not absurdly far. */
export function checkExpiry(expiresAt: number | null | undefined, now: number): void {
  if (expiresAt == null) return;
  const problem = expiresAt <= now
    ? "expiresAt must be in the future"
    : expiresAt > now + MAX_KEY_LIFETIME_MS
    ? "expiresAt must be within 10 years; omit it for a key that never expires"
    : null;
  if (problem) {
    throw new ApiError("validation_failed", problem, {
      field: "expiresAt",
      issues: [{ path: "expiresAt", message: problem }],
    });
  }
}

const tags = ["Keys"];
const adminErrors = { 401: errors[401], 403: errors[403] };
const keyNotFound = { ...errors[404], description: "No key with this id" };

const listKeysRoute = createRoute({
  method: "get",
  path: "/api/keys",
  operationId: "listKeys",
  summary: "List API keys (never the keys themselves)",
  tags,
  ...access("admin"),
  responses: {
    200: jsonResponse(KeyListSchema, "All keys, revoked and expired ones included"),
    ...adminErrors,
  },
});

const createKeyRoute = createRoute({
  method: "post",
  path: "/api/keys",
  operationId: "createKey",
  summary: "Create a key for a person; the key is in this response only",
  tags,
  ...access("admin"),
  request: {
    body: { content: { "application/json": { schema: KeyCreateInput } }, required: true },
  },
  responses: {
    201: jsonResponse(CreatedKeySchema, "The new key"),
    400: errors[400],
    ...adminErrors,
    413: errors[413],
    415: errors[415],
  },
});

const updateKeyRoute = createRoute({
  method: "patch",
  path: "/api/keys/{id}",
  operationId: "updateKey",
  summary: "Give a key another role or holder name; its open live streams end",
  tags,
  ...access("admin"),
  request: {
    params: IdParams,
    body: { content: { "application/json": { schema: KeyUpdateInput } }, required: true },
  },
  responses: {
    200: jsonResponse(KeySchema, "The key after the change (unchanged if it already held)"),
    400: errors[400],
    ...adminErrors,
    404: keyNotFound,
    409: { ...errors[409], description: "The key is revoked (the body's `key` is the key)" },
    413: errors[413],
    415: errors[415],
  },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/api/keys/{id}",
  operationId: "revokeKey",
  summary: "Revoke a key; it stops working on the next request, its live streams end",
  tags,
  ...access("admin"),
  request: { params: IdParams },
  responses: {
    200: jsonResponse(KeySchema, "The revoked key"),
    ...adminErrors,
    404: keyNotFound,
  },
});

const notFound = () => new ApiError("not_found", "Key not found");

/** Key management, for admins. Every answer, errors included, is `Cache-Control: no-store`. */
export function registerKeyRoutes(app: App, ctx: RouteContext): void {
  app.openapi(listKeysRoute, async (c) => {
    return c.json({ keys: (await ctx.keys.list()).map(toKey) }, 200);
  });

  app.openapi(createKeyRoute, async (c) => {
    const { name, role, expiresAt } = c.req.valid("json");
    const now = ctx.now();
    checkExpiry(expiresAt, now);
    const { row, key } = await issueKey(ctx.keys, { name, role, expiresAt }, now, {
      name: c.get("principal").name,
    });
    return c.json({ ...toKey(row), key }, 201);
  });

  app.openapi(updateKeyRoute, async (c) => {
    const id = Number(c.req.valid("param").id);
    const result = await ctx.keys.update(id, c.req.valid("json"), ctx.now(), {
      name: c.get("principal").name,
    });
    if (!result) throw notFound();
    if (result.revoked) {
      throw new ApiError("conflict", "This key is revoked; create a new key instead", {
        key: toKey(result.row),
      });
    }
    return c.json(toKey(result.row), 200);
  });

  app.openapi(revokeKeyRoute, async (c) => {
    const id = Number(c.req.valid("param").id);
    const row = await ctx.keys.revoke(id, ctx.now(), { name: c.get("principal").name });
    if (!row) throw notFound();
    return c.json(toKey(row), 200);
  });
}
