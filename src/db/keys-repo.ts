import { and, asc, eq, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import { type ApiKeyRow, apiKeys } from "./schema.ts";
import type { Db } from "./types.ts";
import type { KeyEventAction, Role } from "../domain/roles.ts";

/** Who changed a key, for the event log. */
export interface KeyActor {
  name: string;
}

/** Old and new values of what an event changed. */
type Changes = Record<string, { from: unknown; to: unknown }>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * A key event built from the key's row inside the same batch as the change, so it records the
 * key exactly as written; `where` selects the row and carries the write's guard.
 */
function keyEvent(
  e: { action: KeyEventAction; actor: string; changes: Changes; now: number },
  where: SQL,
): SQL {
  return sql`INSERT INTO part_events (kind, part_id, part_number, action, actor, key_id,
      key_name, key_prefix, key_role, changes, version, created_at)
    SELECT 'key', 0, '', ${e.action}, ${e.actor}, id, name, prefix, role,
      ${JSON.stringify(e.changes)}, 0, ${e.now}
    FROM api_keys WHERE ${where}`;
}

const MAX_CAS_ATTEMPTS = 10;

/** Data access for per-person API keys; every change is written with its key event. */
export class KeysRepo {
  /** Built once: every request with a personal key looks it up. */
  private readonly byHash;
  private readonly byId;
  private changeCount = 0;

  constructor(
    private readonly db: Db,
    /** Called after every committed change, e.g. to make live streams re-check their key. */
    private readonly onChange: () => void = () => {},
  ) {
    this.byHash = db.select().from(apiKeys).where(eq(apiKeys.keyHash, sql.placeholder("hash")))
      .prepare();
    this.byId = db.select().from(apiKeys).where(eq(apiKeys.id, sql.placeholder("id"))).prepare();
  }

  /** Grows with every change to a key made through this repository (this process only). */
  get changes(): number {
    return this.changeCount;
  }

  private changed(): void {
    this.changeCount++;
    this.onChange();
  }

  /** Stores a new key and its `key_created` event in one batch. */
  async insert(
    values: {
      name: string;
      role: Role;
      prefix: string;
      keyHash: string;
      createdAt: number;
      expiresAt?: number | null;
    },
    actor: KeyActor,
  ): Promise<ApiKeyRow> {
    const changes: Changes = {
      name: { from: null, to: values.name },
      role: { from: null, to: values.role },
    };
    if (values.expiresAt != null) {
      changes.expiresAt = { from: null, to: iso(values.expiresAt) };
    }
    const [rows] = await this.db.batch([
      this.db.insert(apiKeys).values({ ...values, expiresAt: values.expiresAt ?? null })
        .returning(),
      this.db.run(keyEvent(
        { action: "key_created", actor: actor.name, changes, now: values.createdAt },
        sql`id = last_insert_rowid()`,
      )),
    ]);
    this.changed();
    return rows[0];
  }

  list(): Promise<ApiKeyRow[]> {
    return this.db.select().from(apiKeys).orderBy(asc(apiKeys.id));
  }

  findByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    return this.byHash.get({ hash: keyHash });
  }

  get(id: number): Promise<ApiKeyRow | undefined> {
    return this.byId.get({ id });
  }

  /**
   * Marks a key revoked (once, with its `key_revoked` event); returns the row, or undefined if
   * there is no such key.
   */
  async revoke(id: number, now: number, actor: KeyActor): Promise<ApiKeyRow | undefined> {
    const [rows] = await this.db.batch([
      this.db.update(apiKeys).set({ revokedAt: now })
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).returning(),
      this.db.run(keyEvent(
        {
          action: "key_revoked",
          actor: actor.name,
          changes: { revokedAt: { from: null, to: iso(now) } },
          now,
        },
        sql`id = ${id} AND changes() = 1`,
      )),
    ]);
    if (rows[0]) {
      this.changed();
      return rows[0];
    }
    return await this.get(id);
  }

  /**
   * Gives a live key a new role and/or name, each change with its event, in one batch
   * (compare-and-set on the values read). `revoked` when the key is revoked, undefined when
   * there is no such key; `changed` is false when it already had those values.
   */
  async update(
    id: number,
    patch: { name?: string; role?: Role },
    now: number,
    actor: KeyActor,
  ): Promise<{ row: ApiKeyRow; changed: boolean; revoked: boolean } | undefined> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      if (current.revokedAt !== null) return { row: current, changed: false, revoked: true };
      const role = patch.role !== undefined && patch.role !== current.role ? patch.role : null;
      const name = patch.name !== undefined && patch.name !== current.name ? patch.name : null;
      if (role === null && name === null) return { row: current, changed: false, revoked: false };
      const events: SQL[] = [];
      if (role !== null) {
        events.push(keyEvent({
          action: "key_role_changed",
          actor: actor.name,
          changes: { role: { from: current.role, to: role } },
          now,
        }, sql`id = ${id} AND changes() = 1`));
      }
      if (name !== null) {
        // changes() is that of the statement before: the update, or the role event it allowed.
        events.push(keyEvent({
          action: "key_renamed",
          actor: actor.name,
          changes: { name: { from: current.name, to: name } },
          now,
        }, sql`id = ${id} AND changes() = 1`));
      }
      const [rows] = await this.db.batch([
        this.db.update(apiKeys)
          .set({ ...(role !== null ? { role } : {}), ...(name !== null ? { name } : {}) })
          .where(and(
            eq(apiKeys.id, id),
            eq(apiKeys.role, current.role),
            eq(apiKeys.name, current.name),
            isNull(apiKeys.revokedAt),
          ))
          .returning(),
        ...events.map((e) => this.db.run(e)),
      ]);
      if (rows[0]) {
        this.changed();
        return { row: rows[0], changed: true, revoked: false };
      }
    }
    throw new Error(`key ${id} kept changing during the update`);
  }

  /** Records use of a key, at most once per `granularityMs`, to keep reads cheap. */
  async touch(id: number, now: number, granularityMs: number): Promise<void> {
    await this.db.update(apiKeys).set({ lastUsedAt: now }).where(
      and(
        eq(apiKeys.id, id),
        or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, now - granularityMs)),
      ),
    );
  }
}
