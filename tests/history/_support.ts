/**
 * Shared helpers for the event-log / history / conditional-request / live-stream tests. Every
 * test builds its own app directly (createApp + openLibsql) so it can pin the clock, tune the
 * live stream, reach the database client and run a real server.
 */
import assert from "node:assert/strict";
import { createApp } from "../../src/app.ts";
import { type LibsqlDatabase, openLibsql } from "../../src/db/client.ts";
import { ErrorSchema } from "../../src/schemas/common.ts";
import { CreatedKeySchema } from "../../src/schemas/keys.ts";
import { type Part, PartSchema } from "../../src/schemas/parts.ts";
import { EventSchema, HistorySchema } from "../../src/schemas/events.ts";
import { KEY, MIGRATIONS, testConfig, uniquePartId } from "../helpers.ts";
import type { z } from "zod";

export { KEY, MIGRATIONS };
export type { Part };
export type PartEvent = z.infer<typeof EventSchema>;
export type ErrorBody = z.infer<typeof ErrorSchema>;

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MINUTE = 60_000;
export const SHARED = "shared key";

export interface Options {
  /** libSQL URL; a fresh `:memory:` database by default. */
  url?: string;
  /** A pinned clock; the real one by default. */
  now?: () => number;
  live?: { pollMs?: number; heartbeatMs?: number; keyCheckMs?: number };
}

export interface CallOptions {
  /** The API key to send; null sends none. SECRET_KEY by default. */
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Call = (method: string, path: string, options?: CallOptions) => Promise<Response>;

export interface Harness {
  app: ReturnType<typeof createApp>;
  database: LibsqlDatabase;
  call: Call;
  /** Errors the app reported through logError (unexpected failures, i.e. 500s). */
  logged: unknown[];
  close(): void;
  [Symbol.dispose](): void;
}

/** A fresh app on its own database connection. */
export async function harness(options: Options = {}): Promise<Harness> {
  const database = await openLibsql({
    url: options.url ?? ":memory:",
    migrationsFolder: MIGRATIONS,
  });
  const logged: unknown[] = [];
  const app = createApp({
    config: testConfig(),
    db: database.db,
    now: options.now,
    live: options.live,
    logError: (_message, error) => logged.push(error),
  });
  const call: Call = (method, path, o = {}) => {
    const key = o.key === undefined ? KEY : o.key;
    const headers: Record<string, string> = {
      ...(key === null ? {} : { "X-API-Key": key }),
      ...(o.body === undefined ? {} : { "Content-Type": "application/json" }),
      ...o.headers,
    };
    return Promise.resolve(app.request(path, {
      method,
      headers,
      body: o.body === undefined
        ? undefined
        : typeof o.body === "string"
        ? o.body
        : JSON.stringify(o.body),
    }));
  };
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    database.close();
  };
  return { app, database, call, logged, close, [Symbol.dispose]: close };
}

interface Parser<T> {
  parse(value: unknown): T;
}

/** Asserts the status and a JSON content type, and parses the body with its schema. */
export async function expectJson<T>(res: Response, schema: Parser<T>, status = 200): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text.slice(0, 600)}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/i);
  return schema.parse(JSON.parse(text));
}

/** Asserts an error response with this status and code, parsed with ErrorSchema. */
export async function expectError(
  res: Response,
  status: number,
  code: ErrorBody["code"],
): Promise<ErrorBody & Record<string, unknown>> {
  const body = await expectJson(res, ErrorSchema, status);
  assert.equal(body.code, code, `error code: ${JSON.stringify(body)}`);
  return body as ErrorBody & Record<string, unknown>;
}

/** Asserts a 304 with an empty body, and returns its ETag header. */
export async function expect304(res: Response): Promise<string | null> {
  const text = await res.text();
  assert.equal(res.status, 304, `expected 304, got ${res.status}: ${text.slice(0, 300)}`);
  assert.equal(text, "", "a 304 has no body");
  return res.headers.get("etag");
}

/** The strong ETag the contract gives a part. */
export function etagOf(part: Pick<Part, "id" | "version">): string {
  return `"${part.id}.${part.version}"`;
}

/** Creates a personal key and returns it. */
export async function createKey(
  call: Call,
  name: string,
  role: "viewer" | "member" | "lead" | "admin",
): Promise<string> {
  const res = await call("POST", "/api/keys", { body: { name, role } });
  return (await expectJson(res, CreatedKeySchema, 201)).key;
}

/** Creates a part (shared key unless another is given). */
export async function createPart(
  call: Call,
  fields: Record<string, unknown> = {},
  key?: string,
): Promise<Part> {
  const res = await call("POST", "/api/parts", {
    key,
    body: {
      partId: uniquePartId("H"),
      name: "Test bracket",
      material: "6061 aluminum",
      subsystem: "Drivetrain",
      ...fields,
    },
  });
  const part = await expectJson(res, PartSchema, 201);
  assert.equal(res.headers.get("etag"), etagOf(part));
  return part;
}

/** Runs a workflow action that must succeed, and returns the part after it. */
export async function act(
  call: Call,
  id: number,
  action: "approve" | "assign" | "unclaim" | "complete" | "revert",
  body?: Record<string, unknown>,
  options: Omit<CallOptions, "body"> = {},
): Promise<Part> {
  const res = await call("POST", `/api/parts/${id}/${action}`, { ...options, body });
  const part = await expectJson(res, PartSchema);
  assert.equal(res.headers.get("etag"), etagOf(part), "the response ETag is the part's");
  return part;
}

/** A PUT that must succeed. */
export async function put(
  call: Call,
  id: number,
  body: Record<string, unknown>,
  options: Omit<CallOptions, "body"> = {},
): Promise<Part> {
  const res = await call("PUT", `/api/parts/${id}`, { ...options, body });
  const part = await expectJson(res, PartSchema);
  assert.equal(res.headers.get("etag"), etagOf(part), "the response ETag is the part's");
  return part;
}

/** GET one part, which must exist; also checks that its ETag header matches it. */
export async function getPart(call: Call, id: number): Promise<Part> {
  const res = await call("GET", `/api/parts/${id}`);
  const part = await expectJson(res, PartSchema);
  assert.equal(res.headers.get("etag"), etagOf(part));
  return part;
}

/** A part's whole history, newest first. */
export async function history(call: Call, id: number): Promise<PartEvent[]> {
  const res = await call("GET", `/api/parts/${id}/history?limit=500`);
  const body = await expectJson(res, HistorySchema);
  assert.equal(body.events.length, body.total);
  return body.events;
}

/** Number of part events in the log (key events, which share it, left out), from the database. */
export async function eventCount(database: LibsqlDatabase): Promise<number> {
  const rs = await database.client.execute(
    "SELECT count(*) AS n FROM part_events WHERE kind = 'part'",
  );
  return Number(rs.rows[0].n);
}

/** The part's row straight from the database (undefined when gone). */
export async function partRow(
  database: LibsqlDatabase,
  id: number,
): Promise<Record<string, unknown> | undefined> {
  const rs = await database.client.execute({ sql: "SELECT * FROM parts WHERE id = ?", args: [id] });
  return rs.rows[0] ? { ...rs.rows[0] } : undefined;
}

/** ISO string of a ms timestamp. */
export const iso = (ms: number) => new Date(ms).toISOString();

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public t: number) {}
  readonly now = () => this.t;
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
