/**
 * Cloudflare Worker entry. Configuration comes from the Worker's vars and secrets; data lives in
 * the D1 database bound as `DB` (migrations applied by `wrangler d1 migrations apply`), or, with
 * no binding, in a remote libSQL database at DATABASE_URL (migrate it with `deno task
 * db:migrate`). Swagger UI's files come from the static-assets binding `ASSETS` when bound.
 * There is no file system, so STATIC_DIR is refused: serve a frontend with Workers Static Assets,
 * and files live in the R2 bucket bound as `FILES` (or S3-compatible storage at FILES_URL).
 */
import type { ExecutionContext } from "hono";
import { createClient } from "@libsql/client/web";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql/web";
import { type App, type AssetSource, createApp } from "../app.ts";
import { parseConfig } from "../config.ts";
import * as schema from "../db/schema.ts";
import type { Db } from "../db/types.ts";
import { safeRelativePath } from "../routes/static.ts";
import { type D1Binding, openD1 } from "./d1.ts";
import { createR2Store, type R2BucketLike } from "../storage/r2.ts";
import { openRemoteBlobStore } from "../storage/open-remote.ts";

/** The static-assets binding: a fetcher over the files uploaded with the Worker. */
interface AssetsBinding {
  fetch(request: Request): Promise<Response>;
}

/** What the Worker is given: bindings by name, and vars and secrets as strings. */
export interface WorkerEnv {
  DB?: D1Binding;
  ASSETS?: AssetsBinding;
  /** The R2 bucket for the files of parts. */
  FILES?: R2BucketLike;
  [name: string]: unknown;
}

// parseConfig wants a libSQL URL in production; with a D1 binding there is none, so this
// stand-in (never dialled) satisfies it and shows up wherever the URL is reported.
const D1_STAND_IN = "libsql://d1-binding-db.invalid";

/** Swagger UI's files, read through the static-assets binding. */
function assetsSource(assets: AssetsBinding): AssetSource {
  return {
    async read(path) {
      const relative = safeRelativePath(path);
      if (!relative) return null;
      const res = await assets.fetch(new Request(`https://assets.invalid/${relative}`));
      if (!res.ok) {
        await res.body?.cancel();
        return null;
      }
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

/** Builds the app from the Worker's env, or lists every configuration problem. */
export function buildWorkerApp(env: WorkerEnv): { app: App } | { errors: string[] } {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string") vars[name] = value;
  }
  const errors: string[] = [];
  if (env.DB && vars.DATABASE_URL) {
    errors.push("DATABASE_URL is set and a D1 database is bound as DB: use one of them");
  }
  const parsed = parseConfig(env.DB ? { ...vars, DATABASE_URL: D1_STAND_IN } : vars);
  if (!parsed.ok) return { errors: [...errors, ...parsed.errors] };
  const config = parsed.config;
  if (config.staticDir) {
    errors.push(
      "STATIC_DIR is not supported on Cloudflare Workers (no file system): " +
        "serve the frontend with Workers Static Assets or Cloudflare Pages",
    );
  }
  if (!env.DB && !/^(libsql|https?|wss?):/.test(config.databaseUrl)) {
    errors.push(
      "DATABASE_URL must be a remote libSQL URL (libsql://, https://) on Workers, " +
        "or bind a D1 database as DB",
    );
  }
  const r2 = env.FILES;
  if (r2 && vars.FILES_URL) {
    errors.push("FILES_URL is set and an R2 bucket is bound as FILES: use one of them");
  } else if (!r2 && !config.filesUrl.startsWith("s3://")) {
    errors.push(
      "Files need object storage on Workers: bind an R2 bucket as FILES, " +
        "or set FILES_URL=s3://bucket with the S3_* settings",
    );
  }
  if (errors.length > 0) return { errors };

  const db: Db = env.DB ? openD1(env.DB) : drizzleLibsql(
    createClient({
      url: config.databaseUrl,
      authToken: config.databaseAuthToken,
      // Past `concurrency` calls the client queues, and a queued call resumes when another
      // request's call ends: workerd cancels such cross-request continuations (500s under load).
      concurrency: Number.MAX_SAFE_INTEGER,
    }),
    { schema },
  );
  const app = createApp({
    config,
    db,
    // The CAD kernel cannot run in workerd (it compiles code from strings): conversions are
    // queued here and done by the converter process (deno task converter).
    blobStore: r2 ? createR2Store(r2) : openRemoteBlobStore(config.filesUrl, config.s3),
    docsAssets: env.ASSETS ? assetsSource(env.ASSETS) : undefined,
    // Cloudflare's edge sets this to the connecting client's address on every request.
    clientAddress: (c) => c.req.header("cf-connecting-ip"),
  });
  return { app };
}

// One app per isolate: bindings and vars are fixed for its lifetime.
let built: ReturnType<typeof buildWorkerApp> | undefined;

export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response> {
    built ??= buildWorkerApp(env);
    if ("errors" in built) {
      console.error(`Invalid configuration:\n  ${built.errors.join("\n  ")}`);
      const requestId = crypto.randomUUID();
      return Response.json(
        {
          error: "The server is misconfigured; see the Worker's logs",
          code: "internal",
          requestId,
        },
        {
          status: 500,
          headers: { "X-Request-Id": requestId, "X-Content-Type-Options": "nosniff" },
        },
      );
    }
    return built.app.fetch(request, env, ctx);
  },
};
