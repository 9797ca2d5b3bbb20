import { z } from "@hono/zod-openapi";
import { CATEGORIES, EVENT_ACTIONS, STATUSES } from "../domain/workflow.ts";
import { blankToUndefined, intQuery, timestampQuery } from "./common.ts";

export const EventSchema = z.object({
  id: z.number().int().openapi({ description: "Increasing; use as a cursor (`after`)" }),
  part: z.number().int().openapi({ description: "The part's id" }),
  partId: z.string().openapi({ description: "Team part number at the time" }),
  partName: z.string().nullable(),
  action: z.enum(EVENT_ACTIONS),
  actor: z.string().openapi({ description: "Holder of the key that made the change" }),
  fromCategory: z.enum(CATEGORIES).nullable(),
  toCategory: z.enum(CATEGORIES).nullable(),
  fromStatus: z.enum(STATUSES).nullable(),
  toStatus: z.enum(STATUSES).nullable(),
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).nullable()
    .openapi({ description: "Changed fields with old and new values" }),
  version: z.number().int().openapi({ description: "The part's version after the event" }),
  createdAt: z.string().openapi({ format: "date-time" }),
}).openapi("PartEvent");

export const HistorySchema = z.object({
  events: z.array(EventSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
}).openapi("PartHistory");

export const ActivitySchema = z.object({
  events: z.array(EventSchema),
  limit: z.number().int(),
}).openapi("Activity");

export const HistoryQuery = z.object({
  limit: intQuery("limit", 1, 500),
  offset: intQuery("offset", 0, 1_000_000_000),
});

export const ActivityQuery = z.object({
  since: timestampQuery("since"),
  after: intQuery("after", 0, Number.MAX_SAFE_INTEGER),
  actor: z.preprocess(
    blankToUndefined,
    z.string().max(100, "actor must be at most 100 characters").optional(),
  ).openapi({
    type: "string",
  }),
  action: z.preprocess(
    blankToUndefined,
    z.enum(EVENT_ACTIONS, { error: `action must be one of ${EVENT_ACTIONS.join(", ")}` })
      .optional(),
  ).openapi({ type: "string", enum: [...EVENT_ACTIONS] }),
  partId: z.preprocess(
    blankToUndefined,
    z.string().max(100, "partId must be at most 100 characters").optional(),
  ).openapi({
    type: "string",
    description: "Team part number",
  }),
  part: intQuery("part", 1, Number.MAX_SAFE_INTEGER).openapi({ description: "Part id" }),
  order: z.preprocess(
    blankToUndefined,
    z.enum(["asc", "desc"], { error: "order must be asc or desc" }).optional(),
  ).openapi({ type: "string", enum: ["asc", "desc"] }),
  limit: intQuery("limit", 1, 500),
});

export const StreamQuery = z.object({
  after: intQuery("after", 0, Number.MAX_SAFE_INTEGER).openapi({
    description: "Resume after this event id (the Last-Event-ID header takes precedence)",
  }),
});
