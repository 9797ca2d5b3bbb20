import { sha256 } from "@noble/hashes/sha2.js";
import { getMimeType } from "hono/utils/mime";
import type { App, RouteContext } from "../context.ts";

const encoder = new TextEncoder();
const INLINE_SCRIPT = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;

/**
 * The Content-Security-Policy for a page of the served frontend: everything from this origin
 * (so it works offline), nothing from anywhere else. The page's own inline scripts (an import
 * map, a bootstrap snippet) are allowed by their SHA-256, so no inline script injected into it
 * runs; inline styles are allowed, as UI libraries set them. Images, workers and frames may be
 * blob: and data: URLs (rendered previews, PDFs), and WebAssembly may compile (CAD viewers).
 */
export function frontendCsp(html: string): string {
  const hashes = new Set<string>();
  for (const [, attributes, body] of html.matchAll(INLINE_SCRIPT)) {
    if (/\bsrc\s*=/i.test(attributes)) continue;
    hashes.add(`'sha256-${btoa(String.fromCharCode(...sha256(encoder.encode(body))))}'`);
  }
  return [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval'${[...hashes].map((h) => ` ${h}`).join("")}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self' data: blob:",
    "media-src 'self' data: blob:",
    "worker-src 'self' blob:",
    "frame-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
  ].join("; ");
}

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
  const configured = ctx.config.staticCsp;
  const policy = (html: Uint8Array): Record<string, string> =>
    configured === null ? {} : {
      "Content-Security-Policy": configured ?? frontendCsp(new TextDecoder().decode(html)),
    };
  app.on(["GET", "HEAD"], "*", async (c, next) => {
    const path = c.req.path.slice(base.length) || "/";
    if (path === "/health" || path === "/api" || path.startsWith("/api/")) return next();
    const relative = safeRelativePath(path);
    if (relative === null) return next();
    if (relative !== "") {
      const bytes = await files.read(relative);
      if (bytes) {
        const type = getMimeType(relative) ?? "application/octet-stream";
        return c.body(bytes, 200, {
          "Content-Type": type,
          // Any document the folder holds gets the policy (an SVG opened directly runs scripts).
          ...(/^(text\/html|image\/svg\+xml)/.test(type) ? policy(bytes) : {}),
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
      ...policy(index),
    });
  });
}
