import { createRoute, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { App, RouteContext } from "../context.ts";
import { toEvent } from "../db/events-repo.ts";
import { ApiError } from "../errors.ts";
import { errors, IdParams, jsonResponse } from "../schemas/common.ts";
import {
  ActivityQuery,
  ActivitySchema,
  HistoryQuery,
  HistorySchema,
  StreamQuery,
} from "../schemas/events.ts";
import { access } from "./access.ts";
import { cachedRead } from "./cached.ts";

const historyRoute = createRoute({
  method: "get",
  path: "/api/parts/{id}/history",
  operationId: "getPartHistory",
  summary: "Everything that happened to one part, newest first (kept after deletion)",
  tags: ["History"],
  ...access("viewer"),
  request: { params: IdParams, query: HistoryQuery },
  responses: {
    200: jsonResponse(HistorySchema, "The part's events"),
    304: { description: "Not modified since the ETag in If-None-Match" },
    400: errors[400],
    401: errors[401],
    404: errors[404],
  },
});

const activityRoute = createRoute({
  method: "get",
  path: "/api/activity",
  operationId: "getActivity",
  summary: "The whole team's activity feed, newest first unless order=asc",
  tags: ["History"],
  ...access("viewer"),
  request: { query: ActivityQuery },
  responses: {
    200: jsonResponse(ActivitySchema, "Matching events"),
    304: { description: "Not modified since the ETag in If-None-Match" },
    400: errors[400],
    401: errors[401],
  },
});

const streamRoute = createRoute({
  method: "get",
  path: "/api/activity/stream",
  operationId: "streamActivity",
  summary: "Live events as Server-Sent Events; resumes after Last-Event-ID",
  tags: ["History"],
  ...access("viewer"),
  request: {
    query: StreamQuery,
    headers: z.object({
      "last-event-id": z.string().optional().openapi({
        description: "The id of the last event received; events after it are sent first",
      }),
    }),
  },
  responses: {
    200: {
      description: "`text/event-stream`: one `data:` JSON PartEvent per event, with `id:` set " +
        "to the event id, and a `: ping` comment every 15 s while idle",
      content: { "text/event-stream": { schema: z.string() } },
    },
    400: errors[400],
    401: errors[401],
  },
});

const PAGE = 200;

/** Part history, activity feed and the live stream. */
export function registerActivityRoutes(app: App, ctx: RouteContext): void {
  app.openapi(historyRoute, (c) => {
    const id = Number(c.req.valid("param").id);
    const { limit = 50, offset = 0 } = c.req.valid("query");
    return cachedRead(c, ctx, async () => {
      const { rows, total } = await ctx.events.history(id, limit, offset);
      if (total === 0 && !(await ctx.repo.get(id))) {
        throw new ApiError("not_found", "Part not found");
      }
      return { json: JSON.stringify({ events: rows.map(toEvent), total, limit, offset }) };
    });
  });

  app.openapi(activityRoute, (c) => {
    const q = c.req.valid("query");
    const limit = q.limit ?? 100;
    return cachedRead(c, ctx, async () => {
      const rows = await ctx.events.activity({
        since: q.since,
        after: q.after,
        actor: q.actor,
        action: q.action,
        part: q.part,
        partNumber: q.partId,
        order: q.order ?? "desc",
        limit,
      });
      return { json: JSON.stringify({ events: rows.map(toEvent), limit }) };
    });
  });

  app.openapi(streamRoute, async (c) => {
    const header = c.req.valid("header")["last-event-id"]?.trim();
    if (header !== undefined && header !== "" && !/^[0-9]{1,15}$/.test(header)) {
      throw new ApiError("validation_failed", "Last-Event-ID must be an event id", {
        field: "last-event-id",
      });
    }
    const resume = header ? Number(header) : c.req.valid("query").after;
    let cursor = resume ?? await ctx.events.latestId();
    const abort = new AbortController();
    c.header("Cache-Control", "no-store");
    c.header("X-Accel-Buffering", "no");
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => abort.abort());
      await stream.write(`retry: 2000\n: connected, sending events after ${cursor}\n\n`);
      let idleSince = Date.now();
      while (!abort.signal.aborted) {
        const rows = await ctx.events.after(cursor, PAGE);
        for (const row of rows) {
          await stream.writeSSE({ id: String(row.id), data: JSON.stringify(toEvent(row)) });
          cursor = row.id;
        }
        if (rows.length === PAGE) continue;
        if (rows.length > 0) idleSince = Date.now();
        else if (Date.now() - idleSince >= ctx.live.heartbeatMs) {
          await stream.write(": ping\n\n");
          idleSince = Date.now();
        }
        await ctx.live.signal.wait(ctx.live.pollMs, abort.signal);
      }
    });
  });
}
