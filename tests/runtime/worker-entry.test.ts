/**
 * The Cloudflare Worker entry in-process: configuration from vars and secrets, and the app on a
 * D1 binding. The binding here is a stand-in with D1's API over a migrated libSQL `:memory:`
 * database; `deno task test:runtimes` runs the whole suite on real workerd with a local D1.
 */
import assert from "node:assert/strict";
import type { Client, InArgs, InStatement } from "@libsql/client";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { openLibsql } from "../../src/db/client.ts";
import { PartSchema } from "../../src/schemas/parts.ts";
import type { R2BucketLike } from "../../src/storage/r2.ts";
import { type D1Binding, openD1 } from "../../src/entry/d1.ts";
import worker, { buildWorkerApp, type WorkerEnv } from "../../src/entry/worker.ts";
import { MIGRATIONS, newPart } from "../helpers.ts";

const SECRET = "worker-test-secret-0123456789abcdefghij";

type Row = Record<string, unknown>;

/** D1's statement and database API, answered by a libSQL client. */
class FakeStatement {
  constructor(readonly client: Client, readonly sql: string, readonly params: unknown[] = []) {}
  bind(...params: unknown[]) {
    return new FakeStatement(this.client, this.sql, params);
  }
  get statement(): InStatement {
    return {
      sql: this.sql,
      args: this.params as InArgs,
    };
  }
  async all() {
    return toD1(await this.client.execute(this.statement));
  }
  async raw() {
    return (await this.client.execute(this.statement)).rows.map((r) =>
      Array.from(r as ArrayLike<unknown>)
    );
  }
  async run() {
    return toD1(await this.client.execute(this.statement));
  }
  async first(column?: string) {
    const row = (await this.all()).results[0];
    return column ? row?.[column] ?? null : row ?? null;
  }
}

function toD1(rs: { columns: string[]; rows: ArrayLike<unknown>[]; rowsAffected: number }) {
  const results: Row[] = rs.rows.map((r) =>
    Object.fromEntries(rs.columns.map((c, i) => [c, r[i]]))
  );
  return { results, success: true, meta: { changes: rs.rowsAffected } };
}

function fakeD1(client: Client): D1Binding {
  return {
    prepare: (query: string) => new FakeStatement(client, query),
    // D1 runs a batch as one transaction, as libSQL's write batch does.
    batch: async (statements: FakeStatement[]) =>
      (await client.batch(statements.map((s) => s.statement), "write")).map(toD1),
  } as unknown as D1Binding;
}

async function d1() {
  const database = await openLibsql({ url: ":memory:", migrationsFolder: MIGRATIONS });
  return { binding: fakeD1(database.client), close: () => database.close() };
}

Deno.test("worker: drizzle's own D1 batch still fails on raw sql (so openD1 batches itself)", async () => {
  const { binding, close } = await d1();
  try {
    const plain = drizzle(binding);
    await assert.rejects(() => plain.batch([plain.run(sql`SELECT ${1}`)]), TypeError);
    const fixed = openD1(binding);
    const [ran, rows] = await fixed.batch([
      fixed.run(sql`SELECT ${1}`),
      fixed.all<{ n: number }>(sql`SELECT ${2} AS n`),
    ]);
    assert.ok(ran);
    assert.deepEqual(rows, [{ n: 2 }]);
  } finally {
    close();
  }
});

/** An R2 binding the parts routes never touch. */
const unusedBucket = {} as R2BucketLike;

Deno.test("worker: the app serves parts from a D1 binding", async () => {
  const { binding, close } = await d1();
  try {
    const built = buildWorkerApp({
      DB: binding,
      FILES: unusedBucket,
      APP_ENV: "production",
      SECRET_KEY: SECRET,
    });
    assert.ok("app" in built, JSON.stringify(built));
    const call = (method: string, path: string, body?: unknown) =>
      built.app.request(path, {
        method,
        headers: { "X-API-Key": SECRET, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }, {});
    const res = await call("POST", "/api/parts", newPart({ type: "hand", notes: "d1 trigram" }));
    assert.equal(res.status, 201, await res.clone().text());
    const part = PartSchema.parse(await res.json());
    const approved = PartSchema.parse(
      await (await call("POST", `/api/parts/${part.id}/approve`)).json(),
    );
    assert.equal(approved.category, "hand");
    const found = await (await call("GET", "/api/parts?search=trigram")).json();
    assert.deepEqual(found.parts.map((p: { id: number }) => p.id), [part.id]);
    assert.equal((await call("GET", "/api/parts/999999")).status, 404);
  } finally {
    close();
  }
});

Deno.test("worker: configuration problems are listed, one line each", async () => {
  const errors = (env: WorkerEnv) => {
    const built = buildWorkerApp(env);
    assert.ok("errors" in built, "expected configuration errors");
    return built.errors.join("\n");
  };
  const { binding, close } = await d1();
  try {
    const prod = { APP_ENV: "production", SECRET_KEY: SECRET, FILES: unusedBucket };
    assert.match(errors({ ...prod }), /DATABASE_URL is required/);
    const { FILES: _, ...noFiles } = prod;
    assert.match(errors({ ...noFiles, DB: binding }), /bind an R2 bucket as FILES/);
    const s3 = {
      FILES_URL: "s3://parts",
      S3_ENDPOINT: "https://s3.example",
      S3_ACCESS_KEY_ID: "id",
      S3_SECRET_ACCESS_KEY: "secret",
    };
    assert.match(errors({ ...prod, ...s3, DB: binding }), /FILES_URL is set and an R2 bucket/);
    assert.ok("app" in buildWorkerApp({ ...noFiles, ...s3, DB: binding }));
    assert.match(errors({ ...prod, DB: binding, DATABASE_URL: "libsql://x.turso.io" }), /use one/);
    assert.match(
      errors({ ...prod, DB: binding, STATIC_DIR: "./public" }),
      /STATIC_DIR is not supported/,
    );
    assert.match(errors({ ...prod, DATABASE_URL: "file:./parts.db" }), /remote libSQL URL/);
    assert.match(errors({ DB: binding, APP_ENV: "production" }), /SECRET_KEY is required/);
    // Bindings and other non-string values are not configuration.
    assert.ok(
      "app" in buildWorkerApp({
        ...prod,
        DB: binding,
        ASSETS: { fetch: () => Promise.resolve(new Response()) },
      }),
    );
    assert.ok("app" in buildWorkerApp({ ...prod, DATABASE_URL: "libsql://parts.turso.io" }));
  } finally {
    close();
  }
});

Deno.test("worker: a misconfigured Worker answers 500 and logs why", async () => {
  const logged: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.join(" "));
  try {
    const env: WorkerEnv = { APP_ENV: "production", DB: {} as D1Binding };
    const res = await worker.fetch(new Request("https://parts.example/health"), env, {
      waitUntil() {},
      passThroughOnException() {},
      props: {},
    });
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.equal(body.code, "internal");
    assert.equal(res.headers.get("x-request-id"), body.requestId);
    assert.doesNotMatch(JSON.stringify(body), /SECRET_KEY/, "the reason is only in the log");
    assert.match(String(logged[0]), /SECRET_KEY is required/);
  } finally {
    console.error = original;
  }
});
