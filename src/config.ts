import { z } from "zod";
import { parseRange, type ProxyTrust } from "./client-address.ts";

/** The key used in development when `SECRET_KEY` is unset. Never accepted in production. */
export const DEV_KEY = "dev-key";

const DEFAULT_DEV_ORIGINS = [
  "http://localhost:5173",
  "http://localhost:3000",
  "http://localhost:5000",
];

/** Keys that appear in docs and samples; production refuses them whatever their length. */
const SAMPLE_KEYS = new Set([
  DEV_KEY,
  "changeme",
  "change-me",
  "secret",
  "your-secret-key",
  "replace-with-a-long-random-secret-key",
]);

export type AppEnv = "development" | "test" | "production";

/** Everything the app and its entries need from the environment, parsed once. */
export interface Config {
  appEnv: AppEnv;
  port: number;
  host: string;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  secretKey: string;
  /** True when `SECRET_KEY` was unset and the development key is in use. */
  usingDevKey: boolean;
  corsOrigins: string[];
  /** `undefined` means "seed when the database is empty, in development". */
  seedSampleData: boolean | undefined;
  basePath: string;
  staticDir: string | undefined;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Wrong-key attempts allowed per client address per minute before 429. */
  authFailureLimit: number;
  /**
   * How the client address is found: the socket, or (TRUST_PROXY) the X-Forwarded-For entry of
   * a number of proxy hops, or of proxies known by address.
   */
  proxyTrust: ProxyTrust;
  /**
   * Content-Security-Policy for the frontend served from STATIC_DIR: undefined for the built-in
   * policy, null to send none.
   */
  staticCsp: string | null | undefined;
  /** Memory for cached read responses, in bytes; 0 turns the cache off. */
  responseCacheBytes: number;
  /** Where files live: `file:<folder>`, `s3://bucket/prefix` or `memory:` (tests). */
  filesUrl: string;
  /** Largest accepted file upload, in bytes. */
  maxUploadBytes: number;
  /** Onshape API keys for drawing PDFs, when both are set. */
  onshape: { accessKey: string; secretKey: string; baseUrl: string } | undefined;
  /** STEP/STL → GLB conversions run at once in this process (0: leave them to a converter). */
  conversionConcurrency: number;
  /** Time limit of one conversion, in ms. */
  conversionTimeoutMs: number;
  /** The S3 settings (S3_*) as given, read by the storage opener. */
  s3: Record<string, string | undefined>;
}

const blankToUndefined = (v: unknown) => typeof v === "string" && v.trim() === "" ? undefined : v;

const bool = z.preprocess(
  (v) => typeof v === "string" ? v.trim().toLowerCase() : v,
  z.enum(["1", "0", "true", "false", "yes", "no", "on", "off"], {
    error: "must be one of true/false, 1/0, yes/no, on/off",
  }),
).transform((v) => ["1", "true", "yes", "on"].includes(v));

const envSchema = z.object({
  APP_ENV: z.preprocess(
    blankToUndefined,
    z.enum(["development", "test", "production"], {
      error: "must be development, test or production",
    }).default("development"),
  ),
  PORT: z.preprocess(
    blankToUndefined,
    z.coerce.number({ error: "must be a number" }).int("must be a whole number")
      .min(0, "must be 0-65535").max(65535, "must be 0-65535").optional(),
  ),
  HOST: z.preprocess(blankToUndefined, z.string().optional()),
  DATABASE_URL: z.preprocess(
    blankToUndefined,
    z.string().refine(
      (v) => v === ":memory:" || /^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/)/.test(v),
      "must be a libSQL URL (file:, :memory:, libsql://, http(s)://)",
    ).optional(),
  ),
  DATABASE_AUTH_TOKEN: z.preprocess(blankToUndefined, z.string().optional()),
  SECRET_KEY: z.preprocess(blankToUndefined, z.string().optional()),
  CORS_ORIGINS: z.preprocess(blankToUndefined, z.string().optional()),
  SEED_SAMPLE_DATA: z.preprocess(blankToUndefined, bool.optional()),
  BASE_PATH: z.preprocess(
    blankToUndefined,
    z.string().regex(
      /^(\/[A-Za-z0-9._~-]+)+\/?$/,
      "must be a path such as /parts-app",
    ).optional(),
  ),
  STATIC_DIR: z.preprocess(blankToUndefined, z.string().optional()),
  MAX_BODY_BYTES: z.preprocess(
    blankToUndefined,
    z.coerce.number({ error: "must be a number" }).int("must be a whole number")
      .min(1024, "must be at least 1024").max(16 * 1024 * 1024, "must be at most 16777216")
      .optional(),
  ),
  AUTH_FAILURE_LIMIT: z.preprocess(
    blankToUndefined,
    z.coerce.number({ error: "must be a number" }).int("must be a whole number")
      .min(1, "must be at least 1").max(100_000, "must be at most 100000").optional(),
  ),
  TRUST_PROXY: z.preprocess(blankToUndefined, bool.optional()),
  TRUSTED_PROXY_HOPS: z.preprocess(
    blankToUndefined,
    z.coerce.number({ error: "must be a number" }).int("must be a whole number")
      .min(1, "must be at least 1").max(10, "must be at most 10").optional(),
  ),
  TRUSTED_PROXIES: z.preprocess(blankToUndefined, z.string().optional()),
  STATIC_CSP: z.preprocess(
    blankToUndefined,
    z.string().refine((v) => !/[\r\n]/.test(v), "must be one line").optional(),
  ),
  FILES_URL: z.preprocess(
    blankToUndefined,
    z.string().refine(
      (v) => /^(file:|s3:\/\/[^/]+|memory:$)/.test(v),
      "must be file:<folder>, s3://bucket[/prefix] or memory:",
    ).optional(),
  ),
  MAX_UPLOAD_BYTES: z.preprocess(
    blankToUndefined,
    z.coerce.number({ error: "must be a number" }).int("must be a whole number")
      .min(1024, "must be at least 1024").max(2 ** 31, "must be at most 2147483648").optional(),
  ),
  ONSHAPE_ACCESS_KEY: z.preprocess(blankToUndefined, z.string().optional()),
  ONSHAPE_SECRET_KEY: z.preprocess(blankToUndefined, z.string().optional()),
  ONSHAPE_BASE_URL: z.preprocess(
    blankToUndefined,
    z.string().refine(
      (v) => parseOrigin(v) !== null && parseOrigin(v) === v.replace(/\/+$/, ""),
      "must be an http(s) origin such as https://cad.onshape.com (no path)",
    ).optional(),
  ),
  CONVERSION_CONCURRENCY: z.preprocess(
    blankToUndefined,
    z.coerce.number({ error: "must be a number" }).int("must be a whole number")
      .min(0, "must be 0 or more").max(8, "must be at most 8").optional(),
  ),
  CONVERSION_TIMEOUT_SECONDS: z.preprocess(
    blankToUndefined,
    z.coerce.number({ error: "must be a number" }).min(1, "must be at least 1")
      .max(3600, "must be at most 3600").optional(),
  ),
  S3_ENDPOINT: z.preprocess(blankToUndefined, z.string().optional()),
  S3_REGION: z.preprocess(blankToUndefined, z.string().optional()),
  S3_ACCESS_KEY_ID: z.preprocess(blankToUndefined, z.string().optional()),
  S3_SECRET_ACCESS_KEY: z.preprocess(blankToUndefined, z.string().optional()),
  S3_FORCE_PATH_STYLE: z.preprocess(blankToUndefined, z.string().optional()),
  RESPONSE_CACHE_MB: z.preprocess(
    blankToUndefined,
    z.coerce.number({ error: "must be a number" }).min(0, "must be 0 or more")
      .max(4096, "must be at most 4096").optional(),
  ),
});

export type ConfigResult =
  | { ok: true; config: Config }
  | { ok: false; errors: string[] };

function parseOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return url.origin;
  } catch {
    return null;
  }
}

/** Parses an environment record into a Config, or lists every problem, one line each. */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  // Each variable is parsed on its own so that one bad value does not hide the problems
  // found by the cross-variable checks below (every problem gets its line).
  const errors: string[] = [];
  const failed = new Set<string>();
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(envSchema.shape)) {
    const result = schema.safeParse(env[key]);
    if (result.success) values[key] = result.data;
    else {
      failed.add(key);
      const messages = new Set(result.error.issues.map((issue) => issue.message));
      errors.push(`${key} ${[...messages].join("; ")}`);
    }
  }
  const e = values as z.infer<typeof envSchema>;
  const production = e.APP_ENV === "production";

  let secretKey = e.SECRET_KEY;
  const usingDevKey = secretKey === undefined && !production;
  if (production) {
    if (secretKey === undefined) {
      errors.push("SECRET_KEY is required in production (at least 32 random characters)");
    } else if (secretKey.length < 32) {
      errors.push("SECRET_KEY must be at least 32 characters in production");
    } else if (SAMPLE_KEYS.has(secretKey.toLowerCase()) || new Set(secretKey).size < 8) {
      errors.push("SECRET_KEY is a sample or low-entropy value; generate a random one");
    }
  }
  secretKey ??= DEV_KEY;

  if (production && e.DATABASE_URL === undefined && !failed.has("DATABASE_URL")) {
    errors.push("DATABASE_URL is required in production");
  }
  const databaseUrl = e.DATABASE_URL ??
    (e.APP_ENV === "test" ? ":memory:" : "file:./data/parts.db");

  let corsOrigins: string[] = [];
  if (e.CORS_ORIGINS !== undefined) {
    for (const raw of e.CORS_ORIGINS.split(",").map((s) => s.trim()).filter(Boolean)) {
      if (raw === "*") {
        errors.push("CORS_ORIGINS must list origins explicitly; '*' is not allowed");
        continue;
      }
      const origin = parseOrigin(raw);
      if (origin === null) errors.push(`CORS_ORIGINS has an invalid origin: ${raw}`);
      else corsOrigins.push(origin);
    }
  } else if (!production) {
    corsOrigins = DEFAULT_DEV_ORIGINS;
  }

  if ((e.ONSHAPE_ACCESS_KEY === undefined) !== (e.ONSHAPE_SECRET_KEY === undefined)) {
    errors.push("ONSHAPE_ACCESS_KEY and ONSHAPE_SECRET_KEY must be set together");
  }
  let proxyTrust: ProxyTrust = { mode: "direct" };
  const trustProxy = e.TRUST_PROXY ?? false;
  for (const name of ["TRUSTED_PROXY_HOPS", "TRUSTED_PROXIES"] as const) {
    if (e[name] !== undefined && !trustProxy) {
      errors.push(`${name} needs TRUST_PROXY=true (it says which proxies to trust)`);
    }
  }
  if (e.TRUSTED_PROXY_HOPS !== undefined && e.TRUSTED_PROXIES !== undefined) {
    errors.push(
      "TRUSTED_PROXY_HOPS and TRUSTED_PROXIES are both set: count the proxies or list them, not both",
    );
  } else if (trustProxy && e.TRUSTED_PROXIES !== undefined) {
    const ranges = [];
    for (const raw of e.TRUSTED_PROXIES.split(",").map((s) => s.trim()).filter(Boolean)) {
      const range = parseRange(raw);
      if (range) ranges.push(range);
      else errors.push(`TRUSTED_PROXIES has an invalid address or range: ${raw}`);
    }
    if (ranges.length === 0 && !errors.some((l) => l.startsWith("TRUSTED_PROXIES"))) {
      errors.push("TRUSTED_PROXIES lists no addresses");
    }
    proxyTrust = { mode: "addresses", ranges };
  } else if (trustProxy) {
    proxyTrust = { mode: "hops", hops: e.TRUSTED_PROXY_HOPS ?? 1 };
  }

  const filesUrl = e.FILES_URL ?? (e.APP_ENV === "test" ? "memory:" : "file:./data/files");
  const s3 = {
    S3_ENDPOINT: e.S3_ENDPOINT,
    S3_REGION: e.S3_REGION,
    S3_ACCESS_KEY_ID: e.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: e.S3_SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: e.S3_FORCE_PATH_STYLE,
  };
  if (filesUrl.startsWith("s3://")) {
    for (const name of ["S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const) {
      if (s3[name] === undefined) errors.push(`${name} is required when FILES_URL is s3://`);
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      appEnv: e.APP_ENV,
      port: e.PORT ?? 5000,
      host: e.HOST ?? (production ? "0.0.0.0" : "127.0.0.1"),
      databaseUrl,
      databaseAuthToken: e.DATABASE_AUTH_TOKEN,
      secretKey,
      usingDevKey,
      corsOrigins,
      seedSampleData: e.SEED_SAMPLE_DATA,
      basePath: e.BASE_PATH ? e.BASE_PATH.replace(/\/$/, "") : "",
      staticDir: e.STATIC_DIR,
      maxBodyBytes: e.MAX_BODY_BYTES ?? 256 * 1024,
      authFailureLimit: e.AUTH_FAILURE_LIMIT ?? 20,
      proxyTrust,
      staticCsp: e.STATIC_CSP === undefined
        ? undefined
        : e.STATIC_CSP.trim().toLowerCase() === "off"
        ? null
        : e.STATIC_CSP.trim(),
      responseCacheBytes: Math.round((e.RESPONSE_CACHE_MB ?? 32) * 1024 * 1024),
      filesUrl,
      maxUploadBytes: e.MAX_UPLOAD_BYTES ?? 50 * 1024 * 1024,
      onshape: e.ONSHAPE_ACCESS_KEY && e.ONSHAPE_SECRET_KEY
        ? {
          accessKey: e.ONSHAPE_ACCESS_KEY,
          secretKey: e.ONSHAPE_SECRET_KEY,
          baseUrl: (e.ONSHAPE_BASE_URL ?? "https://cad.onshape.com").replace(/\/+$/, ""),
        }
        : undefined,
      conversionConcurrency: e.CONVERSION_CONCURRENCY ?? 1,
      conversionTimeoutMs: Math.round((e.CONVERSION_TIMEOUT_SECONDS ?? 60) * 1000),
      s3,
    },
  };
}
