import { z } from "@hono/zod-openapi";
import { CATEGORIES, PART_TYPES, STATUSES } from "../domain/workflow.ts";
import {
  blankToUndefined,
  findUnsafeText,
  intQuery,
  safeString,
  textQuery,
  unsafeTextMessage,
} from "./common.ts";

/** Largest accepted miscInfo, serialized. */
export const MAX_MISC_BYTES = 16 * 1024;

const SNAKE_ALIASES: Record<string, string> = {
  part_id: "partId",
  misc_info: "miscInfo",
  onshape_url: "onshapeUrl",
  claimed_date: "claimedDate",
};

/** Accepts the snake_case spellings older clients send; the camelCase key wins if both are present. */
function foldAliases(input: unknown): unknown {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
  const out: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const [snake, camel] of Object.entries(SNAKE_ALIASES)) {
    if (snake in out) {
      if (!(camel in out)) out[camel] = out[snake];
      delete out[snake];
    }
  }
  return out;
}

const label = (field: string) => field.charAt(0).toUpperCase() + field.slice(1);

/** A required, trimmed string of 1..max characters, with messages naming the field. */
function requiredText(field: string, max: number) {
  return safeString(field, {
    error: (i) =>
      i.input === undefined ? `${label(field)} is required` : `${field} must be a string`,
  }).trim()
    .min(1, `${label(field)} is required`)
    .max(max, `${field} must be at most ${max} characters`);
}

/** An optional string; blank means "no value" and is stored as null. */
function optionalText(field: string, max: number, trim = true) {
  const base = safeString(field, { error: `${field} must be a string or null` });
  return (trim ? base.trim() : base)
    .max(max, `${field} must be at most ${max} characters`)
    .nullable()
    .transform((v) => (v === null || v.trim() === "" ? null : v));
}

const typeField = z.union([z.enum(PART_TYPES), z.literal(""), z.null()], {
  error: "type must be 'cnc', 'hand' or null",
}).transform((v) => (v === "" ? null : v)).openapi({
  type: ["string", "null"],
  enum: ["cnc", "hand", "", null],
});

const urlField = safeString("onshapeUrl", { error: "onshapeUrl must be a string or null" })
  .trim()
  .max(500, "onshapeUrl must be at most 500 characters")
  .refine((v) => v === "" || isHttpUrl(v), "onshapeUrl must be an http(s) URL")
  .nullable()
  .transform((v) => (v === "" ? null : v));

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

const TIMESTAMP_ERROR = "claimedDate must be an ISO-8601 timestamp or null";

const timestampField = z.union([
  z.iso.datetime({ offset: true, error: TIMESTAMP_ERROR }),
  z.literal(""),
  z.null(),
], { error: TIMESTAMP_ERROR }).transform((v) => (v ? Date.parse(v) : null));

const utf8 = new TextEncoder();

/** Size of a miscInfo serialized as JSON, in UTF-8 bytes; Infinity if it cannot be serialized. */
export function miscInfoBytes(value: unknown): number {
  try {
    return utf8.encode(JSON.stringify(value)).length;
  } catch {
    return Infinity;
  }
}

export const MISC_TOO_LARGE = `miscInfo must be at most ${MAX_MISC_BYTES} bytes when serialized`;

/**
 * True when an object anywhere inside `value` has an own `__proto__` key (JSON.parse creates
 * those). Iterative, so nesting depth cannot overflow the stack.
 */
function hasProtoKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null) continue;
    if (!Array.isArray(v) && Object.hasOwn(v, "__proto__")) return true;
    for (const child of Object.values(v)) stack.push(child);
  }
  return false;
}

/**
 * Free-form JSON object with a size cap. `__proto__` keys are refused: parsing would silently
 * drop them (or turn them into a prototype), and clients merging miscInfo would be polluted.
 */
export const MiscInfoInput = z.preprocess(
  (v, ctx) => {
    if (hasProtoKey(v)) {
      ctx.addIssue({ code: "custom", message: "miscInfo must not contain the key __proto__" });
      return z.NEVER;
    }
    const bad = findUnsafeText(v);
    if (bad) {
      const where = ["miscInfo", ...bad].join(".");
      ctx.addIssue({
        code: "custom",
        path: bad,
        message: `${unsafeTextMessage(where)} (in keys or string values)`,
      });
      return z.NEVER;
    }
    return v;
  },
  z.record(z.string(), z.unknown(), {
    error: "miscInfo must be a JSON object or null",
  }).refine((v) => miscInfoBytes(v) <= MAX_MISC_BYTES, MISC_TOO_LARGE).nullable(),
).openapi({
  type: ["object", "null"],
  description: "Free-form JSON. Known keys: reviewer, storage, handWorkers, completedIncorrectly",
});

const amountField = z.number({ error: "amount must be a whole number" })
  .int("amount must be a whole number")
  .min(1, "amount must be at least 1")
  .max(10_000, "amount must be at most 10000");

const statusField = z.enum(STATUSES, {
  error: `status must be one of ${STATUSES.join(", ")}`,
});

const editableFields = {
  partId: requiredText("partId", 100).openapi({ example: "3322-DT-017" }),
  name: optionalText("name", 200).optional().openapi({ example: "Drive gearbox plate" }),
  type: typeField.optional(),
  material: requiredText("material", 200).openapi({ example: "6061 aluminum 1/4in plate" }),
  subsystem: requiredText("subsystem", 100).openapi({ example: "Drivetrain" }),
  amount: amountField.optional(),
  assigned: optionalText("assigned", 100).optional(),
  status: statusField.optional(),
  notes: optionalText("notes", 5000, false).optional(),
  file: optionalText("file", 200).optional(),
  onshapeUrl: urlField.optional(),
  claimedDate: timestampField.optional(),
  miscInfo: MiscInfoInput.optional(),
};

const categoryGuard = {
  category: z.enum(CATEGORIES, {
    error: "category changes only through the workflow actions (approve, complete, revert)",
  }).optional().openapi({
    description: "Read-only: a value other than the part's current stage is rejected",
  }),
};

/** POST /api/parts body. */
export const PartCreateInput = z.preprocess(
  foldAliases,
  z.object({ ...editableFields, ...categoryGuard }).openapi("PartCreate"),
);

/** PUT /api/parts/{id} body: any subset of the editable fields. */
export const PartUpdateInput = z.preprocess(
  foldAliases,
  z.object({
    ...editableFields,
    partId: editableFields.partId.optional(),
    material: editableFields.material.optional(),
    subsystem: editableFields.subsystem.optional(),
    ...categoryGuard,
  }).openapi("PartUpdate"),
);

export const ApproveInput = z.preprocess(
  foldAliases,
  z.object({
    miscInfo: MiscInfoInput.optional(),
    reviewer: optionalText("reviewer", 100).optional(),
  }).openapi("ApproveBody"),
);

export const AssignInput = z.object({
  assigned: requiredText("assigned", 100).optional().openapi({
    example: "Alex",
    description: "Who claims the part; defaults to the holder of a personal key",
  }),
}).openapi("AssignBody");

export const CompleteInput = z.preprocess(
  foldAliases,
  z.object({ miscInfo: MiscInfoInput.optional() }).openapi("CompleteBody"),
);

/** The Part as every endpoint returns it. */
export const PartSchema = z.object({
  id: z.number().int(),
  partId: z.string(),
  name: z.string().nullable(),
  type: z.enum(PART_TYPES).nullable(),
  material: z.string(),
  subsystem: z.string(),
  amount: z.number().int(),
  assigned: z.string().nullable(),
  status: z.enum(STATUSES),
  category: z.enum(CATEGORIES),
  notes: z.string().nullable(),
  file: z.string().nullable(),
  onshapeUrl: z.string().nullable(),
  claimedDate: z.string().nullable().openapi({ format: "date-time" }),
  miscInfo: z.record(z.string(), z.unknown()).nullable(),
  version: z.number().int().openapi({ description: "Incremented by every change" }),
  createdAt: z.string().openapi({ format: "date-time" }),
  updatedAt: z.string().openapi({ format: "date-time" }),
}).openapi("Part");

export type Part = z.infer<typeof PartSchema>;

export const PartListSchema = z.object({
  parts: z.array(PartSchema),
  total: z.number().int(),
  limit: z.number().int().nullable(),
  offset: z.number().int(),
}).openapi("PartList");

/** Sort keys: the wire name (snake or camel) → the Part field. */
export const SORT_KEYS = {
  name: "name",
  partId: "partId",
  part_id: "partId",
  status: "status",
  assigned: "assigned",
  subsystem: "subsystem",
  material: "material",
  category: "category",
  type: "type",
  amount: "amount",
  created_at: "createdAt",
  createdAt: "createdAt",
  updated_at: "updatedAt",
  updatedAt: "updatedAt",
  claimed_date: "claimedDate",
  claimedDate: "claimedDate",
} as const;

export type SortField = (typeof SORT_KEYS)[keyof typeof SORT_KEYS];

const listQueryFields = {
  search: textQuery("search", 100).openapi({ description: "Case-insensitive substring" }),
  sort_by: z.preprocess(
    blankToUndefined,
    z.enum(Object.keys(SORT_KEYS) as [keyof typeof SORT_KEYS], {
      error: `sort_by must be one of ${Object.keys(SORT_KEYS).join(", ")}`,
    }).optional(),
  ).openapi({ type: "string", enum: Object.keys(SORT_KEYS) }),
  sort_order: z.preprocess(
    (v) => (typeof v === "string" ? blankToUndefined(v.toLowerCase()) : v),
    z.enum(["asc", "desc"], { error: "sort_order must be asc or desc" }).optional(),
  ).openapi({ type: "string", enum: ["asc", "desc"] }),
  limit: intQuery("limit", 1, 1000),
  offset: intQuery("offset", 0, 1_000_000),
};

export const ListQuery = z.object({
  category: z.preprocess(
    blankToUndefined,
    z.enum(CATEGORIES, { error: `category must be one of ${CATEGORIES.join(", ")}` }).optional(),
  ).openapi({ type: "string", enum: [...CATEGORIES] }),
  ...listQueryFields,
});

export const CategoryListQuery = z.object(listQueryFields);

export const CategoryParams = z.object({
  category: z.enum(CATEGORIES, {
    error: `category must be one of ${CATEGORIES.join(", ")}`,
  }).openapi({ param: { name: "category", in: "path" } }),
});

export const StatsSchema = z.object({
  by_category: z.object({
    review: z.number().int(),
    cnc: z.number().int(),
    hand: z.number().int(),
    completed: z.number().int(),
  }),
  by_status: z.object({
    pending: z.number().int(),
    in_progress: z.number().int(),
    completed: z.number().int(),
  }),
  assignment: z.object({ assigned: z.number().int(), unassigned: z.number().int() }),
  total: z.number().int(),
  statuses: z.record(z.enum(STATUSES), z.number().int()).openapi({
    description: "Count of parts for every status value",
  }),
  by_subsystem: z.array(z.object({
    subsystem: z.string(),
    parts: z.number().int(),
    partsCompleted: z.number().int(),
    amount: z.number().int(),
    amountCompleted: z.number().int(),
  })).openapi({ description: "Progress per subsystem: parts and amounts done vs total" }),
  completions_per_day: z.array(z.object({ date: z.string(), count: z.number().int() }))
    .openapi({ description: "Completions per UTC day, last 14 days, oldest first" }),
  median_claim_to_complete_ms: z.number().nullable().openapi({
    description: "Median time from the latest claim to completion; null until one is recorded",
  }),
}).openapi("Stats");

export const LeaderboardSchema = z.object({
  leaderboard: z.array(z.object({ name: z.string(), score: z.number() })),
}).openapi("Leaderboard");
