/**
 * Drizzle over a Cloudflare D1 binding. drizzle-orm 0.45's own D1 `batch` crashes on raw `sql`
 * items (`db.run(sql...)` has no prepared statement: drizzle-orm#2277) and on `.get()` items that
 * find no row (drizzle-orm#2721); the repositories use both, so this adapter does the batch
 * itself: every item becomes `prepare(sql).bind(...params)` and D1 runs them in one transaction.
 */
import { drizzle } from "drizzle-orm/d1";
import * as schema from "../db/schema.ts";
import type { Db } from "../db/types.ts";

/** A D1 database binding, as the Worker receives it. */
export type D1Binding = Parameters<typeof drizzle>[0];

interface D1Statement {
  bind(...values: unknown[]): D1Statement;
}
interface D1Batching {
  prepare(sql: string): D1Statement;
  batch(statements: D1Statement[]): Promise<{ results: unknown[] }[]>;
}
/** What drizzle's batch items offer at run time (marked internal in its typings). */
interface BatchItemInternals {
  _prepare(): {
    getQuery(): { sql: string; params: unknown[] };
    mapResult(result: unknown, isFromBatch: boolean): unknown;
    executeMethod?: string;
    config?: { action?: string };
  };
}

/** A Drizzle database on a D1 binding, with a `batch` that works for every item kind. */
export function openD1(binding: D1Binding): Db {
  const db = drizzle(binding, { schema });
  const d1 = binding as unknown as D1Batching;
  const batch = async (items: readonly unknown[]) => {
    const prepared = (items as BatchItemInternals[]).map((item) => item._prepare());
    const statements = prepared.map((p) => {
      const { sql, params } = p.getQuery();
      return d1.prepare(sql).bind(...params);
    });
    const results = await d1.batch(statements);
    return results.map((result, i) => {
      const p = prepared[i];
      const method = p.executeMethod ?? p.config?.action;
      if (method === "get" && result.results.length === 0) return undefined;
      return p.mapResult(result, true);
    });
  };
  return Object.assign(db, { batch }) as unknown as Db;
}
