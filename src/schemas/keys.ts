import { z } from "@hono/zod-openapi";
import { ROLES } from "../domain/roles.ts";
import { safeString } from "./common.ts";

export const KeySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  role: z.enum(ROLES),
  prefix: z.string().openapi({ description: "First characters of the key, to recognise it" }),
  createdAt: z.string().openapi({ format: "date-time" }),
  lastUsedAt: z.string().nullable().openapi({ format: "date-time" }),
  revokedAt: z.string().nullable().openapi({ format: "date-time" }),
  expiresAt: z.string().nullable().openapi({
    format: "date-time",
    description: "When the key stops working; null if it never expires",
  }),
}).openapi("ApiKey");

export const CreatedKeySchema = KeySchema.extend({
  key: z.string().openapi({ description: "The key itself. Shown only in this response." }),
}).openapi("CreatedApiKey");

export const KeyListSchema = z.object({ keys: z.array(KeySchema) }).openapi("ApiKeyList");

const keyName = safeString("name", {
  error: (i) => (i.input === undefined ? "Name is required" : "name must be a string"),
}).trim().min(1, "Name is required").max(100, "name must be at most 100 characters")
  .openapi({ example: "Alex Chen" });

const keyRole = z.enum(ROLES, { error: `role must be one of ${ROLES.join(", ")}` });

/** Latest accepted expiry, from now: a key meant to last longer should not expire at all. */
export const MAX_KEY_LIFETIME_MS = 10 * 366 * 86_400_000;

export const KeyCreateInput = z.object({
  name: keyName,
  role: keyRole,
  expiresAt: z.preprocess(
    (v) => (v === "" ? null : v),
    z.iso.datetime({ offset: true, error: "expiresAt must be an ISO-8601 timestamp" })
      .transform((v) => Date.parse(v)).nullable().optional(),
  ).openapi({
    type: "string",
    format: "date-time",
    description: "When the key stops working (in the future); omit for a key that never expires",
    example: "2026-06-30T23:59:59Z",
  }),
}).openapi("ApiKeyCreate");

export const KeyUpdateInput = z.object({
  name: keyName.optional(),
  role: keyRole.optional(),
}).refine((v) => v.name !== undefined || v.role !== undefined, {
  message: "Nothing to change: send name and/or role",
}).openapi("ApiKeyUpdate");
