/**
 * Test targets. By default each test gets the app in-process on a fresh, migrated `:memory:`
 * database. With TEST_BASE_URL set, the same tests run over HTTP against a real server (any
 * runtime), so tests must not assume an empty database: scope data with unique part numbers.
 */
import { fileURLToPath } from "node:url";
import { createApp } from "../src/app.ts";
import { type Config, parseConfig } from "../src/config.ts";
import { openLibsql } from "../src/db/client.ts";

export const MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));
export const BASE_URL = Deno.env.get("TEST_BASE_URL");
export const KEY = Deno.env.get("TEST_API_KEY") ?? "test-key-for-the-contract-suite";

export interface Target {
  /** Sends a request to a path such as `/api/parts` (base path already applied). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): void;
  /** True when the target is a separate server process. */
  remote: boolean;
}

/** A config for in-process tests, with overrides. */
export function testConfig(env: Record<string, string> = {}): Config {
  const parsed = parseConfig({ APP_ENV: "test", SECRET_KEY: KEY, ...env });
  if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
  return parsed.config;
}

/** A fresh target: in-process app + :memory: database, or the server at TEST_BASE_URL. */
export async function target(env: Record<string, string> = {}): Promise<Target> {
  if (BASE_URL && Object.keys(env).length === 0) {
    return {
      remote: true,
      fetch: (path, init) => fetch(new URL(path, BASE_URL), init),
      close() {},
    };
  }
  const config = testConfig(env);
  const database = await openLibsql({ url: config.databaseUrl, migrationsFolder: MIGRATIONS });
  const app = createApp({ config, db: database.db, logError: () => {} });
  return {
    remote: false,
    fetch: async (path, init) => await app.request(path, init),
    close: () => database.close(),
  };
}

/** Request helper that adds the key and JSON encoding. */
export function api(t: Target) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> => {
    const init: RequestInit = {
      method,
      headers: { "X-API-Key": KEY, ...headers },
    };
    if (body !== undefined) {
      (init.headers as Record<string, string>)["Content-Type"] ??= "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    return await t.fetch(path, init);
  };
}

let counter = 0;
/** A part number no other test uses, so tests stay independent on a shared server. */
export function uniquePartId(prefix = "T"): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}-${counter}`;
}

/** A valid create body. */
export function newPart(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    partId: uniquePartId(),
    name: "Test bracket",
    material: "6061 aluminum",
    subsystem: "Drivetrain",
    ...overrides,
  };
}
