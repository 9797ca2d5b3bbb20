import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { sql } from "drizzle-orm";
import { EVENT_ACTIONS } from "../domain/workflow.ts";
import { KEY_EVENT_ACTIONS } from "../domain/roles.ts";

/** Every custom part of the robot, from review to completed. */
export const parts = sqliteTable(
  "parts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    partId: text("part_id").notNull(),
    name: text("name"),
    type: text("type", { enum: ["cnc", "hand"] }),
    material: text("material").notNull(),
    subsystem: text("subsystem").notNull(),
    amount: integer("amount").notNull().default(1),
    assigned: text("assigned"),
    status: text("status", {
      enum: ["Pending", "Reviewed", "In Progress", "Already Started", "Completed"],
    }).notNull().default("Pending"),
    category: text("category", { enum: ["review", "cnc", "hand", "completed"] })
      .notNull().default("review"),
    notes: text("notes"),
    file: text("file"),
    onshapeUrl: text("onshape_url"),
    /** Milliseconds since the epoch (UTC). */
    claimedDate: integer("claimed_date"),
    miscInfo: text("misc_info", { mode: "json" }).$type<Record<string, unknown>>(),
    /** Incremented by every change; the basis of compare-and-set writes. */
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull().default(
      sql`(cast(unixepoch('subsec') * 1000 as integer))`,
    ),
    updatedAt: integer("updated_at").notNull().default(
      sql`(cast(unixepoch('subsec') * 1000 as integer))`,
    ),
  },
  (t) => [
    index("parts_category_created_idx").on(t.category, t.createdAt, t.id),
    index("parts_created_idx").on(t.createdAt, t.id),
    index("parts_updated_idx").on(t.updatedAt, t.id),
    index("parts_part_id_idx").on(t.partId),
    index("parts_status_idx").on(t.status),
    index("parts_assigned_idx").on(t.assigned),
    // One index per list sort, matching its ORDER BY (text sorts ignore case; ties by id).
    index("parts_sort_name_idx").on(sql`${t.name} COLLATE NOCASE`, t.id),
    index("parts_sort_part_id_idx").on(sql`${t.partId} COLLATE NOCASE`, t.id),
    index("parts_sort_subsystem_idx").on(sql`${t.subsystem} COLLATE NOCASE`, t.id),
    index("parts_sort_material_idx").on(sql`${t.material} COLLATE NOCASE`, t.id),
    index("parts_sort_assigned_idx").on(sql`${t.assigned} COLLATE NOCASE`, t.id),
    index("parts_sort_amount_idx").on(t.amount, t.id),
    index("parts_sort_claimed_idx").on(t.claimedDate, t.id),
  ],
);

export type PartRow = typeof parts.$inferSelect;
export type NewPartRow = typeof parts.$inferInsert;

/** Per-person API keys. Only a SHA-256 hash of each key is stored, never the key. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    role: text("role", { enum: ["viewer", "member", "lead", "admin"] }).notNull(),
    /** The first characters of the key, shown so people can recognise it. */
    prefix: text("prefix").notNull(),
    /** Hex SHA-256 of the whole key. */
    keyHash: text("key_hash").notNull().unique(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
    /** After this moment (ms since the epoch) the key is refused like a revoked one. */
    expiresAt: integer("expires_at"),
  },
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/**
 * The history of every part: one row per change, written in the same batch as the change.
 * No foreign key: events of a deleted part remain. Key events (`kind` "key": a key created,
 * revoked, renamed or given another role) share the log, and so its one ordered sequence of ids
 * that the feed, the live stream and the ETags count on; they have no part (part_id 0).
 */
export const partEvents = sqliteTable(
  "part_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    partId: integer("part_id").notNull(),
    /** The team part number and name at the time of the event. */
    partNumber: text("part_number").notNull(),
    partName: text("part_name"),
    action: text("action", { enum: [...EVENT_ACTIONS, ...KEY_EVENT_ACTIONS] }).notNull(),
    actor: text("actor").notNull(),
    /** Whom a lead or admin acted for (the claimant, or the holder whose claim was released). */
    onBehalfOf: text("on_behalf_of"),
    fromCategory: text("from_category"),
    toCategory: text("to_category"),
    fromStatus: text("from_status"),
    toStatus: text("to_status"),
    /** `{field: {from, to}}` for every field the event changed. */
    changes: text("changes", { mode: "json" }).$type<
      Record<string, { from: unknown; to: unknown }>
    >(),
    /** The part's version after the event. */
    version: integer("version").notNull(),
    createdAt: integer("created_at").notNull(),
    kind: text("kind", { enum: ["part", "key"] }).notNull().default("part"),
    /** Key events: the key, and its name, prefix and role after the event. */
    keyId: integer("key_id"),
    keyName: text("key_name"),
    keyPrefix: text("key_prefix"),
    keyRole: text("key_role", { enum: ["viewer", "member", "lead", "admin"] }),
  },
  (t) => [
    index("part_events_part_idx").on(t.partId, t.id),
    index("part_events_created_idx").on(t.createdAt),
    index("part_events_actor_idx").on(t.actor, t.id),
    index("part_events_action_idx").on(t.action, t.createdAt),
    index("part_events_number_idx").on(t.partNumber, t.id),
    index("part_events_kind_idx").on(t.kind, t.id),
  ],
);

export type PartEventRow = typeof partEvents.$inferSelect;
/** Any action in the log, of a part or of a key. */
export type EventAction = PartEventRow["action"];

/**
 * Every stored revision of a part's files: `file` is the model or drawing uploaded through
 * /upload (the part's `file` field names the newest), `drawing` a hand part's drawing PDF.
 * The bytes live in the blob store under `blobs/<sha256>`; a row is written only after its
 * blob is durable. No foreign key: the rows of a deleted part are removed with it, in the
 * same batch.
 */
export const partFiles = sqliteTable(
  "part_files",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    partId: integer("part_id").notNull(),
    slot: text("slot", { enum: ["file", "drawing"] }).notNull(),
    /** 1, 2, 3 … per part and slot, in the order the uploads committed. */
    rev: integer("rev").notNull(),
    filename: text("filename").notNull(),
    kind: text("kind", { enum: ["step", "stl", "pdf"] }).notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    /** Who uploaded it (the key holder), or `Onshape` for a fetched drawing. */
    uploadedBy: text("uploaded_by").notNull(),
    source: text("source", { enum: ["upload", "onshape"] }).notNull().default("upload"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("part_files_rev_idx").on(t.partId, t.slot, t.rev),
    index("part_files_sha_idx").on(t.sha256),
  ],
);

export type PartFileRow = typeof partFiles.$inferSelect;

/** The preview images the frontend renders from a part's model (index 0–7). */
export const partViews = sqliteTable(
  "part_views",
  {
    partId: integer("part_id").notNull(),
    idx: integer("idx").notNull(),
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.partId, t.idx] }),
    index("part_views_sha_idx").on(t.sha256),
  ],
);

export type PartViewRow = typeof partViews.$inferSelect;

/**
 * STEP/STL → GLB conversions, one per distinct source file (by SHA-256), so the same file is
 * converted once whatever part it belongs to. The GLB lives under `glb/<sha256>.glb`.
 */
export const modelConversions = sqliteTable(
  "model_conversions",
  {
    sha256: text("sha256").primaryKey(),
    format: text("format", { enum: ["step", "stl"] }).notNull(),
    status: text("status", { enum: ["queued", "running", "done", "failed"] }).notNull(),
    error: text("error"),
    attempts: integer("attempts").notNull().default(0),
    glbSize: integer("glb_size"),
    /** When the current attempt started (a running job older than its time limit is stale). */
    startedAt: integer("started_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("model_conversions_status_idx").on(t.status, t.updatedAt)],
);

export type ModelConversionRow = typeof modelConversions.$inferSelect;
