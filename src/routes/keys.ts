import { createRoute } from "@hono/zod-openapi";
import type { App, RouteContext } from "../context.ts";
import { issueKey } from "../auth.ts";
import type { ApiKeyRow } from "../db/schema.ts";
import { iso } from "../db/parts-repo.ts";
import { ApiError } from "../errors.ts";
import { errors, IdParams, jsonResponse } from "../schemas/common.ts";
import { CreatedKeySchema, KeyCreateInput, KeyListSchema, KeySchema } from "../schemas/keys.ts";
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
  };
}

const tags = ["Keys"];
const adminErrors = { 401: errors[401], 403: errors[403] };

const listKeysRoute = createRoute({
  method: "get",
  path: "/api/keys",
  operationId: "listKeys",
  summary: "List API keys (never the keys themselves)",
  tags,
  ...access("admin"),
  responses: {
    200: jsonResponse(KeyListSchema, "All keys, revoked ones included"),
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

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/api/keys/{id}",
  operationId: "revokeKey",
  summary: "Revoke a key; it stops working on the next request",
  tags,
  ...access("admin"),
  request: { params: IdParams },
  responses: {
    200: jsonResponse(KeySchema, "The revoked key"),
    ...adminErrors,
    404: errors[404],
  },
});

/** Key management, for admins. */
export function registerKeyRoutes(app: App, ctx: RouteContext): void {
  app.openapi(listKeysRoute, async (c) => {
    return c.json({ keys: (await ctx.keys.list()).map(toKey) }, 200);
  });

  app.openapi(createKeyRoute, async (c) => {
    const { name, role } = c.req.valid("json");
    const { row, key } = await issueKey(ctx.keys, name, role, ctx.now());
    c.header("Cache-Control", "no-store");
    return c.json({ ...toKey(row), key }, 201);
  });

  app.openapi(revokeKeyRoute, async (c) => {
    const row = await ctx.keys.revoke(Number(c.req.valid("param").id), ctx.now());
    if (!row) throw new ApiError("not_found", "Key not found");
    return c.json(toKey(row), 200);
  });
}
