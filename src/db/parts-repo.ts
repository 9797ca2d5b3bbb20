import { and, eq, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { type NewPartRow, type PartRow, parts } from "./schema.ts";
import type { Db } from "./types.ts";
import type { Category, EventAction } from "../domain/workflow.ts";
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

/**
 * What a mutation callback decides after seeing the current row (null: nothing to do), and
 * whom the actor acted for, when that depends on the row (e.g. whose claim is released).
 */
export type Mutation = {
  patch: Partial<NewPartRow>;
  action: EventAction;
  onBehalfOf?: string | null;
} | null;

/** A field-by-field diff, as stored in events: `{field: {from, to}}`. */
export type Changes = Record<string, { from: unknown; to: unknown }>;

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

/**
 * The search condition: the trigram index for 3+ characters (no full scan), a LIKE scan for
 * shorter strings (which the index cannot serve). Both match `%` and `_` literally.
 */
function searchFilter(search: string): SQL {
  if ([...search].length >= 3) {
    const phrase = `"${search.replace(/"/g, '""')}"`;
    return sql`id IN (SELECT rowid FROM parts_search WHERE parts_search MATCH ${phrase})`;
  }
  const pattern = likePattern(search);
  const anyColumn = SEARCH_COLUMNS.map((c) =>
    sql`${sql.identifier(c.name)} LIKE ${pattern} ESCAPE '\\'`
  );
  return sql`(${sql.join(anyColumn, sql` OR `)})`;
}

/** An ISO-8601 UTC timestamp (as Date#toISOString) from integer ms, computed in SQL. */
function isoSql(column: string): string {
  const ms = `((${column} % 1000) + 1000) % 1000`;
  return `CASE WHEN ${column} IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%S', ` +
    `(${column} - ${ms}) / 1000, 'unixepoch') || printf('.%03dZ', ${ms}) END`;
}

/**
 * The Part as JSON text, in the same shape and key order as `toPart`. Built by concatenation
 * rather than json_object so that miscInfo, stored as JSON text, is copied as-is: never
 * re-parsed (SQLite's JSON parser refuses nesting deeper than 1000, which the API accepts).
 */
const PART_FIELDS: [string, string, "num" | "str" | "time" | "raw"][] = [
  ["id", "id", "num"],
  ["partId", "part_id", "str"],
  ["name", "name", "str"],
  ["type", "type", "str"],
  ["material", "material", "str"],
  ["subsystem", "subsystem", "str"],
  ["amount", "amount", "num"],
  ["assigned", "assigned", "str"],
  ["status", "status", "str"],
  ["category", "category", "str"],
  ["notes", "notes", "str"],
  ["file", "file", "str"],
  ["onshapeUrl", "onshape_url", "str"],
  ["claimedDate", "claimed_date", "time"],
  ["miscInfo", "misc_info", "raw"],
  ["version", "version", "num"],
  ["createdAt", "created_at", "time"],
  ["updatedAt", "updated_at", "time"],
];
const PART_JSON = sql.raw(
  PART_FIELDS.map(([key, column, kind], i) => {
    const value = kind === "num"
      ? column
      : kind === "str"
      ? `json_quote(${column})`
      : kind === "time"
      ? `json_quote(${isoSql(column)})`
      : `coalesce(${column}, 'null')`;
    return `'${i === 0 ? "{" : ","}"${key}":' || ${value}`;
  }).join(" || ") + " || '}'",
);

/** An ISO-8601 UTC timestamp from integer ms (null stays null). */
export const iso = (
  ms: number | null,
): string | null => (ms === null ? null : new Date(ms).toISOString());

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

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return false;
}

const TIME_FIELDS = new Set(["claimedDate", "createdAt", "updatedAt"]);

/** The fields of `patch` whose values differ from `row`, with old and new values. */
export function diff(row: PartRow, patch: Partial<NewPartRow>): Changes {
  const changes: Changes = {};
  for (const [key, to] of Object.entries(patch)) {
    if (to === undefined) continue;
    const from = row[key as keyof PartRow];
    if (sameValue(from, to)) continue;
    changes[key] = TIME_FIELDS.has(key)
      ? { from: iso(from as number | null), to: iso(to as number | null) }
      : { from: from ?? null, to };
  }
  return changes;
}

/** The strong ETag of a part: it changes whenever the part does. */
export function partEtag(row: Pick<PartRow, "id" | "version">): string {
  return `"${row.id}.${row.version}"`;
}

const MAX_CAS_ATTEMPTS = 50;

/** Who made a change, for the event log, and whom they acted for (if someone else). */
export interface Actor {
  name: string;
  onBehalfOf?: string | null;
}

/** The stage and status on either side of an event: literal values, or the row's own. */
type Side = { category: string; status: string } | "row" | null;

/**
 * An event built from the part's row as it is inside the same batch, so the event describes
 * exactly what was written. `where` selects the row and carries the write's guard.
 */
export function eventFromRow(
  e: {
    action: EventAction;
    actor: string;
    onBehalfOf?: string | null;
    from: Side;
    to: Side;
    changes: Changes | null;
    now: number;
    /** Added to the row's version: 0 after an update, 1 for a delete (the row goes away). */
    versionOffset?: number;
  },
  where: SQL,
): SQL {
  const pair = (v: Side) =>
    v === "row"
      ? sql`category, status`
      : v === null
      ? sql`NULL, NULL`
      : sql`${v.category}, ${v.status}`;
  return sql`INSERT INTO part_events (part_id, part_number, part_name, action, actor,
      on_behalf_of, from_category, from_status, to_category, to_status, changes, version,
      created_at)
    SELECT id, part_id, name, ${e.action}, ${e.actor}, ${e.onBehalfOf ?? null}, ${pair(e.from)},
      ${pair(e.to)},
      ${e.changes === null ? null : JSON.stringify(e.changes)}, version + ${e.versionOffset ?? 0},
      ${e.now}
    FROM parts WHERE ${where}`;
}

/** Data access for parts. Works on any async Drizzle SQLite driver (libSQL, D1). */
export class PartsRepo {
  /** Built once: every write reads the part first. */
  private readonly byId;

  constructor(
    private readonly db: Db,
    /** Called after every committed change, e.g. to wake live streams in this process. */
    private readonly onChange: () => void = () => {},
  ) {
    this.byId = db.select().from(parts).where(eq(parts.id, sql.placeholder("id"))).prepare();
  }

  /**
   * One page of parts as a JSON array built by SQLite, and the number of all matches. The
   * database serializes the rows itself, which is several times cheaper than moving every column
   * into JS objects and back out as JSON.
   */
  async listJson(options: ListOptions): Promise<{ json: string; total: number }> {
    const filters: SQL[] = [];
    if (options.category) filters.push(sql`category = ${options.category}`);
    if (options.search) filters.push(searchFilter(options.search));
    const where = filters.length > 0 ? sql.join(filters, sql` AND `) : sql`1`;
    const { column, text } = SORT_COLUMNS[options.sortField];
    const dir = sql.raw(options.sortOrder === "asc" ? "ASC" : "DESC");
    const collate = sql.raw(text ? " COLLATE NOCASE" : "");
    const name = sql.identifier(column.name);
    // SQLite needs a LIMIT before OFFSET: "all" is -1. Both are validated integers.
    const limit = sql.raw(String(options.limit ?? -1));
    const offset = sql.raw(String(options.offset));
    const [row] = await this.db.all<{ total: number; json: string }>(sql`SELECT
      (SELECT count(*) FROM parts WHERE ${where}) AS total,
      (SELECT '[' || coalesce(group_concat(j, ',' ORDER BY k${collate} ${dir}, id ${dir}), '') || ']'
        FROM (SELECT ${PART_JSON} AS j, ${name} AS k, id FROM parts WHERE ${where}
          ORDER BY k${collate} ${dir}, id ${dir} LIMIT ${limit} OFFSET ${offset})) AS json`);
    return { json: row.json, total: Number(row.total) };
  }

  /** One part as JSON built by SQLite, with its version (for the ETag). */
  async getJson(id: number): Promise<{ json: string; version: number } | undefined> {
    const [row] = await this.db.all<{ json: string; version: number }>(
      sql`SELECT version, ${PART_JSON} AS json FROM parts WHERE id = ${id}`,
    );
    return row ? { json: row.json, version: Number(row.version) } : undefined;
  }

  get(id: number): Promise<PartRow | undefined> {
    return this.byId.get({ id });
  }

  /** Inserts a part and its "created" event in one atomic batch. */
  async insert(values: NewPartRow, actor: Actor): Promise<PartRow> {
    const [rows] = await this.db.batch([
      this.db.insert(parts).values(values).returning(),
      this.createdEvent(values, actor),
    ]);
    this.onChange();
    return rows[0];
  }

  /** Inserts many parts, each with its "created" event, in one atomic batch. */
  async insertMany(values: NewPartRow[], actor: Actor): Promise<void> {
    if (values.length === 0) return;
    const [first, ...rest] = values.flatMap((v) => [
      this.db.insert(parts).values(v),
      this.createdEvent(v, actor),
    ]);
    await this.db.batch([first, ...rest]);
    this.onChange();
  }

  private createdEvent(values: NewPartRow, actor: Actor) {
    return this.db.run(eventFromRow({
      action: "created",
      actor: actor.name,
      onBehalfOf: actor.onBehalfOf,
      from: null,
      to: "row",
      changes: null,
      now: values.createdAt ?? Date.now(),
    }, sql`id = last_insert_rowid()`));
  }

  /**
   * Applies `decide` to the current row with a compare-and-set on `version`, retrying when a
   * concurrent writer got there first, so no update is lost and every decision sees fresh data.
   * The change and its event are one atomic batch. Returns undefined when the part does not
   * exist; `changed` is false when nothing needed to change.
   */
  async mutate(
    id: number,
    decide: (row: PartRow) => Mutation,
    now: () => number,
    actor: Actor,
  ): Promise<{ row: PartRow; changed: boolean } | undefined> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      const mutation = decide(current);
      const changes = mutation ? diff(current, mutation.patch) : {};
      if (!mutation || Object.keys(changes).length === 0) return { row: current, changed: false };
      const t = now();
      const patch = Object.fromEntries(
        Object.keys(changes).map((k) => [k, mutation.patch[k as keyof NewPartRow]]),
      );
      const version = current.version + 1;
      const [rows] = await this.db.batch([
        this.db.update(parts)
          .set({ ...patch, version, updatedAt: t })
          .where(and(eq(parts.id, id), eq(parts.version, current.version)))
          .returning(),
        // changes() = 1 only if the compare-and-set above wrote the row.
        this.db.run(eventFromRow({
          action: mutation.action,
          actor: actor.name,
          onBehalfOf: mutation.onBehalfOf ?? actor.onBehalfOf,
          from: current,
          to: "row",
          changes,
          now: t,
        }, sql`id = ${id} AND version = ${version} AND changes() = 1`)),
      ]);
      if (rows[0]) {
        this.onChange();
        return { row: rows[0], changed: true };
      }
    }
    throw new ContentionError(`part ${id} kept changing during the update`);
  }

  /**
   * Deletes a part (only at `expectedVersion`, when given) and records a "deleted" event in
   * the same batch. Returns whether a row was deleted.
   */
  async delete(id: number, actor: Actor, now: number, expectedVersion?: number): Promise<boolean> {
    const guard = expectedVersion === undefined
      ? eq(parts.id, id)
      : and(eq(parts.id, id), eq(parts.version, expectedVersion))!;
    const [, deleted] = await this.db.batch([
      this.db.run(eventFromRow({
        action: "deleted",
        actor: actor.name,
        from: "row",
        to: null,
        changes: null,
        now,
        versionOffset: 1,
      }, guard)),
      this.db.delete(parts).where(guard).returning({ id: parts.id }),
    ]);
    if (deleted.length > 0) this.onChange();
    return deleted.length > 0;
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

  /**
   * Holder and miscInfo of every completed part, for the leaderboard; with `since`, only parts
   * completed at or after it.
   */
  completedCredits(since?: number): Promise<Pick<PartRow, "assigned" | "miscInfo">[]> {
    const completed = eq(parts.category, "completed");
    return this.db.select({ assigned: parts.assigned, miscInfo: parts.miscInfo }).from(parts)
      .where(
        since === undefined ? completed : and(
          completed,
          sql`${parts.id} IN (SELECT part_id FROM part_events
            WHERE action = 'completed' AND created_at >= ${since})`,
        ),
      );
  }

  /** Cheapest possible round trip, for health checks. */
  async ping(): Promise<void> {
    await this.db.run(sql`SELECT 1`);
  }
}
