/**
 * Shared helpers for the HTTP contract suite (../../../shared/design/API.md). Every test gets its
 * own target (in-process app on a fresh :memory: database, or the shared server at
 * TEST_BASE_URL), seeds its own data and never assumes an empty database.
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import { ErrorSchema } from "../../src/schemas/common.ts";
import { type Part, PartListSchema, PartSchema } from "../../src/schemas/parts.ts";
import { api, newPart, type Target, target, uniquePartId } from "../helpers.ts";

export type Call = ReturnType<typeof api>;
export type ErrorBody = z.infer<typeof ErrorSchema>;
export type PartList = z.infer<typeof PartListSchema>;
export type { Part };

export interface Ctx {
  target: Target;
  call: Call;
  t: Deno.TestContext;
}

export const ACTIONS = ["approve", "assign", "unclaim", "complete", "revert"] as const;
export type Action = (typeof ACTIONS)[number];
export const STAGES = ["review", "cnc", "hand", "completed"] as const;
export type Stage = (typeof STAGES)[number];

/** ISO-8601 UTC with milliseconds and `Z`, as the contract's timestamps. */
export const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Registers a test that runs against a fresh target, which is always closed afterwards. */
export function contract(
  name: string,
  fn: (ctx: Ctx) => Promise<void>,
  env?: Record<string, string>,
): void {
  Deno.test(name, async (t) => {
    const tg = await target(env);
    try {
      await fn({ target: tg, call: api(tg), t });
    } finally {
      tg.close();
    }
  });
}

/** A string no other test uses; safe to put in partId/notes/names and search for. */
export function token(label = "C"): string {
  return uniquePartId(label);
}

interface Parser<T> {
  parse(value: unknown): T;
}

async function readJson(res: Response): Promise<{ text: string; body: unknown }> {
  const text = await res.text();
  assert.match(
    res.headers.get("content-type") ?? "",
    /^application\/json/i,
    `expected a JSON response, got ${res.headers.get("content-type")}: ${text.slice(0, 200)}`,
  );
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`response is not JSON: ${text.slice(0, 200)}`);
  }
  return { text, body };
}

/** Asserts a success status and parses the body with its response schema. */
export async function expectOk<T>(res: Response, schema: Parser<T>, status = 200): Promise<T> {
  const clone = res.clone();
  assert.equal(
    res.status,
    status,
    `expected ${status}, got ${res.status}: ${(await clone.text()).slice(0, 500)}`,
  );
  assert.ok(res.headers.get("x-request-id"), "every response carries X-Request-Id");
  const { body } = await readJson(res);
  return schema.parse(body);
}

export const expectPart = (res: Response, status = 200): Promise<Part> =>
  expectOk(res, PartSchema, status);

export const expectList = (res: Response): Promise<PartList> => expectOk(res, PartListSchema);

export interface ErrorExpectation {
  /** Substring (string) or pattern the human `error` sentence must contain. */
  error?: string | RegExp;
  /** The `field` member, when the error is about one input. */
  field?: string;
}

/**
 * Asserts the one error envelope: status, `code`, a non-empty `error` naming the problem,
 * `field` when given, and `requestId` equal to the X-Request-Id header. Never a stack or SQL.
 */
export async function expectError(
  res: Response,
  status: number,
  code: ErrorBody["code"],
  expectation: ErrorExpectation = {},
): Promise<ErrorBody> {
  const clone = res.clone();
  assert.equal(
    res.status,
    status,
    `expected ${status} ${code}, got ${res.status}: ${(await clone.text()).slice(0, 500)}`,
  );
  const { text, body: raw } = await readJson(res);
  const body = ErrorSchema.parse(raw);
  assert.equal(body.code, code, text.slice(0, 500));
  assert.ok(body.error.trim().length > 0, "error is a human sentence");
  if (typeof expectation.error === "string") {
    assert.ok(
      body.error.includes(expectation.error),
      `error ${JSON.stringify(body.error)} should mention ${JSON.stringify(expectation.error)}`,
    );
  } else if (expectation.error) {
    assert.match(body.error, expectation.error);
  }
  if (expectation.field !== undefined) assert.equal(body.field, expectation.field, text);
  const header = res.headers.get("x-request-id");
  assert.ok(header, "error responses carry X-Request-Id");
  assert.ok(body.requestId, "error bodies carry requestId");
  assert.equal(body.requestId, header);
  assert.doesNotMatch(text, /SQLITE|drizzle|Failed query|\bat \S+:\d+:\d+|\.ts:\d+/i);
  return body;
}

/** Asserts any 4xx (never a 500) with the error envelope; returns it. */
export async function expectClientError(res: Response): Promise<ErrorBody> {
  const text = await res.clone().text();
  assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx, got ${res.status}: ${text}`);
  const code = ErrorSchema.parse(JSON.parse(text)).code;
  return await expectError(res, res.status, code);
}

/** Creates a part (201) from newPart() plus overrides. */
export async function createPart(call: Call, overrides: Record<string, unknown> = {}) {
  return await expectPart(await call("POST", "/api/parts", newPart(overrides)), 201);
}

export async function getPart(call: Call, id: number): Promise<Part> {
  return await expectPart(await call("GET", `/api/parts/${id}`));
}

/** Runs a workflow action that must succeed. */
export async function act(call: Call, id: number, action: Action, body?: unknown) {
  return await expectPart(await call("POST", `/api/parts/${id}/${action}`, body));
}

export interface StageOptions {
  type?: "cnc" | "hand" | null;
  assigned?: string;
  overrides?: Record<string, unknown>;
}

/**
 * A new part moved to `stage` through the workflow. Fabrication stages default to the matching
 * type; completed defaults to cnc. `assigned` claims it on the way (cnc/hand/completed).
 */
export async function partIn(call: Call, stage: Stage, options: StageOptions = {}) {
  const type = options.type !== undefined
    ? options.type
    : stage === "hand"
    ? "hand"
    : stage === "review"
    ? null
    : "cnc";
  let part = await createPart(call, { type, ...options.overrides });
  if (stage === "review") return part;
  part = await act(call, part.id, "approve");
  if (options.assigned) part = await act(call, part.id, "assign", { assigned: options.assigned });
  if (stage === "completed") part = await act(call, part.id, "complete");
  assert.equal(part.category, stage);
  return part;
}

/** GET a list path with query params; must succeed. */
export async function list(
  call: Call,
  query: Record<string, string>,
  path = "/api/parts",
): Promise<PartList> {
  return await expectList(await call("GET", `${path}?${new URLSearchParams(query)}`));
}

/** The parts of a test, found by the unique token in their partId/notes. */
export async function scoped(call: Call, tok: string, extra: Record<string, string> = {}) {
  return await list(call, { search: tok, ...extra });
}

/** Asserts that a part is exactly as it was (same version and every field). */
export async function assertUnchanged(call: Call, before: Part): Promise<void> {
  const after = await getPart(call, before.id);
  assert.deepEqual(after, before, "the part must not change");
}
