import { createRoute, z } from "@hono/zod-openapi";
import type { App, RouteContext } from "../context.ts";
import { ApiError } from "../errors.ts";
import { ROLES } from "../domain/roles.ts";
import { errors, jsonResponse } from "../schemas/common.ts";
import { access } from "./access.ts";

export const HealthSchema = z.object({ status: z.literal("healthy") }).openapi("Health");

export const AuthCheckSchema = z.object({
  status: z.literal("authenticated"),
  name: z.string().openapi({ description: "Who holds the key" }),
  role: z.enum(ROLES).openapi({ description: "What the key may do" }),
}).openapi("AuthCheck");

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  operationId: "health",
  summary: "Liveness, including a database round trip",
  tags: ["System"],
  responses: {
    200: jsonResponse(HealthSchema, "Server and database are up"),
    503: jsonResponse(z.object({ error: z.string() }).passthrough(), "Database unreachable"),
  },
});

const authCheckRoute = createRoute({
  method: "get",
  path: "/api/parts/auth/check",
  operationId: "checkAuth",
  summary: "Tell whether the presented key is valid",
  tags: ["System"],
  ...access("viewer"),
  responses: { 200: jsonResponse(AuthCheckSchema, "The key is valid"), 401: errors[401] },
});

/** Health and key check. */
export function registerSystemRoutes(app: App, ctx: RouteContext): void {
  app.openapi(healthRoute, async (c) => {
    try {
      await ctx.repo.ping();
    } catch {
      throw new ApiError("unavailable", "Database unreachable", { status: "unhealthy" });
    }
    c.header("Cache-Control", "no-store");
    return c.json({ status: "healthy" as const }, 200);
  });

  app.openapi(authCheckRoute, (c) => {
    c.header("Cache-Control", "no-store");
    const { name, role } = c.get("principal");
    return c.json({ status: "authenticated" as const, name, role }, 200);
  });
}
