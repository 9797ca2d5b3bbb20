import { z } from "@hono/zod-openapi";
import { CATEGORIES, EVENT_ACTIONS, STATUSES } from "../domain/workflow.ts";
import { KEY_EVENT_ACTIONS, ROLES } from "../domain/roles.ts";
import { blankToUndefined, intQuery, textQuery, timestampQuery } from "./common.ts";

export const EventSchema = z.object({
  id: z.number().int().openapi({ description: "Increasing; use as a cursor (`after`)" }),
  part: z.number().int().openapi({ description: "The part's id" }),
  partId: z.string().openapi({ description: "Team part number at the time" }),
  partName: z.string().nullable(),
  action: z.enum(EVENT_ACTIONS),
  actor: z.string().openapi({ description: "Holder of the key that made the change" }),
  onBehalfOf: z.string().optional().openapi({
    description: "Present when a lead or admin acted for someone else with a personal key: " +
      "the person claimed for (assign), or whose claim was released (unclaim, or an edit of " +
      "`assigned`)",
  }),
  fromCategory: z.enum(CATEGORIES).nullable(),
  toCategory: z.enum(CATEGORIES).nullable(),
  fromStatus: z.enum(STATUSES).nullable(),
  toStatus: z.enum(STATUSES).nullable(),
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).nullable()
    .openapi({ description: "Changed fields with old and new values" }),
  version: z.number().int().openapi({ description: "The part's version after the event" }),
  createdAt: z.string().openapi({ format: "date-time" }),
}).openapi("PartEvent");

export const KeyEventSchema = z.object({
  id: z.number().int().openapi({ description: "From the same sequence as part events" }),
  kind: z.literal("key"),
  action: z.enum(KEY_EVENT_ACTIONS),
  actor: z.string().openapi({ description: "Holder of the key that made the change" }),
  key: z.object({
    id: z.number().int(),
    name: z.string(),
    prefix: z.string(),
    role: z.enum(ROLES),
  }).openapi({ description: "The key as the change left it (never the key itself)" }),
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).nullable()
    .openapi({ description: "Changed fields with old and new values" }),
  createdAt: z.string().openapi({ format: "date-time" }),
}).openapi("KeyEvent");

/** Kinds of event a feed may carry; key events need an admin key. */
export const FEED_KINDS = ["part", "key", "all"] as const;

export const HistorySchema = z.object({
  events: z.array(EventSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
}).openapi("PartHistory");

/** The feed as clients that read only part events (the default `kind`) see it. */
export const ActivitySchema = z.object({
  events: z.array(EventSchema),
  limit: z.number().int(),
}).openapi("Activity");

/** The feed of any kind: part events and, with `kind=key` or `kind=all`, key events. */
export const FeedSchema = z.object({
  events: z.array(z.union([EventSchema, KeyEventSchema])).openapi({
    description: 'Part events; with `kind=key` or `kind=all`, key events (`kind: "key"`) too',
  }),
  limit: z.number().int(),
}).openapi("ActivityFeed");

export const HistoryQuery = z.object({
  limit: intQuery("limit", 1, 500),
  offset: intQuery("offset", 0, 1_000_000_000),
});

const ALL_ACTIONS = [...EVENT_ACTIONS, ...KEY_EVENT_ACTIONS] as const;

const kindQuery = z.preprocess(
  blankToUndefined,
  z.enum(FEED_KINDS, { error: "kind must be part, key or all" }).optional(),
).openapi({
  type: "string",
  enum: [...FEED_KINDS],
  description: "`part` (default): part events; `key` or `all`: key events too (admin only)",
});

export const ActivityQuery = z.object({
  kind: kindQuery,
  since: timestampQuery("since"),
  after: intQuery("after", 0, Number.MAX_SAFE_INTEGER),
  actor: textQuery("actor", 100),
  action: z.preprocess(
    blankToUndefined,
    z.enum(ALL_ACTIONS, { error: `action must be one of ${ALL_ACTIONS.join(", ")}` })
      .optional(),
  ).openapi({ type: "string", enum: [...ALL_ACTIONS] }),
  partId: textQuery("partId", 100).openapi({ description: "Team part number" }),
  part: intQuery("part", 1, Number.MAX_SAFE_INTEGER).openapi({ description: "Part id" }),
  order: z.preprocess(
    blankToUndefined,
    z.enum(["asc", "desc"], { error: "order must be asc or desc" }).optional(),
  ).openapi({ type: "string", enum: ["asc", "desc"] }),
  limit: intQuery("limit", 1, 500),
});

export const StreamQuery = z.object({
  kind: kindQuery,
  after: intQuery("after", 0, Number.MAX_SAFE_INTEGER).openapi({
    description: "Resume after this event id (the Last-Event-ID header takes precedence)",
  }),
});
