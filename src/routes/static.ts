import { getMimeType } from "hono/utils/mime";
import type { App, RouteContext } from "../context.ts";

/** A safe relative path for a request path, or null if it tries to leave the folder. */
export function safeRelativePath(requestPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return null;
  }
  const segments = decoded.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.some((s) => s === ".." || s.includes("\\") || s.includes("\0"))) return null;
  return segments.join("/");
}

/**
 * Serves a built single-page app from STATIC_DIR: real files by path, index.html for any other
 * page route. Never answers for /api or /health, so the frontend cannot shadow the API.
 */
export function registerStaticRoutes(app: App, ctx: RouteContext): void {
  const files = ctx.staticFiles;
  if (!files) return;
  const base = ctx.config.basePath;
  app.on(["GET", "HEAD"], "*", async (c, next) => {
    const path = c.req.path.slice(base.length) || "/";
    if (path === "/health" || path === "/api" || path.startsWith("/api/")) return next();
    const relative = safeRelativePath(path);
    if (relative === null) return next();
    if (relative !== "") {
      const bytes = await files.read(relative);
      if (bytes) {
        return c.body(bytes, 200, {
          "Content-Type": getMimeType(relative) ?? "application/octet-stream",
        });
      }
      // A missing file with an extension (e.g. /app.js) is a real 404, not the page shell.
      if (/\.[A-Za-z0-9]+$/.test(relative)) return next();
    }
    const index = await files.read("index.html");
    if (!index) return next();
    return c.body(index, 200, {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-cache",
    });
  });
}
