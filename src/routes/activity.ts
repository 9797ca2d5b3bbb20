import { createRoute, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { Context } from "hono";
import type { App, AppEnv, RouteContext } from "../context.ts";
import { keyIsLive, type Principal } from "../auth.ts";
import { type FeedKind, toEvent, toFeedEvent } from "../db/events-repo.ts";
import { KEY_EVENT_ACTIONS, roleAllows } from "../domain/roles.ts";
import { ApiError } from "../errors.ts";
import { assertWellFormedQuery, errors, IdParams, jsonResponse } from "../schemas/common.ts";
import {
  ActivityQuery,
  FeedSchema,
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
    200: jsonResponse(FeedSchema, "Matching events"),
    304: { description: "Not modified since the ETag in If-None-Match" },
    400: errors[400],
    401: errors[401],
    403: { ...errors[403], description: "Key events (kind=key or all) need an admin key" },
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
      description: "`text/event-stream`: one `data:` JSON PartEvent (or KeyEvent, with " +
        "`kind=key` or `all`) per event, with `id:` set to the event id, and a `: ping` comment " +
        "every 15 s while idle. The stream ends within seconds when its key is revoked, " +
        "expires or gets another role.",
      content: { "text/event-stream": { schema: z.string() } },
    },
    400: errors[400],
    401: errors[401],
    403: { ...errors[403], description: "Key events (kind=key or all) need an admin key" },
  },
});

const PAGE = 200;

const KEY_ACTIONS: readonly string[] = KEY_EVENT_ACTIONS;

/** The kind of events a request may read: key events are for admins. */
function feedKind(c: Context<AppEnv>, kind: FeedKind | undefined, action?: string): FeedKind {
  const chosen = kind ?? "part";
  if (action !== undefined && chosen === "part" && KEY_ACTIONS.includes(action)) {
    throw new ApiError("validation_failed", `action ${action} is a key event: add kind=key`, {
      field: "kind",
      issues: [{ path: "kind", message: `action ${action} is a key event: add kind=key` }],
    });
  }
  const principal = c.get("principal");
  if (chosen !== "part" && !roleAllows(principal.role, "admin")) {
    throw new ApiError(
      "forbidden",
      `Key events need the admin role; your key has the ${principal.role} role`,
      { details: "Leave out kind (or use kind=part) for the part events", requiredRole: "admin" },
    );
  }
  return chosen;
}

/**
 * Whether the key a stream was opened with may still read it. Personal keys are looked up
 * again every `keyCheckMs` (and at once after a change to a key in this process), so a key
 * revoked, expired or given another role through any server instance on the database loses
 * its streams within seconds. The shared key changes only with a restart.
 */
function keyWatch(ctx: RouteContext, principal: Principal) {
  let checkedAt = Date.now();
  let seenChanges = ctx.keys.changes;
  /** Milliseconds until the next lookup is due. */
  const dueIn = () =>
    principal.keyId === null ? Infinity : Math.max(0, checkedAt + ctx.live.keyCheckMs - Date.now());
  const stillValid = async (): Promise<boolean> => {
    if (principal.keyId === null) return true;
    const now = ctx.now();
    if (principal.expiresAt !== null && principal.expiresAt <= now) return false;
    if (dueIn() > 0 && ctx.keys.changes === seenChanges) return true;
    seenChanges = ctx.keys.changes;
    checkedAt = Date.now();
    const row = await ctx.keys.get(principal.keyId);
    return row !== undefined && keyIsLive(row, now) && row.role === principal.role;
  };
  return { dueIn, stillValid };
}

/** Part history, activity feed and the live stream. */
export function registerActivityRoutes(app: App, ctx: RouteContext): void {
  app.openapi(historyRoute, (c) => {
    assertWellFormedQuery(c.req.url);
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
    assertWellFormedQuery(c.req.url);
    const q = c.req.valid("query");
    const kind = feedKind(c, q.kind, q.action);
    const limit = q.limit ?? 100;
    return cachedRead(c, ctx, async () => {
      const rows = await ctx.events.activity({
        kind,
        since: q.since,
        after: q.after,
        actor: q.actor,
        action: q.action,
        part: q.part,
        partNumber: q.partId,
        order: q.order ?? "desc",
        limit,
      });
      return { json: JSON.stringify({ events: rows.map(toFeedEvent), limit }) };
    });
  });

  app.openapi(streamRoute, async (c) => {
    assertWellFormedQuery(c.req.url);
    const header = c.req.valid("header")["last-event-id"]?.trim();
    if (header !== undefined && header !== "" && !/^[0-9]{1,15}$/.test(header)) {
      throw new ApiError("validation_failed", "Last-Event-ID must be an event id", {
        field: "last-event-id",
      });
    }
    const query = c.req.valid("query");
    const kind = feedKind(c, query.kind);
    const resume = header ? Number(header) : query.after;
    let cursor = resume ?? await ctx.events.latestId();
    const watch = keyWatch(ctx, c.get("principal"));
    const abort = new AbortController();
    c.header("Cache-Control", "no-store");
    c.header("X-Accel-Buffering", "no");
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => abort.abort());
      await stream.write(`retry: 2000\n: connected, sending events after ${cursor}\n\n`);
      let idleSince = Date.now();
      while (!abort.signal.aborted) {
        if (!(await watch.stillValid())) {
          // A comment, not an event: clients parse every data line as an event.
          await stream.write(": this key is no longer valid for the stream\n\n");
          break;
        }
        const rows = await ctx.events.after(cursor, PAGE, kind);
        for (const row of rows) {
          await stream.writeSSE({ id: String(row.id), data: JSON.stringify(toFeedEvent(row)) });
          cursor = row.id;
        }
        if (rows.length === PAGE) continue;
        if (rows.length > 0) idleSince = Date.now();
        else if (Date.now() - idleSince >= ctx.live.heartbeatMs) {
          await stream.write(": ping\n\n");
          idleSince = Date.now();
        }
        await ctx.live.signal.wait(Math.min(ctx.live.pollMs, watch.dueIn()), abort.signal);
      }
    });
  });
}
