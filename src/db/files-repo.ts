import { and, asc, desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import { eventFromRow } from "./parts-repo.ts";
import {
  type ModelConversionRow,
  modelConversions,
  type PartFileRow,
  partFiles,
  parts,
  type PartViewRow,
  partViews,
} from "./schema.ts";
import type { Db } from "./types.ts";

export type FileSlot = PartFileRow["slot"];

/** A stored file revision about to be recorded (its blob is already durable). */
export interface NewRevision {
  partId: number;
  slot: FileSlot;
  filename: string;
  kind: PartFileRow["kind"];
  contentType: string;
  size: number;
  sha256: string;
  uploadedBy: string;
  source?: PartFileRow["source"];
  createdAt: number;
}

/** Data access for file revisions, preview views and model conversions (libSQL and D1). */
export class FilesRepo {
  constructor(
    private readonly db: Db,
    /** Called after every committed change (wakes live streams, like PartsRepo's). */
    private readonly onChange: () => void = () => {},
  ) {}

  /**
   * Records a new revision, points the part at it (slot `file`), drops its views (they show
   * the old model) and writes a `file_uploaded` event, all in one batch. The revision number
   * is taken inside the statement, so concurrent uploads get 1, 2, 3 … in commit order.
   * Returns null when the part does not exist.
   */
  async addRevision(r: NewRevision): Promise<PartFileRow | null> {
    const previous = await this.current(r.partId, r.slot);
    const changes: Record<string, { from: unknown; to: unknown }> = {
      [r.slot === "file" ? "file" : "drawing"]: {
        from: previous?.filename ?? null,
        to: r.filename,
      },
      size: { from: previous?.size ?? null, to: r.size },
      sha256: { from: previous?.sha256 ?? null, to: r.sha256 },
    };
    const source = r.source ?? "upload";
    const insert = this.db.all<PartFileRow>(sql`INSERT INTO part_files (part_id, slot, rev,
        filename, kind, content_type, size, sha256, uploaded_by, source, created_at)
      SELECT p.id, ${r.slot},
        (SELECT coalesce(max(rev), 0) + 1 FROM part_files f WHERE f.part_id = p.id
          AND f.slot = ${r.slot}),
        ${r.filename}, ${r.kind}, ${r.contentType}, ${r.size}, ${r.sha256}, ${r.uploadedBy},
        ${source}, ${r.createdAt}
      FROM parts p WHERE p.id = ${r.partId}
      RETURNING id, part_id AS partId, slot, rev, filename, kind, content_type AS contentType,
        size, sha256, uploaded_by AS uploadedBy, source, created_at AS createdAt`);
    const touch = this.db.update(parts).set({
      ...(r.slot === "file" ? { file: r.filename } : {}),
      version: sql`${parts.version} + 1`,
      updatedAt: r.createdAt,
    }).where(eq(parts.id, r.partId));
    const event = this.db.run(eventFromRow({
      action: "file_uploaded",
      actor: r.uploadedBy,
      from: "row",
      to: "row",
      changes,
      now: r.createdAt,
    }, sql`id = ${r.partId} AND changes() = 1`));
    const dropViews = this.db.delete(partViews).where(eq(partViews.partId, r.partId));
    const [rows] = r.slot === "file"
      ? await this.db.batch([insert, touch, event, dropViews])
      : await this.db.batch([insert, touch, event]);
    const row = (rows as PartFileRow[])[0];
    if (!row) return null;
    this.onChange();
    return { ...row, partId: Number(row.partId), rev: Number(row.rev), size: Number(row.size) };
  }

  /** The newest revision of a slot, or one revision by number. */
  async current(partId: number, slot: FileSlot, rev?: number): Promise<PartFileRow | undefined> {
    const [row] = await this.db.select().from(partFiles)
      .where(and(
        eq(partFiles.partId, partId),
        eq(partFiles.slot, slot),
        rev === undefined ? undefined : eq(partFiles.rev, rev),
      ))
      .orderBy(desc(partFiles.rev)).limit(1);
    return row;
  }

  /** Every revision of a part, newest first within each slot. */
  list(partId: number): Promise<PartFileRow[]> {
    return this.db.select().from(partFiles).where(eq(partFiles.partId, partId))
      .orderBy(asc(partFiles.slot), desc(partFiles.rev));
  }

  views(partId: number): Promise<PartViewRow[]> {
    return this.db.select().from(partViews).where(eq(partViews.partId, partId))
      .orderBy(asc(partViews.idx));
  }

  /** Stores views (their blobs are durable), replacing those with the same index. */
  async putViews(partId: number, views: Omit<PartViewRow, "partId">[]): Promise<boolean> {
    if (views.length === 0) return true;
    const [first, ...rest] = views.map((v) =>
      this.db.insert(partViews).values({ ...v, partId }).onConflictDoUpdate({
        target: [partViews.partId, partViews.idx],
        set: { sha256: v.sha256, size: v.size, createdAt: v.createdAt },
      })
    );
    await this.db.batch([first, ...rest]);
    return true;
  }

  /** Removes every file row and view of a part (after the part itself is gone). */
  async removePart(partId: number): Promise<string[]> {
    const [files, views] = await this.db.batch([
      this.db.delete(partFiles).where(eq(partFiles.partId, partId))
        .returning({ sha256: partFiles.sha256 }),
      this.db.delete(partViews).where(eq(partViews.partId, partId))
        .returning({ sha256: partViews.sha256 }),
    ]);
    return [...new Set([...files, ...views].map((r) => r.sha256))];
  }

  /** Part ids that have file rows but no part (left by a crash between the two deletes). */
  async orphanedParts(): Promise<number[]> {
    const rows = await this.db.all<{ id: number }>(sql`SELECT DISTINCT part_id AS id FROM (
        SELECT part_id FROM part_files UNION SELECT part_id FROM part_views)
      WHERE part_id NOT IN (SELECT id FROM parts)`);
    return rows.map((r) => Number(r.id));
  }

  /** Whether anything still points at a blob. */
  async referenced(sha256s: string[]): Promise<Set<string>> {
    if (sha256s.length === 0) return new Set();
    const [a, b] = await this.db.batch([
      this.db.select({ sha: partFiles.sha256 }).from(partFiles)
        .where(inArray(partFiles.sha256, sha256s)),
      this.db.select({ sha: partViews.sha256 }).from(partViews)
        .where(inArray(partViews.sha256, sha256s)),
    ]);
    return new Set([...a, ...b].map((r) => r.sha));
  }

  conversion(sha256: string): Promise<ModelConversionRow | undefined> {
    return this.db.select().from(modelConversions).where(eq(modelConversions.sha256, sha256))
      .get();
  }

  /** Queues a conversion unless one exists for this source already. */
  async queueConversion(
    sha256: string,
    format: ModelConversionRow["format"],
    now: number,
  ): Promise<ModelConversionRow> {
    await this.db.insert(modelConversions)
      .values({ sha256, format, status: "queued", updatedAt: now })
      .onConflictDoNothing();
    return (await this.conversion(sha256))!;
  }

  /**
   * Takes the oldest queued conversion (or one whose runner went quiet for `staleMs`) for
   * this runner; null when there is none. The WHERE makes two runners never take the same.
   */
  async claimConversion(now: number, staleMs: number, sha256?: string) {
    const ready = or(
      eq(modelConversions.status, "queued"),
      and(eq(modelConversions.status, "running"), lt(modelConversions.startedAt, now - staleMs)),
    );
    for (let attempt = 0; attempt < 5; attempt++) {
      const next = await this.db.select().from(modelConversions)
        .where(sha256 ? and(ready, eq(modelConversions.sha256, sha256)) : ready)
        .orderBy(asc(modelConversions.updatedAt)).limit(1).get();
      if (!next) return null;
      const [taken] = await this.db.update(modelConversions)
        .set({
          status: "running",
          startedAt: now,
          attempts: sql`${modelConversions.attempts} + 1`,
          updatedAt: now,
        })
        .where(and(
          eq(modelConversions.sha256, next.sha256),
          eq(modelConversions.updatedAt, next.updatedAt),
          eq(modelConversions.status, next.status),
        ))
        .returning();
      if (taken) return taken;
    }
    return null;
  }

  /** Records the outcome of a conversion. */
  async finishConversion(
    sha256: string,
    outcome: { ok: true; glbSize: number } | { ok: false; error: string },
    now: number,
  ): Promise<void> {
    await this.db.update(modelConversions).set(
      outcome.ok
        ? { status: "done", error: null, glbSize: outcome.glbSize, updatedAt: now }
        : { status: "failed", error: outcome.error, updatedAt: now },
    ).where(eq(modelConversions.sha256, sha256));
  }

  /** Puts a conversion back in the queue (its runner gave up without a verdict). */
  async requeueConversion(sha256: string, now: number): Promise<void> {
    await this.db.update(modelConversions).set({ status: "queued", updatedAt: now })
      .where(eq(modelConversions.sha256, sha256));
  }

  /** Conversion rows whose source no revision points at any more. */
  async unusedConversions(): Promise<string[]> {
    const rows = await this.db.all<{ sha256: string }>(sql`SELECT sha256 FROM model_conversions
      WHERE sha256 NOT IN (SELECT sha256 FROM part_files)`);
    return rows.map((r) => r.sha256);
  }

  async dropConversions(sha256s: string[]): Promise<void> {
    if (sha256s.length === 0) return;
    await this.db.delete(modelConversions).where(inArray(modelConversions.sha256, sha256s));
  }
}
