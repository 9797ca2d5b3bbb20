import { and, asc, eq, isNull, lt, or, sql } from "drizzle-orm";
import { type ApiKeyRow, apiKeys } from "./schema.ts";
import type { Db } from "./types.ts";
import type { Role } from "../domain/roles.ts";

/** Data access for per-person API keys. */
export class KeysRepo {
  /** Built once: every request with a personal key looks it up. */
  private readonly byHash;

  constructor(private readonly db: Db) {
    this.byHash = db.select().from(apiKeys).where(eq(apiKeys.keyHash, sql.placeholder("hash")))
      .prepare();
  }

  async insert(values: {
    name: string;
    role: Role;
    prefix: string;
    keyHash: string;
    createdAt: number;
  }): Promise<ApiKeyRow> {
    const [row] = await this.db.insert(apiKeys).values(values).returning();
    return row;
  }

  list(): Promise<ApiKeyRow[]> {
    return this.db.select().from(apiKeys).orderBy(asc(apiKeys.id));
  }

  findByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    return this.byHash.get({ hash: keyHash });
  }

  async get(id: number): Promise<ApiKeyRow | undefined> {
    const rows = await this.db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
    return rows[0];
  }

  /** Marks a key revoked (once); returns the row, or undefined if there is no such key. */
  async revoke(id: number, now: number): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db.update(apiKeys).set({ revokedAt: now })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).returning();
    return row ?? await this.get(id);
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
