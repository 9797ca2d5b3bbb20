import { createRoute, z } from "@hono/zod-openapi";
import { timestampQuery } from "../schemas/common.ts";
import { type Built, cachedRead } from "./cached.ts";
import type { App, RouteContext } from "../context.ts";
import { leaderboard } from "../domain/leaderboard.ts";
import { STATUSES } from "../domain/workflow.ts";
import { errors, jsonResponse } from "../schemas/common.ts";
import { LeaderboardSchema, StatsSchema } from "../schemas/parts.ts";
import { access } from "./access.ts";

const statsRoute = createRoute({
  method: "get",
  path: "/api/parts/stats",
  operationId: "getStats",
  summary: "Counts of parts by stage, status and assignment",
  tags: ["Stats"],
  ...access("viewer"),
  responses: {
    200: jsonResponse(StatsSchema, "Counts"),
    304: { description: "Not modified since the ETag in If-None-Match" },
    401: errors[401],
  },
});

const leaderboardRoute = createRoute({
  method: "get",
  path: "/api/parts/leaderboard",
  operationId: "getLeaderboard",
  summary: "Who completed what: the holder scores 1, other hand workers 0.5 per entry",
  tags: ["Stats"],
  ...access("viewer"),
  request: {
    query: z.object({
      since: timestampQuery("since").openapi({
        description: "Count only parts completed at or after this time",
      }),
    }),
  },
  responses: {
    200: jsonResponse(LeaderboardSchema, "Scores, highest first"),
    304: { description: "Not modified since the ETag in If-None-Match" },
    400: errors[400],
    401: errors[401],
  },
});

/** The middle value (mean of the middle two for an even count), or null when empty. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

/** Stats and leaderboard. */
export function registerStatsRoutes(app: App, ctx: RouteContext): void {
  app.openapi(statsRoute, (c) => {
    const now = ctx.now();
    // The 14-day window moves at midnight UTC, so the day is part of the tag and cache key.
    const day = new Date(now).toISOString().slice(0, 10);
    return cachedRead(c, ctx, () => buildStats(ctx, now), day);
  });

  app.openapi(leaderboardRoute, (c) => {
    const { since } = c.req.valid("query");
    return cachedRead(c, ctx, async () => ({
      json: JSON.stringify({ leaderboard: leaderboard(await ctx.repo.completedCredits(since)) }),
    }));
  });
}

/** Every count of /api/parts/stats, serialized. */
async function buildStats(ctx: RouteContext, now: number): Promise<Built> {
  const [n, bySubsystem, perDay, durations] = await Promise.all([
    ctx.repo.counts(),
    ctx.events.subsystemProgress(),
    ctx.events.completionsPerDay(now, 14),
    ctx.events.claimToCompletion(),
  ]);
  const statuses = Object.fromEntries(STATUSES.map((s) => [s, n.statuses[s] ?? 0])) as Record<
    (typeof STATUSES)[number],
    number
  >;
  return {
    json: JSON.stringify({
      by_category: { review: n.review, cnc: n.cnc, hand: n.hand, completed: n.completed },
      by_status: {
        pending: statuses.Pending,
        in_progress: statuses["In Progress"],
        completed: statuses.Completed,
      },
      assignment: { assigned: n.assigned, unassigned: n.total - n.assigned },
      total: n.total,
      statuses,
      by_subsystem: bySubsystem,
      completions_per_day: perDay,
      median_claim_to_complete_ms: median(durations),
    }),
  };
}
