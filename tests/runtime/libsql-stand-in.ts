/**
 * A stand-in for a remote libSQL server (sqld, as Turso runs it) on a loopback port: the Hrana 2
 * protocol over HTTP with JSON bodies, backed by a local libSQL file and checking a bearer token.
 * It lets `deno task test:runtimes` drive the app's remote-database path (`@libsql/client/web`)
 * on this network-less machine. Not a full sqld: one connection, and only what Hrana 2 over HTTP
 * has (no cursors, no protobuf, no v3: the client falls back to v2 when /v3 is a 404).
 *
 *   deno run -A tests/runtime/libsql-stand-in.ts --port 8080 --db /tmp/remote.db --token secret
 */
import { parseArgs } from "node:util";
import Database from "libsql";

type Value =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

interface Stmt {
  sql?: string;
  sql_id?: number;
  args?: Value[];
  named_args?: { name: string; value: Value }[];
  want_rows?: boolean;
}

type Cond =
  | { type: "ok" | "error"; step: number }
  | { type: "not"; cond: Cond }
  | { type: "and" | "or"; conds: Cond[] };

type StreamRequest =
  | { type: "close" }
  | { type: "execute"; stmt: Stmt }
  | { type: "batch"; batch: { steps: { condition?: Cond | null; stmt: Stmt }[] } }
  | { type: "sequence"; sql?: string; sql_id?: number }
  | { type: "store_sql"; sql_id: number; sql: string }
  | { type: "close_sql"; sql_id: number };

interface StmtResult {
  cols: { name: string; decltype: string | null }[];
  rows: Value[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
}

class HranaError extends Error {
  constructor(message: string, readonly code = "SQLITE_ERROR") {
    super(message);
  }
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8080" },
    db: { type: "string", default: ":memory:" },
    token: { type: "string" },
  },
});

const db = new Database(values.db);
const stored = new Map<number, string>();

function decode(v: Value): unknown {
  switch (v.type) {
    case "null":
      return null;
    case "integer":
      return BigInt(v.value);
    case "float":
      return v.value;
    case "text":
      return v.value;
    case "blob":
      return Uint8Array.from(atob(v.base64), (c) => c.charCodeAt(0));
  }
}

function encode(x: unknown): Value {
  if (x === null || x === undefined) return { type: "null" };
  if (typeof x === "bigint") return { type: "integer", value: x.toString() };
  if (typeof x === "number") return { type: "float", value: x };
  if (typeof x === "string") return { type: "text", value: x };
  if (x instanceof Uint8Array) {
    return { type: "blob", base64: btoa(String.fromCharCode(...x)) };
  }
  throw new HranaError(`cannot encode ${typeof x}`);
}

function sqlOf(stmt: { sql?: string; sql_id?: number }): string {
  if (stmt.sql !== undefined) return stmt.sql;
  const sql = stmt.sql_id === undefined ? undefined : stored.get(stmt.sql_id);
  if (sql === undefined) throw new HranaError("unknown sql_id", "SQL_NOT_FOUND");
  return sql;
}

const lastChange = () =>
  db.prepare("SELECT changes(), last_insert_rowid()").safeIntegers(true).raw(true).get() as [
    bigint,
    bigint,
  ];

function execute(stmt: Stmt): StmtResult {
  const sql = sqlOf(stmt);
  let params: unknown[] | Record<string, unknown> = (stmt.args ?? []).map(decode);
  if (stmt.named_args?.length) {
    params = Object.fromEntries(
      stmt.named_args.map(({ name, value }) => [name.replace(/^[:@$]/, ""), decode(value)]),
    );
  }
  const bind = Array.isArray(params) ? params : [params];
  try {
    const prepared = db.prepare(sql).safeIntegers(true);
    const writes = /^\s*(insert|update|delete|replace)\b/i.test(sql);
    if (prepared.reader) {
      const rows = prepared.raw(true).all(...bind) as unknown[][];
      const cols = prepared.columns().map((c: { name: string; type: string | null }) => ({
        name: c.name,
        decltype: c.type ?? null,
      }));
      const [changes, rowid] = writes ? lastChange() : [0n, 0n];
      return {
        cols,
        rows: stmt.want_rows === false ? [] : rows.map((r) => r.map(encode)),
        affected_row_count: Number(changes),
        last_insert_rowid: writes ? String(rowid) : null,
      };
    }
    const info = prepared.run(...bind) as { changes: number; lastInsertRowid: bigint | number };
    return {
      cols: [],
      rows: [],
      affected_row_count: Number(info.changes),
      last_insert_rowid: writes ? String(info.lastInsertRowid) : null,
    };
  } catch (err) {
    if (err instanceof HranaError) throw err;
    const e = err as { message?: string; code?: string };
    throw new HranaError(e.message ?? String(err), e.code ?? "SQLITE_ERROR");
  }
}

function holds(cond: Cond, results: (StmtResult | null)[], errors: (unknown | null)[]): boolean {
  switch (cond.type) {
    case "ok":
      return results[cond.step] != null;
    case "error":
      return errors[cond.step] != null;
    case "not":
      return !holds(cond.cond, results, errors);
    case "and":
      return cond.conds.every((c) => holds(c, results, errors));
    case "or":
      return cond.conds.some((c) => holds(c, results, errors));
  }
}

function errorJson(err: unknown) {
  const e = err instanceof HranaError ? err : new HranaError(String(err));
  return { message: e.message, code: e.code };
}

function handle(request: StreamRequest): unknown {
  switch (request.type) {
    case "close":
      return { type: "close" };
    case "execute":
      return { type: "execute", result: execute(request.stmt) };
    case "batch": {
      const results: (StmtResult | null)[] = [];
      const errors: (ReturnType<typeof errorJson> | null)[] = [];
      for (const step of request.batch.steps) {
        if (step.condition && !holds(step.condition, results, errors)) {
          results.push(null);
          errors.push(null);
          continue;
        }
        try {
          results.push(execute(step.stmt));
          errors.push(null);
        } catch (err) {
          results.push(null);
          errors.push(errorJson(err));
        }
      }
      return { type: "batch", result: { step_results: results, step_errors: errors } };
    }
    case "sequence":
      db.exec(sqlOf(request));
      return { type: "sequence" };
    case "store_sql":
      stored.set(request.sql_id, request.sql);
      return { type: "store_sql" };
    case "close_sql":
      stored.delete(request.sql_id);
      return { type: "close_sql" };
  }
}

let batons = 0;

Deno.serve({ hostname: "127.0.0.1", port: Number(values.port), onListen() {} }, async (req) => {
  const { pathname } = new URL(req.url);
  if (values.token && req.headers.get("authorization") !== `Bearer ${values.token}`) {
    return Response.json({ error: "Unauthorized" }, { status: 401 });
  }
  if (req.method === "GET" && pathname === "/v2") return new Response("", { status: 200 });
  if (req.method !== "POST" || pathname !== "/v2/pipeline") {
    return new Response("Not found", { status: 404 });
  }
  const body = await req.json() as { baton: string | null; requests: StreamRequest[] };
  // One connection serves every stream, so a stream's state is the database's own.
  const results = body.requests.map((request) => {
    try {
      return { type: "ok", response: handle(request) };
    } catch (err) {
      return { type: "error", error: errorJson(err) };
    }
  });
  const closed = body.requests.some((r) => r.type === "close");
  return Response.json({
    baton: closed ? null : `baton-${++batons}`,
    base_url: null,
    results,
  });
});
console.log(`libSQL stand-in (Hrana 2 over HTTP) on http://127.0.0.1:${values.port}`);
