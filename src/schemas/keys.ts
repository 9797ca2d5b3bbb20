import { z } from "@hono/zod-openapi";
import { ROLES } from "../domain/roles.ts";

export const KeySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  role: z.enum(ROLES),
  prefix: z.string().openapi({ description: "First characters of the key, to recognise it" }),
  createdAt: z.string().openapi({ format: "date-time" }),
  lastUsedAt: z.string().nullable().openapi({ format: "date-time" }),
  revokedAt: z.string().nullable().openapi({ format: "date-time" }),
}).openapi("ApiKey");

export const CreatedKeySchema = KeySchema.extend({
  key: z.string().openapi({ description: "The key itself. Shown only in this response." }),
}).openapi("CreatedApiKey");

export const KeyListSchema = z.object({ keys: z.array(KeySchema) }).openapi("ApiKeyList");

export const KeyCreateInput = z.object({
  name: z.string({
    error: (i) => (i.input === undefined ? "Name is required" : "name must be a string"),
  }).trim().min(1, "Name is required").max(100, "name must be at most 100 characters")
    .openapi({ example: "Alex Chen" }),
  role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(", ")}` }),
}).openapi("ApiKeyCreate");
