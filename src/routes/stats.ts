import { createRoute } from "@hono/zod-openapi";
import type { App, RouteContext } from "../app.ts";
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
  responses: { 200: jsonResponse(StatsSchema, "Counts"), 401: errors[401] },
});

const leaderboardRoute = createRoute({
  method: "get",
  path: "/api/parts/leaderboard",
  operationId: "getLeaderboard",
  summary: "Who completed what: the holder scores 1, other hand workers 0.5 per entry",
  tags: ["Stats"],
  ...access("viewer"),
  responses: { 200: jsonResponse(LeaderboardSchema, "Scores, highest first"), 401: errors[401] },
});

/** Stats and leaderboard. */
export function registerStatsRoutes(app: App, ctx: RouteContext): void {
  app.openapi(statsRoute, async (c) => {
    const n = await ctx.repo.counts();
    const statuses = Object.fromEntries(STATUSES.map((s) => [s, n.statuses[s] ?? 0])) as Record<
      (typeof STATUSES)[number],
      number
    >;
    return c.json({
      by_category: { review: n.review, cnc: n.cnc, hand: n.hand, completed: n.completed },
      by_status: {
        pending: statuses.Pending,
        in_progress: statuses["In Progress"],
        completed: statuses.Completed,
      },
      assignment: { assigned: n.assigned, unassigned: n.total - n.assigned },
      total: n.total,
      statuses,
    }, 200);
  });

  app.openapi(leaderboardRoute, async (c) => {
    return c.json({ leaderboard: leaderboard(await ctx.repo.completedCredits()) }, 200);
  });
}
