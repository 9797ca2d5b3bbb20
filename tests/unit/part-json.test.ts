/** The database-built JSON of a part must be exactly what `toPart` would produce. */
import assert from "node:assert/strict";
import { openLibsql } from "../../src/db/client.ts";
import { PartsRepo, toPart } from "../../src/db/parts-repo.ts";
import type { NewPartRow } from "../../src/db/schema.ts";
import { PartSchema } from "../../src/schemas/parts.ts";
import { MIGRATIONS } from "../helpers.ts";

const ROWS: NewPartRow[] = [
  {
    partId: "3322-DT-001",
    material: "Al",
    subsystem: "Drivetrain",
    createdAt: 0,
    updatedAt: 1,
  },
  {
    partId: 'quote " backslash \\ tab \t newline \n nul-ish \u0001 emoji 🤖 ünï',
    name: "</script><script>alert(1)</script>",
    type: "hand",
    material: "Steel",
    subsystem: "Intake",
    amount: 10_000,
    assigned: "Zoë",
    status: "In Progress",
    category: "hand",
    notes: "line 1\r\nline 2\u2028",
    file: "a.step",
    onshapeUrl: "https://cad.onshape.com/documents/x?y=1&z=2",
    claimedDate: 1_764_466_800_999,
    miscInfo: {
      handWorkers: [{ name: "Zoë", timestamp: "2026-01-01T00:00:00.000Z" }],
      n: 1.5,
      big: 12345678901234567890,
      nested: { a: [null, true, false, "x"] },
    },
    createdAt: -1_000_000_001, // before 1970
    updatedAt: 253_402_300_799_999, // 9999-12-31T23:59:59.999Z
  },
];

Deno.test("SQLite-built part JSON equals toPart for awkward values", async () => {
  const database = await openLibsql({ url: ":memory:", migrationsFolder: MIGRATIONS });
  try {
    const repo = new PartsRepo(database.db);
    for (const values of ROWS) {
      const row = await repo.insert(values, { name: "test" });
      const fromDb = await repo.getJson(row.id);
      assert.ok(fromDb);
      const parsed = JSON.parse(fromDb.json);
      assert.deepEqual(parsed, toPart(row));
      PartSchema.parse(parsed);
      assert.equal(fromDb.version, row.version);
    }
    const list = await repo.listJson({
      sortField: "createdAt",
      sortOrder: "asc",
      offset: 0,
    });
    assert.equal(list.total, ROWS.length);
    const parsed = JSON.parse(list.json);
    assert.equal(parsed.length, ROWS.length);
    assert.deepEqual(parsed[0].createdAt, new Date(-1_000_000_001).toISOString());
  } finally {
    database.close();
  }
});
