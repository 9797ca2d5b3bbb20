import { and, asc, desc, eq, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { type NewPartRow, type PartRow, parts } from "./schema.ts";
import type { Db } from "./types.ts";
import type { Category } from "../domain/workflow.ts";
import type { Part, SortField } from "../schemas/parts.ts";

export interface ListOptions {
  category?: Category;
  search?: string;
  sortField: SortField;
  sortOrder: "asc" | "desc";
  limit?: number;
  offset: number;
}

export interface Counts {
  total: number;
  review: number;
  cnc: number;
  hand: number;
  completed: number;
  assigned: number;
  statuses: Record<string, number>;
}

/** What a mutation callback decides after seeing the current row. */
export type Mutation = { patch: Partial<NewPartRow> } | null;

/** Thrown when a part keeps changing under a compare-and-set write. */
export class ContentionError extends Error {}

const SORT_COLUMNS: Record<SortField, { column: SQLiteColumn; text: boolean }> = {
  name: { column: parts.name, text: true },
  partId: { column: parts.partId, text: true },
  status: { column: parts.status, text: false },
  assigned: { column: parts.assigned, text: true },
  subsystem: { column: parts.subsystem, text: true },
  material: { column: parts.material, text: true },
  category: { column: parts.category, text: false },
  type: { column: parts.type, text: false },
  amount: { column: parts.amount, text: false },
  createdAt: { column: parts.createdAt, text: false },
  updatedAt: { column: parts.updatedAt, text: false },
  claimedDate: { column: parts.claimedDate, text: false },
};

const SEARCH_COLUMNS = [
  parts.name,
  parts.partId,
  parts.notes,
  parts.subsystem,
  parts.assigned,
  parts.material,
];

/** Escapes LIKE wildcards so `%` and `_` in a search match literally. */
export function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Shapes a database row as the API's Part. */
export function toPart(row: PartRow): Part {
  return {
    id: row.id,
    partId: row.partId,
    name: row.name,
    type: row.type,
    material: row.material,
    subsystem: row.subsystem,
    amount: row.amount,
    assigned: row.assigned,
    status: row.status,
    category: row.category,
    notes: row.notes,
    file: row.file,
    onshapeUrl: row.onshapeUrl,
    claimedDate: iso(row.claimedDate),
    miscInfo: row.miscInfo ?? null,
    version: row.version,
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
  };
}

const MAX_CAS_ATTEMPTS = 50;

/** Data access for parts. Works on any async Drizzle SQLite driver (libSQL, D1). */
export class PartsRepo {
  constructor(private readonly db: Db) {}

  /** One page of parts and the number of all matches. */
  async list(options: ListOptions): Promise<{ rows: PartRow[]; total: number }> {
    const filters: SQL[] = [];
    if (options.category) filters.push(eq(parts.category, options.category));
    if (options.search) {
      const pattern = likePattern(options.search);
      const anyColumn = SEARCH_COLUMNS.map((c) => sql`${c} LIKE ${pattern} ESCAPE '\\'`);
      filters.push(sql`(${sql.join(anyColumn, sql` OR `)})`);
    }
    const where = filters.length > 0 ? and(...filters) : undefined;
    const { column, text } = SORT_COLUMNS[options.sortField];
    const direction = options.sortOrder === "asc" ? asc : desc;
    const key = text ? sql`${column} COLLATE NOCASE` : column;
    let rowsQuery = this.db.select().from(parts).where(where)
      .orderBy(direction(key), direction(parts.id))
      .$dynamic();
    if (options.limit !== undefined) rowsQuery = rowsQuery.limit(options.limit);
    if (options.offset > 0) {
      rowsQuery = rowsQuery.limit(options.limit ?? -1).offset(options.offset);
    }
    const countQuery = this.db.select({ n: sql<number>`count(*)` }).from(parts).where(where);
    const [rows, count] = await this.db.batch([rowsQuery, countQuery]);
    return { rows, total: Number(count[0]?.n ?? 0) };
  }

  async get(id: number): Promise<PartRow | undefined> {
    const rows = await this.db.select().from(parts).where(eq(parts.id, id)).limit(1);
    return rows[0];
  }

  async insert(values: NewPartRow): Promise<PartRow> {
    const [row] = await this.db.insert(parts).values(values).returning();
    return row;
  }

  /** Inserts many parts in one atomic batch. */
  async insertMany(values: NewPartRow[]): Promise<void> {
    if (values.length === 0) return;
    await this.db.insert(parts).values(values);
  }

  /**
   * Applies `decide` to the current row with a compare-and-set on `version`, retrying when a
   * concurrent writer got there first, so no update is lost and every decision sees fresh data.
   * Returns undefined when the part does not exist; `changed` is false when `decide` returned null.
   */
  async mutate(
    id: number,
    decide: (row: PartRow) => Mutation,
    now: () => number,
  ): Promise<{ row: PartRow; changed: boolean } | undefined> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      const mutation = decide(current);
      if (mutation === null) return { row: current, changed: false };
      const [row] = await this.db.update(parts)
        .set({ ...mutation.patch, version: current.version + 1, updatedAt: now() })
        .where(and(eq(parts.id, id), eq(parts.version, current.version)))
        .returning();
      if (row) return { row, changed: true };
    }
    throw new ContentionError(`part ${id} kept changing during the update`);
  }

  /** Deletes a part; false when it did not exist. */
  async delete(id: number): Promise<boolean> {
    const rows = await this.db.delete(parts).where(eq(parts.id, id)).returning({ id: parts.id });
    return rows.length > 0;
  }

  async count(): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)` }).from(parts);
    return Number(row?.n ?? 0);
  }

  /** Counts by stage, status and assignment in one pass. */
  async counts(): Promise<Counts> {
    const [byStage, byStatus] = await this.db.batch([
      this.db.select({
        total: sql<number>`count(*)`,
        review: sql<number>`coalesce(sum(${parts.category} = 'review'), 0)`,
        cnc: sql<number>`coalesce(sum(${parts.category} = 'cnc'), 0)`,
        hand: sql<number>`coalesce(sum(${parts.category} = 'hand'), 0)`,
        completed: sql<number>`coalesce(sum(${parts.category} = 'completed'), 0)`,
        assigned: sql<number>`coalesce(sum(${parts.assigned} IS NOT NULL), 0)`,
      }).from(parts),
      this.db.select({ status: parts.status, n: sql<number>`count(*)` }).from(parts)
        .groupBy(parts.status),
    ]);
    const s = byStage[0];
    return {
      total: Number(s.total),
      review: Number(s.review),
      cnc: Number(s.cnc),
      hand: Number(s.hand),
      completed: Number(s.completed),
      assigned: Number(s.assigned),
      statuses: Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)])),
    };
  }

  /** Holder and miscInfo of every completed part, for the leaderboard. */
  completedCredits(): Promise<Pick<PartRow, "assigned" | "miscInfo">[]> {
    return this.db.select({ assigned: parts.assigned, miscInfo: parts.miscInfo }).from(parts)
      .where(eq(parts.category, "completed"));
  }

  /** Cheapest possible round trip, for health checks. */
  async ping(): Promise<void> {
    await this.db.run(sql`SELECT 1`);
  }
}
