import assert from "node:assert/strict";
import {
  act,
  type Call,
  contract,
  createPart,
  expectError,
  expectPart,
  list,
  type Part,
  scoped,
  token,
} from "./_support.ts";

/**
 * Six parts whose partIds share a unique token, with mixed-case text, ties on amount and
 * material, nulls, and all four stages. Returned in creation order.
 */
async function seedSortable(call: Call, tok: string): Promise<Part[]> {
  const specs: { suffix: string; body: Record<string, unknown>; to?: string; assign?: string }[] = [
    {
      suffix: "c",
      body: { name: "charlie", type: "cnc", material: "Steel", subsystem: "Arm", amount: 5 },
      to: "cnc",
      assign: "bob",
    },
    {
      suffix: "A",
      body: { name: "Alpha", type: "hand", material: "aluminum", subsystem: "drive", amount: 2 },
      to: "hand",
      assign: "Ann",
    },
    {
      suffix: "b",
      body: { name: "bravo", type: null, material: "Wood", subsystem: "Climb", amount: 5 },
    },
    {
      suffix: "e",
      body: { name: null, type: "cnc", material: "steel", subsystem: "arm", amount: 1 },
      to: "completed",
      assign: "carl",
    },
    {
      suffix: "D",
      body: {
        name: "Delta",
        type: "hand",
        material: "Brass",
        subsystem: "Intake",
        amount: 9,
        status: "Already Started",
        claimedDate: "2020-01-01T00:00:00.000Z",
      },
    },
    {
      suffix: "f",
      body: { name: "echo", type: "cnc", material: "Steel", subsystem: "Arm", amount: 5 },
      to: "cnc",
    },
  ];
  const ids: number[] = [];
  for (const spec of specs) {
    const part = await createPart(call, { partId: `${tok}-${spec.suffix}`, ...spec.body });
    ids.push(part.id);
    if (spec.to) {
      await act(call, part.id, "approve");
      if (spec.assign) await act(call, part.id, "assign", { assigned: spec.assign });
      if (spec.to === "completed") await act(call, part.id, "complete");
    }
  }
  // Touch the third part last so updated_at differs from created_at order.
  await expectPart(await call("PUT", `/api/parts/${ids[2]}`, { notes: "touched" }));
  const all = await scoped(call, tok);
  assert.equal(all.total, specs.length);
  return ids.map((id) => all.parts.find((p) => p.id === id)!);
}

const TEXT_FIELDS = new Set(["name", "partId", "assigned", "subsystem", "material"]);

/** The order the contract implies: by the field (text case-insensitive, null lowest), then id. */
function expectedIds(parts: Part[], field: keyof Part, order: "asc" | "desc"): number[] {
  const key = (p: Part) => {
    const v = p[field];
    if (v === null) return null;
    return TEXT_FIELDS.has(field) ? String(v).toLowerCase() : v as string | number;
  };
  const sign = order === "asc" ? 1 : -1;
  return [...parts].sort((a, b) => {
    const ka = key(a), kb = key(b);
    let c = 0;
    if (ka === null && kb !== null) c = -1;
    else if (ka !== null && kb === null) c = 1;
    else if (ka !== null && kb !== null) c = ka < kb ? -1 : ka > kb ? 1 : 0;
    return sign * (c || a.id - b.id);
  }).map((p) => p.id);
}

const SORTS: [string, keyof Part][] = [
  ["name", "name"],
  ["partId", "partId"],
  ["part_id", "partId"],
  ["status", "status"],
  ["assigned", "assigned"],
  ["subsystem", "subsystem"],
  ["material", "material"],
  ["category", "category"],
  ["type", "type"],
  ["amount", "amount"],
  ["created_at", "createdAt"],
  ["createdAt", "createdAt"],
  ["updated_at", "updatedAt"],
  ["updatedAt", "updatedAt"],
  ["claimed_date", "claimedDate"],
  ["claimedDate", "claimedDate"],
];

contract("sort_by: every documented key, both spellings, both orders", async ({ call, t }) => {
  const tok = token("SORT");
  const parts = await seedSortable(call, tok);
  for (const [param, field] of SORTS) {
    for (const order of ["asc", "desc"] as const) {
      await t.step(`${param} ${order}`, async () => {
        const res = await list(call, { search: tok, sort_by: param, sort_order: order });
        assert.equal(res.total, parts.length);
        assert.deepEqual(res.parts.map((p) => p.id), expectedIds(res.parts, field, order));
      });
    }
  }
  await t.step("hand-checked orders", async () => {
    const suffixes = (r: { parts: Part[] }) => r.parts.map((p) => p.partId.slice(tok.length + 1));
    const byName = await list(call, { search: tok, sort_by: "name", sort_order: "asc" });
    assert.deepEqual(suffixes(byName), ["e", "A", "b", "c", "D", "f"], "null first, case-folded");
    const byAmount = await list(call, { search: tok, sort_by: "amount", sort_order: "desc" });
    assert.deepEqual(suffixes(byAmount), ["D", "f", "b", "c", "A", "e"], "ties by id, desc");
    const byAmountAsc = await list(call, { search: tok, sort_by: "amount", sort_order: "asc" });
    assert.deepEqual(suffixes(byAmountAsc), ["e", "A", "c", "b", "f", "D"], "ties by id, asc");
    const byMaterial = await list(call, { search: tok, sort_by: "material", sort_order: "asc" });
    assert.deepEqual(suffixes(byMaterial), ["A", "D", "c", "e", "f", "b"]);
  });
  await t.step("default is created_at desc; sort_order alone flips it", async () => {
    const ids = parts.map((p) => p.id);
    const byDefault = await list(call, { search: tok });
    assert.deepEqual(byDefault.parts.map((p) => p.id), [...ids].reverse());
    const asc = await list(call, { search: tok, sort_order: "asc" });
    assert.deepEqual(asc.parts.map((p) => p.id), ids);
    const desc = await list(call, { search: tok, sort_by: "created_at" });
    assert.deepEqual(desc.parts.map((p) => p.id), [...ids].reverse());
  });
});

contract("ties are broken by id so pages are stable", async ({ call }) => {
  const tok = token("TIE");
  const ids: number[] = [];
  for (let i = 0; i < 7; i++) {
    ids.push((await createPart(call, { partId: `${tok}-${i}`, amount: 3, material: "Same" })).id);
  }
  for (const sort_by of ["amount", "material", "status", "category", "type", "claimed_date"]) {
    const asc = await list(call, { search: tok, sort_by, sort_order: "asc" });
    assert.deepEqual(asc.parts.map((p) => p.id), ids, sort_by);
    const desc = await list(call, { search: tok, sort_by, sort_order: "desc" });
    assert.deepEqual(desc.parts.map((p) => p.id), [...ids].reverse(), sort_by);
    const paged: number[] = [];
    for (let offset = 0; offset < 7; offset += 2) {
      const page = await list(call, {
        search: tok,
        sort_by,
        sort_order: "asc",
        limit: "2",
        offset: String(offset),
      });
      assert.equal(page.total, 7);
      paged.push(...page.parts.map((p) => p.id));
    }
    assert.deepEqual(paged, ids, `pages of ${sort_by} cover every part exactly once`);
  }
});

contract("limit and offset page through; total counts every match", async ({ call, t }) => {
  const tok = token("PAGE");
  const parts = await seedSortable(call, tok);
  const full = (await list(call, { search: tok })).parts.map((p) => p.id);
  await t.step("envelope without limit", async () => {
    const all = await list(call, { search: tok });
    assert.equal(all.limit, null);
    assert.equal(all.offset, 0);
    assert.equal(all.total, parts.length);
    assert.equal(all.parts.length, parts.length);
  });
  await t.step("pages of 4", async () => {
    const first = await list(call, { search: tok, limit: "4" });
    assert.equal(first.limit, 4);
    assert.equal(first.offset, 0);
    assert.equal(first.total, 6);
    assert.equal(first.parts.length, 4);
    const second = await list(call, { search: tok, limit: "4", offset: "4" });
    assert.equal(second.offset, 4);
    assert.equal(second.total, 6);
    assert.deepEqual([...first.parts, ...second.parts].map((p) => p.id), full);
  });
  await t.step("offset without limit returns the rest", async () => {
    const rest = await list(call, { search: tok, offset: "2" });
    assert.equal(rest.limit, null);
    assert.equal(rest.offset, 2);
    assert.equal(rest.total, 6);
    assert.deepEqual(rest.parts.map((p) => p.id), full.slice(2));
  });
  await t.step("past the end is empty but total still counts", async () => {
    const none = await list(call, { search: tok, limit: "10", offset: "50" });
    assert.deepEqual(none.parts, []);
    assert.equal(none.total, 6);
  });
  await t.step("bounds are inclusive", async () => {
    assert.equal((await list(call, { search: tok, limit: "1" })).parts.length, 1);
    assert.equal((await list(call, { search: tok, limit: "1000" })).parts.length, 6);
    const far = await list(call, { search: tok, offset: "1000000" });
    assert.equal(far.parts.length, 0);
    assert.equal(far.total, 6);
  });
  await t.step("empty values mean absent", async () => {
    const res = await list(call, {
      search: tok,
      limit: "",
      offset: "",
      sort_by: "",
      sort_order: "",
      category: "",
    });
    assert.deepEqual(res.parts.map((p) => p.id), full);
    assert.equal(res.limit, null);
  });
});

contract("category filter and /api/parts/categories/{category}", async ({ call, t }) => {
  const tok = token("CAT");
  const parts = await seedSortable(call, tok);
  const expected: Record<string, number[]> = { review: [], cnc: [], hand: [], completed: [] };
  for (const p of (await scoped(call, tok)).parts) expected[p.category].push(p.id);
  assert.deepEqual(
    Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, v.length])),
    { review: 2, cnc: 2, hand: 1, completed: 1 },
  );
  for (const category of ["review", "cnc", "hand", "completed"]) {
    await t.step(category, async () => {
      const viaQuery = await list(call, { search: tok, category });
      const viaPath = await list(call, { search: tok }, `/api/parts/categories/${category}`);
      assert.deepEqual(viaQuery.parts.map((p) => p.id), expected[category]);
      assert.deepEqual(viaPath, viaQuery);
      assert.equal(viaPath.total, expected[category].length);
      for (const p of viaPath.parts) assert.equal(p.category, category);
    });
  }
  await t.step("the category route takes the same query", async () => {
    const page = await list(
      call,
      { search: tok, sort_by: "partId", sort_order: "asc", limit: "1" },
      "/api/parts/categories/cnc",
    );
    assert.equal(page.total, 2);
    assert.equal(page.limit, 1);
    assert.deepEqual(page.parts.map((p) => p.partId), [`${tok}-c`]);
    const second = await list(
      call,
      { search: tok, sort_by: "part_id", sort_order: "asc", limit: "1", offset: "1" },
      "/api/parts/categories/cnc/",
    );
    assert.deepEqual(second.parts.map((p) => p.partId), [`${tok}-f`]);
  });
  await t.step("the path wins over a category query param", async () => {
    const res = await list(call, { search: tok, category: "hand" }, "/api/parts/categories/cnc");
    assert.deepEqual(res.parts.map((p) => p.id), expected.cnc);
  });
  await t.step("an unknown category is 400", async () => {
    for (const bad of ["bogus", "REVIEW", "reviewed", "review'--"]) {
      const path = `/api/parts/categories/${encodeURIComponent(bad)}`;
      await expectError(await call("GET", path), 400, "validation_failed", {
        field: "category",
        error: "category",
      });
    }
  });
  assert.equal(parts.length, 6);
});

contract(
  "search: case-insensitive over name, partId, notes, subsystem, assigned, material",
  async ({ call, t }) => {
    const columns = ["name", "partId", "notes", "subsystem", "assigned", "material"] as const;
    const words = Object.fromEntries(columns.map((c) => [c, token(`w${c}`).toLowerCase()]));
    const ids: Record<string, number> = {};
    for (const column of columns) {
      const overrides: Record<string, unknown> = { [column]: `x ${words[column]} y` };
      if (column === "partId") overrides.partId = `P${words.partId}Z`;
      ids[column] = (await createPart(call, overrides)).id;
    }
    for (const column of columns) {
      await t.step(column, async () => {
        for (const q of [words[column], words[column].toUpperCase()]) {
          const res = await list(call, { search: q });
          assert.deepEqual(res.parts.map((p) => p.id), [ids[column]], `${column} via ${q}`);
          assert.equal(res.total, 1);
        }
      });
    }
    await t.step("file and onshapeUrl are not searched", async () => {
      const w = token("wfile").toLowerCase();
      await createPart(call, { file: `${w}.step`, onshapeUrl: `https://example.com/${w}` });
      assert.equal((await list(call, { search: w })).total, 0);
    });
    await t.step("search combines with category", async () => {
      const res = await list(call, { search: words.name, category: "cnc" });
      assert.equal(res.total, 0);
      const inReview = await list(call, { search: words.name, category: "review" });
      assert.equal(inReview.total, 1);
    });
  },
);

contract("search: % and _ and \\ match literally", async ({ call, t }) => {
  const w = token("LIT");
  const notes = {
    pct: `${w}%z`,
    pctDecoy: `${w}Qz`,
    und: `${w}_y`,
    undDecoy: `${w}Ky`,
    bs: `${w}\\x`,
  };
  const ids: Record<string, number> = {};
  for (const [key, value] of Object.entries(notes)) {
    ids[key] = (await createPart(call, { notes: value })).id;
  }
  const found = async (search: string) =>
    (await list(call, { search, sort_order: "asc" })).parts.map((p) => p.id);
  await t.step("%", async () => assert.deepEqual(await found(`${w}%z`), [ids.pct]));
  await t.step("_", async () => assert.deepEqual(await found(`${w}_y`), [ids.und]));
  await t.step("\\", async () => assert.deepEqual(await found(`${w}\\x`), [ids.bs]));
  await t.step("plain prefix finds all", async () => {
    assert.deepEqual(await found(w), Object.values(ids));
  });
  await t.step("a lone wildcard is not a match-all", async () => {
    assert.deepEqual(await found(`${w}%`), [ids.pct]);
    assert.deepEqual(await found(`${w}_`), [ids.und]);
  });
});

contract("search length: 100 characters is fine, 101 is 400", async ({ call }) => {
  const tok = token("LEN");
  const long = tok + "a".repeat(100 - tok.length);
  await createPart(call, { notes: long });
  assert.equal((await list(call, { search: long })).total, 1);
  const res = await call("GET", `/api/parts?search=${long}b`);
  await expectError(res, 400, "validation_failed", { field: "search", error: "search" });
});

const BAD_PARAMS: [string, string[]][] = [
  ["category", ["bogus", "REVIEW", "cnc,hand", "review' OR '1'='1"]],
  ["sort_by", ["price", "NAME", "name desc", "name;DROP TABLE parts", "id", "version"]],
  ["sort_order", ["up", "ascending", "1", "asc;--"]],
  ["limit", ["0", "1001", "-1", "abc", "1.5", "1e2", "99999999999999999999", " 5"]],
  ["offset", ["-1", "abc", "1.5", "1000001", "1e3"]],
  ["search", ["x".repeat(101)]],
];

contract("invalid list parameters are 400s naming the param", async ({ call, t }) => {
  for (const [param, values] of BAD_PARAMS) {
    for (const value of values) {
      await t.step(`${param}=${value.slice(0, 24)}`, async () => {
        const qs = new URLSearchParams({ [param]: value });
        await expectError(await call("GET", `/api/parts?${qs}`), 400, "validation_failed", {
          field: param,
          error: param,
        });
        if (param !== "category") {
          const res = await call("GET", `/api/parts/categories/review?${qs}`);
          await expectError(res, 400, "validation_failed", { field: param, error: param });
        }
      });
    }
  }
  await t.step("a repeated param is 400", async () => {
    const res = await call("GET", "/api/parts?limit=1&limit=2");
    await expectError(res, 400, "validation_failed", { field: "limit" });
  });
});
