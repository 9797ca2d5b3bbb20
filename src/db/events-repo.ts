import { and, asc, desc, eq, gt, gte, type SQL, sql } from "drizzle-orm";
import { type EventAction, type PartEventRow, partEvents, parts } from "./schema.ts";
import type { Db } from "./types.ts";
import type { KeyEventAction } from "../domain/roles.ts";
import type { EventAction as PartEventAction } from "../domain/workflow.ts";

/** Which events a feed carries: of parts (the default everywhere), of keys, or both. */
export type FeedKind = "part" | "key" | "all";

export interface ActivityFilter {
  kind: FeedKind;
  since?: number;
  after?: number;
  actor?: string;
  action?: EventAction;
  /** Numeric part id. */
  part?: number;
  /** Team part number. */
  partNumber?: string;
  order: "asc" | "desc";
  limit: number;
}

export interface SubsystemProgress {
  subsystem: string;
  parts: number;
  partsCompleted: number;
  amount: number;
  amountCompleted: number;
}

/** Shapes a part event row for the API (`onBehalfOf` only when someone acted for another). */
export function toEvent(row: PartEventRow) {
  return {
    id: row.id,
    part: row.partId,
    partId: row.partNumber,
    partName: row.partName,
    action: row.action as PartEventAction,
    actor: row.actor,
    ...(row.onBehalfOf !== null ? { onBehalfOf: row.onBehalfOf } : {}),
    fromCategory: row.fromCategory,
    toCategory: row.toCategory,
    fromStatus: row.fromStatus,
    toStatus: row.toStatus,
    changes: row.changes ?? null,
    version: row.version,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

/** Shapes a key event row for the API: the key as it was after the event, and what changed. */
export function toKeyEvent(row: PartEventRow) {
  return {
    id: row.id,
    kind: "key" as const,
    action: row.action as KeyEventAction,
    actor: row.actor,
    key: {
      id: row.keyId ?? 0,
      name: row.keyName ?? "",
      prefix: row.keyPrefix ?? "",
      role: row.keyRole ?? "viewer",
    },
    changes: row.changes ?? null,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

/** Shapes any row of the log: a part event or a key event. */
export function toFeedEvent(row: PartEventRow) {
  return row.kind === "key" ? toKeyEvent(row) : toEvent(row);
}

function kindFilter(kind: FeedKind): SQL | undefined {
  return kind === "all" ? undefined : eq(partEvents.kind, kind);
}

const DAY = 86_400_000;

/** Reads of the event log (writes happen in PartsRepo, in the same batch as each change). */
export class EventsRepo {
  /** Built once: this runs on every read request. */
  private readonly latest;

  constructor(
    private readonly db: Db,
    private readonly fastLatestId?: () => number | Promise<number>,
  ) {
    this.latest = db.select({ id: sql<number | null>`max(${partEvents.id})` }).from(partEvents)
      .prepare();
  }

  /** The newest event id (0 when there is none): identifies the current state of all parts. */
  async latestId(): Promise<number> {
    if (this.fastLatestId) return await this.fastLatestId();
    const row = await this.latest.get();
    return Number(row?.id ?? 0);
  }

  /** One part's history, newest first, and the number of its events. */
  async history(
    part: number,
    limit: number,
    offset: number,
  ): Promise<{ rows: PartEventRow[]; total: number }> {
    const ofPart = and(eq(partEvents.partId, part), eq(partEvents.kind, "part"));
    const [rows, count] = await this.db.batch([
      this.db.select().from(partEvents).where(ofPart)
        .orderBy(desc(partEvents.id)).limit(limit).offset(offset),
      this.db.select({ n: sql<number>`count(*)` }).from(partEvents).where(ofPart),
    ]);
    return { rows, total: Number(count[0]?.n ?? 0) };
  }

  /** The team's activity feed, filtered. */
  activity(f: ActivityFilter): Promise<PartEventRow[]> {
    const where: SQL[] = [];
    const kind = kindFilter(f.kind);
    if (kind) where.push(kind);
    if (f.since !== undefined) where.push(gte(partEvents.createdAt, f.since));
    if (f.after !== undefined) where.push(gt(partEvents.id, f.after));
    if (f.actor !== undefined) where.push(eq(partEvents.actor, f.actor));
    if (f.action !== undefined) where.push(eq(partEvents.action, f.action));
    if (f.part !== undefined) where.push(eq(partEvents.partId, f.part));
    if (f.partNumber !== undefined) where.push(eq(partEvents.partNumber, f.partNumber));
    return this.db.select().from(partEvents)
      .where(where.length ? and(...where) : undefined)
      .orderBy(f.order === "asc" ? asc(partEvents.id) : desc(partEvents.id))
      .limit(f.limit);
  }

  /** Events after `id`, oldest first: what a live client has not seen yet. */
  after(id: number, limit: number, kind: FeedKind = "part"): Promise<PartEventRow[]> {
    return this.db.select().from(partEvents).where(and(gt(partEvents.id, id), kindFilter(kind)))
      .orderBy(asc(partEvents.id)).limit(limit);
  }

  /** Completions per UTC day for the `days` days ending today, oldest first, zeros included. */
  async completionsPerDay(now: number, days: number): Promise<{ date: string; count: number }[]> {
    const today = Math.floor(now / DAY) * DAY;
    const start = today - (days - 1) * DAY;
    // The divisor is inlined: a bound JS number arrives as REAL and would make the division
    // fractional, so events would not group by day.
    const rows = await this.db.select({
      day: sql<number>`(${partEvents.createdAt} / ${sql.raw(String(DAY))})`,
      n: sql<number>`count(*)`,
    }).from(partEvents)
      .where(and(eq(partEvents.action, "completed"), gte(partEvents.createdAt, start)))
      .groupBy(sql`1`);
    const byDay = new Map(rows.map((r) => [Number(r.day), Number(r.n)]));
    return Array.from({ length: days }, (_, i) => {
      const day = start + i * DAY;
      return {
        date: new Date(day).toISOString().slice(0, 10),
        count: byDay.get(day / DAY) ?? 0,
      };
    });
  }

  /**
   * Milliseconds from the latest claim to each completion (completions without a recorded
   * claim are left out), for completions at or after `since`.
   */
  async claimToCompletion(since = 0): Promise<number[]> {
    // Outer columns are named explicitly: drizzle renders columns in a select list unqualified,
    // and inside the subquery a bare "part_id" / "id" would mean the inner table's own.
    const claimed = sql<number | null>`(SELECT max(a.created_at) FROM part_events a
      WHERE a.part_id = part_events.part_id AND a.action = 'assigned' AND a.id < part_events.id)`;
    const rows = await this.db.select({ done: partEvents.createdAt, claimed }).from(partEvents)
      .where(and(eq(partEvents.action, "completed"), gte(partEvents.createdAt, since)));
    return rows.filter((r) => r.claimed !== null).map((r) => r.done - Number(r.claimed));
  }

  /** Per-subsystem counts and amounts, total and completed. */
  async subsystemProgress(): Promise<SubsystemProgress[]> {
    const done = sql`${parts.category} = 'completed'`;
    const rows = await this.db.select({
      subsystem: parts.subsystem,
      parts: sql<number>`count(*)`,
      partsCompleted: sql<number>`coalesce(sum(${done}), 0)`,
      amount: sql<number>`coalesce(sum(${parts.amount}), 0)`,
      amountCompleted: sql<number>`coalesce(sum(CASE WHEN ${done} THEN ${parts.amount} END), 0)`,
    }).from(parts).groupBy(parts.subsystem).orderBy(asc(parts.subsystem));
    return rows.map((r) => ({
      subsystem: r.subsystem,
      parts: Number(r.parts),
      partsCompleted: Number(r.partsCompleted),
      amount: Number(r.amount),
      amountCompleted: Number(r.amountCompleted),
    }));
  }
}
