import { OpenAPIHono } from "@hono/zod-openapi";
import type { Hook } from "@hono/zod-openapi";

import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { Config } from "./config.ts";
import type { App, AppEnv, AssetSource, RouteContext } from "./context.ts";
import { ContentionError, PartsRepo } from "./db/parts-repo.ts";
import type { Db } from "./db/types.ts";
import { ApiError, type ErrorCode, validationError } from "./errors.ts";
import { createAuth } from "./auth.ts";
import { KeysRepo } from "./db/keys-repo.ts";
import { EventsRepo } from "./db/events-repo.ts";
import { ChangeSignal } from "./live.ts";
import { ResponseCache } from "./cache.ts";
import { registerActivityRoutes } from "./routes/activity.ts";
import { NotModified } from "./routes/conditional.ts";
import { registerKeyRoutes } from "./routes/keys.ts";
import { registerPartRoutes } from "./routes/parts.ts";
import { registerWorkflowRoutes } from "./routes/workflow.ts";
import { registerStatsRoutes } from "./routes/stats.ts";
import { registerSystemRoutes } from "./routes/system.ts";
import { registerDocsRoutes } from "./routes/docs.ts";
import { registerStaticRoutes } from "./routes/static.ts";
import { registerFileRoutes } from "./routes/files.ts";
import { registerConversionRoutes } from "./routes/conversions.ts";
import { FilesRepo } from "./db/files-repo.ts";
import { ConversionService } from "./files/conversions.ts";
import { FilesService, type Sha256 } from "./files/service.ts";
import { createOnshapeClient } from "./files/onshape.ts";
import type { ModelConverter } from "./cad/types.ts";
import { createMemoryStore } from "./storage/memory.ts";
import { type BlobStore, StorageError } from "./storage/types.ts";

/** Everything the app needs from its runtime. */
export interface AppDeps {
  config: Config;
  db: Db;
  /** A faster way to read the newest event id than a query through Drizzle, if the driver has one. */
  dataVersion?: () => number | Promise<number>;
  /** Clock in ms since the epoch; tests may pin it. */
  now?: () => number;
  /** Swagger UI's files (from the swagger-ui-dist package) for the offline docs page. */
  docsAssets?: AssetSource;
  /** A built single-page frontend to serve at `/` (STATIC_DIR). */
  staticFiles?: AssetSource;
  /** The client's network address as the runtime reports it (for the auth rate limit). */
  clientAddress?: (c: Context) => string | undefined;
  /**
   * Live stream timing (ms): how often to re-read the event log, idle heartbeats, and how
   * often a stream looks its personal key up again (revoked, expired, new role: it ends).
   */
  live?: { pollMs?: number; heartbeatMs?: number; keyCheckMs?: number };
  /** Where unexpected errors are reported. */
  logError?: (message: string, error: unknown) => void;
  /** Where files live (config FILES_URL, opened by the entry); in memory when absent. */
  blobStore?: BlobStore;
  /** STEP/STL → GLB converter of this runtime; without one, a converter process does it. */
  converter?: ModelConverter;
  /** A native incremental SHA-256 for uploads (node:crypto on Deno and Node). */
  sha256?: () => Sha256;
  /** fetch for Onshape API calls (tests point it at a stand-in through ONSHAPE_BASE_URL). */
  fetch?: typeof fetch;
}

/** Work an entry runs outside requests: resuming queued conversions, sweeping unused blobs. */
export interface Maintenance {
  /** The files of parts (for sample data and scripts). */
  files: FilesService;
  resume(): void;
  sweep(graceMs?: number): Promise<{ blobs: number; parts: number }>;
  close(): Promise<void>;
}

const maintenanceOf = new WeakMap<App, Maintenance>();

/** The background work of an app built by createApp. */
export function appMaintenance(app: App): Maintenance {
  return maintenanceOf.get(app)!;
}
export type { App, AppEnv, AssetSource, RouteContext };

const UPLOAD_PATH = /\/api\/parts\/[^/]+\/(upload|views|drawing)$/;
const MODEL_RESULT_PATH = /\/api\/conversions\/[^/]+\/result$/;

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json/i;

/** Turns every validation failure into the one error envelope; bad path ids are 404s. */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
  if (result.success) return;
  if (result.target === "param" && result.error.issues.some((i) => i.path[0] === "id")) {
    throw new ApiError(
      "not_found",
      /\/api\/keys\//.test(c.req.path) ? "Key not found" : "Part not found",
    );
  }
  throw validationError(result.error);
};

function errorBody(c: Context<AppEnv>, err: ApiError) {
  return {
    error: err.message,
    code: err.code,
    ...err.extras,
    requestId: c.get("requestId"),
  };
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: "validation_failed",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  412: "precondition_failed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
  503: "unavailable",
};

/** Maps anything thrown to an ApiError; unknown errors become a bare 500. */
function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const code = HTTP_CODES[err.status];
    if (code) {
      const message = code === "unsupported_media_type"
        ? "Request body must be JSON (Content-Type: application/json)"
        : err.message || code;
      return new ApiError(code, message);
    }
    return null;
  }
  if (err instanceof StorageError) {
    return new ApiError("unavailable", "File storage is unavailable right now; try again", {}, {
      "Retry-After": "5",
    });
  }
  if (err instanceof ContentionError) {
    return new ApiError("conflict", "The part is being changed by others right now; try again");
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && /SQLITE_BUSY|SQLITE_LOCKED/.test(code)) {
    return new ApiError("unavailable", "The database is busy; try again", {}, {
      "Retry-After": "1",
    });
  }
  return null;
}

/** Builds the whole HTTP app. Knows nothing about the runtime it runs on. */
export function createApp(deps: AppDeps): App {
  const { config } = deps;
  const signal = new ChangeSignal();
  const now = deps.now ?? Date.now;
  const logError = deps.logError ?? ((m, e) => console.error(m, e));
  const fileRows = new FilesRepo(deps.db, () => signal.notify());
  const blobStore = deps.blobStore ?? createMemoryStore();
  const conversions = new ConversionService({
    repo: fileRows,
    store: blobStore,
    converter: config.conversionConcurrency > 0 ? deps.converter : undefined,
    now,
    concurrency: Math.max(1, config.conversionConcurrency),
    staleMs: config.conversionTimeoutMs * 2 + 30_000,
    logError,
  });
  const files = new FilesService({
    repo: fileRows,
    store: blobStore,
    conversions,
    now,
    sha256: deps.sha256,
    logError,
  });
  const ctx: RouteContext = {
    repo: new PartsRepo(deps.db, () => signal.notify()),
    events: new EventsRepo(deps.db, deps.dataVersion),
    cache: new ResponseCache(config.responseCacheBytes),
    live: {
      signal,
      pollMs: deps.live?.pollMs ?? 1000,
      heartbeatMs: deps.live?.heartbeatMs ?? 15_000,
      keyCheckMs: deps.live?.keyCheckMs ?? 2000,
    },
    keys: new KeysRepo(deps.db, () => signal.notify()),
    now,
    config,
    docsAssets: deps.docsAssets,
    staticFiles: deps.staticFiles,
    fileRows,
    files,
    onshape: config.onshape
      ? createOnshapeClient({ ...config.onshape, fetch: deps.fetch })
      : undefined,
  };

  const root = new OpenAPIHono<AppEnv>({ strict: false, defaultHook: validationHook });
  root.onError((err, c) => {
    if (err instanceof NotModified) return c.body(null, 304);
    const apiError = toApiError(err);
    if (apiError) {
      for (const [k, v] of Object.entries(apiError.headers)) c.header(k, v);
      return c.json(errorBody(c, apiError), apiError.status);
    }
    logError(`request ${c.get("requestId")} failed`, err);
    return c.json(
      errorBody(c, new ApiError("internal", "Internal server error")),
      500,
    );
  });
  const notFound = (c: Context<AppEnv>) =>
    c.json(
      errorBody(c, new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`)),
      404,
    );
  root.notFound(notFound);
  // A base-path clone shares the router and copies the handlers set above.
  const app = (config.basePath ? root.basePath(config.basePath) : root) as App;

  // On the root, so that answers outside BASE_PATH (404s) carry them too.
  root.use("*", requestId());
  root.use("*", secureHeaders({ crossOriginResourcePolicy: "same-site" }));
  const corsHeaders = cors({
    origin: (origin) => (config.corsOrigins.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: [
      "Content-Type",
      "X-API-Key",
      "Authorization",
      "If-Match",
      "If-None-Match",
      "X-Request-Id",
      "Last-Event-ID",
    ],
    exposeHeaders: ["X-Request-Id", "ETag", "Retry-After"],
    maxAge: 600,
  });
  // Browsers send Origin on every cross-origin request and preflight; other clients (scripts,
  // same-origin pages) need no CORS headers, so they skip the work.
  app.use("*", (c, next) => {
    if (c.req.header("origin") !== undefined) return corsHeaders(c, next);
    c.header("Vary", "Origin");
    return next();
  });

  const limitBody = bodyLimit({
    maxSize: config.maxBodyBytes,
    onError: () => {
      throw new ApiError(
        "payload_too_large",
        `Request body is larger than ${config.maxBodyBytes} bytes`,
      );
    },
  });
  // JSON bodies are decoded strictly (invalid UTF-8 would otherwise become U+FFFD silently),
  // and clients post nothing (or whitespace) with a JSON content type to workflow actions:
  // treat that as `{}` instead of malformed JSON.
  const emptyJsonIsObject = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const type = c.req.header("content-type");
    if (type && JSON_TYPE.test(type)) {
      const bytes = await c.req.arrayBuffer();
      let text: string;
      try {
        text = STRICT_UTF8.decode(bytes);
      } catch {
        throw new ApiError("validation_failed", "Request body must be valid UTF-8");
      }
      const cache = c.req.bodyCache as Record<string, unknown>;
      // Later reads (json, text) must start from this text, not from the raw bytes.
      delete cache.arrayBuffer;
      cache.text = Promise.resolve(text.trim() === "" ? "{}" : text);
    }
    await next();
  };
  const limitModel = bodyLimit({
    maxSize: config.maxUploadBytes * 4,
    onError: () => {
      throw new ApiError(
        "payload_too_large",
        `A model is at most ${config.maxUploadBytes * 4} bytes`,
      );
    },
  });
  app.use("*", (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD" || method === "OPTIONS") return next();
    // File uploads stream through the multipart reader, which enforces MAX_UPLOAD_BYTES as the
    // body arrives; converted models have their own, larger limit.
    if (method === "POST" && UPLOAD_PATH.test(c.req.path)) return next();
    if (method === "PUT" && MODEL_RESULT_PATH.test(c.req.path)) return limitModel(c, next);
    return limitBody(c, () => emptyJsonIsObject(c, next));
  });

  const auth = createAuth({
    config,
    keys: ctx.keys,
    now: ctx.now,
    clientAddress: deps.clientAddress ?? (() => undefined),
  });
  // Key management answers (keys, and errors that may name them) are never stored by caches.
  const noStore = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    await next();
    c.res.headers.set("Cache-Control", "no-store");
  };
  app.use("/api/keys", noStore);
  app.use("/api/keys/*", noStore);
  for (const area of ["parts", "keys", "activity", "conversions"]) {
    const path = `/api/${area}`;
    app.use(path, auth);
    app.use(`${path}/*`, auth);
  }

  registerSystemRoutes(app, ctx);
  registerStatsRoutes(app, ctx);
  registerActivityRoutes(app, ctx);
  registerWorkflowRoutes(app, ctx);
  registerPartRoutes(app, ctx);
  registerKeyRoutes(app, ctx);
  registerFileRoutes(app, ctx);
  registerConversionRoutes(app, ctx);
  registerDocsRoutes(app, ctx);
  registerStaticRoutes(app, ctx);
  maintenanceOf.set(root, {
    files,
    resume: () => conversions.pump(),
    sweep: (graceMs) => files.sweep(graceMs),
    close: () => conversions.close(),
  });
  return root;
}
