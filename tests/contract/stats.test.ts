import assert from "node:assert/strict";
import type { z } from "zod";
import { LeaderboardSchema, StatsSchema } from "../../src/schemas/parts.ts";
import { AuthCheckSchema, HealthSchema } from "../../src/routes/system.ts";
import {
  act,
  type Call,
  contract,
  createPart,
  expectError,
  expectOk,
  expectPart,
  partIn,
  token,
} from "./_support.ts";
import { KEY } from "../helpers.ts";

type Stats = z.infer<typeof StatsSchema>;

async function stats(call: Call): Promise<Stats> {
  const s = await expectOk(await call("GET", "/api/parts/stats"), StatsSchema);
  // One response is one consistent snapshot, whatever else shares the server.
  const c = s.by_category;
  assert.equal(c.review + c.cnc + c.hand + c.completed, s.total, "stages add up to total");
  assert.equal(s.assignment.assigned + s.assignment.unassigned, s.total);
  assert.equal(
    Object.values(s.statuses).reduce((a, b) => a + b, 0),
    s.total,
    "statuses add up to total",
  );
  assert.equal(s.by_status.pending, s.statuses.Pending);
  assert.equal(s.by_status.in_progress, s.statuses["In Progress"]);
  assert.equal(s.by_status.completed, s.statuses.Completed);
  return s;
}

const COUNTED = ["total", "by_category", "by_status", "assignment", "statuses"] as const;

/** Every documented count of `after` minus `before`, flattened to dotted keys; zeros left out. */
function delta(before: Stats, after: Stats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of COUNTED) {
    const a = before[key], b = after[key];
    if (typeof a === "number" && typeof b === "number") {
      if (b !== a) out[key] = b - a;
      continue;
    }
    const ra = a as Record<string, number>, rb = b as Record<string, number>;
    for (const sub of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      const d = (rb[sub] ?? 0) - (ra[sub] ?? 0);
      if (d !== 0) out[`${key}.${sub}`] = d;
    }
  }
  return out;
}

contract("GET /api/parts/stats has every documented key", async ({ call }) => {
  const res = await call("GET", "/api/parts/stats");
  const raw = await res.clone().json();
  const s = await expectOk(res, StatsSchema);
  assert.deepEqual(Object.keys(raw.by_category).sort(), ["cnc", "completed", "hand", "review"]);
  assert.deepEqual(Object.keys(raw.by_status).sort(), ["completed", "in_progress", "pending"]);
  assert.deepEqual(Object.keys(raw.assignment).sort(), ["assigned", "unassigned"]);
  assert.equal(typeof raw.total, "number");
  for (const n of [s.total, ...Object.values(s.by_category), ...Object.values(s.by_status)]) {
    assert.ok(Number.isInteger(n) && n >= 0);
  }
});

contract("stats count parts as they move (measured as deltas)", async ({ call, t }) => {
  let before = await stats(call);
  const step = async (
    label: string,
    change: () => Promise<unknown>,
    expected: Record<string, number>,
  ) => {
    await t.step(label, async () => {
      await change();
      const after = await stats(call);
      assert.deepEqual(delta(before, after), expected);
      before = after;
    });
  };
  const ids: number[] = [];
  await step("create three", async () => {
    for (const type of ["cnc", "hand", null]) ids.push((await createPart(call, { type })).id);
  }, {
    total: 3,
    "by_category.review": 3,
    "by_status.pending": 3,
    "assignment.unassigned": 3,
    "statuses.Pending": 3,
  });
  await step("approve the cnc one", () => act(call, ids[0], "approve"), {
    "by_category.review": -1,
    "by_category.cnc": 1,
    "by_status.pending": -1,
    "statuses.Pending": -1,
    "statuses.Reviewed": 1,
  });
  await step("assign it", () => act(call, ids[0], "assign", { assigned: "Stat" }), {
    "by_status.in_progress": 1,
    "statuses.Reviewed": -1,
    "statuses.In Progress": 1,
    "assignment.assigned": 1,
    "assignment.unassigned": -1,
  });
  await step("unclaim it", () => act(call, ids[0], "unclaim"), {
    "by_status.in_progress": -1,
    "statuses.In Progress": -1,
    "statuses.Already Started": 1,
    "assignment.assigned": -1,
    "assignment.unassigned": 1,
  });
  await step("approve the hand one", () => act(call, ids[1], "approve"), {
    "by_category.review": -1,
    "by_category.hand": 1,
    "by_status.pending": -1,
    "statuses.Pending": -1,
    "statuses.Reviewed": 1,
  });
  await step("complete the cnc one", () => act(call, ids[0], "complete"), {
    "by_category.cnc": -1,
    "by_category.completed": 1,
    "by_status.completed": 1,
    "statuses.Already Started": -1,
    "statuses.Completed": 1,
  });
  await step("move the hand one to cnc by type", async () => {
    await expectPart(await call("PUT", `/api/parts/${ids[1]}`, { type: "cnc" }));
  }, { "by_category.hand": -1, "by_category.cnc": 1 });
  await step("delete the untyped one", () => call("DELETE", `/api/parts/${ids[2]}`), {
    total: -1,
    "by_category.review": -1,
    "by_status.pending": -1,
    "statuses.Pending": -1,
    "assignment.unassigned": -1,
  });
});

type Entry = { name: string; score: number };

async function board(call: Call, prefix: string): Promise<Entry[]> {
  const all = (await expectOk(await call("GET", "/api/parts/leaderboard"), LeaderboardSchema))
    .leaderboard;
  for (let i = 1; i < all.length; i++) {
    const a = all[i - 1], b = all[i];
    const x = a.name.toLowerCase(), y = b.name.toLowerCase();
    assert.ok(
      a.score > b.score || (a.score === b.score && (x < y || (x === y && a.name <= b.name))),
      `sorted by score desc then name: ${JSON.stringify(a)} before ${JSON.stringify(b)}`,
    );
  }
  return all.filter((e) => e.name.startsWith(prefix));
}

contract("leaderboard: holder scores 1, other hand workers 0.5 per entry", async ({ call, t }) => {
  const p = `${token("LB")}-`;
  const [ann, bob, cat, dan, eve] = ["ann", "Bob", "cat", "dan", "eve"].map((n) => p + n);
  assert.deepEqual(await board(call, p), []);

  // cnc part completed by Ann: Ann 1.
  await partIn(call, "completed", { type: "cnc", assigned: ann });
  // hand part: Bob then Cat; Cat completes. Cat 1, Bob 0.5.
  const h1 = await partIn(call, "hand", { assigned: bob });
  await act(call, h1.id, "unclaim");
  await act(call, h1.id, "assign", { assigned: cat });
  await act(call, h1.id, "complete");
  // hand part: Bob twice, then Cat: Bob 0.5 x2, Cat 1.
  const h2 = await partIn(call, "hand", { assigned: bob });
  await act(call, h2.id, "unclaim");
  await act(call, h2.id, "assign", { assigned: bob });
  await act(call, h2.id, "unclaim");
  await act(call, h2.id, "assign", { assigned: cat });
  await act(call, h2.id, "complete");
  // Not completed: Dan scores nothing.
  await partIn(call, "hand", { assigned: dan });
  // Completed with no holder at all: Eve was a hand worker only, 0.5.
  const h3 = await partIn(call, "hand", { assigned: eve });
  await act(call, h3.id, "unclaim");
  await act(call, h3.id, "complete");

  await t.step("scores and order", async () => {
    assert.deepEqual(await board(call, p), [
      { name: cat, score: 2 },
      { name: bob, score: 1.5 },
      { name: ann, score: 1 },
      { name: eve, score: 0.5 },
    ]);
  });
  await t.step("the holder listed in handWorkers is not paid twice", async () => {
    // Cat holds h1 and is also in its handWorkers; already covered: Cat has 2, not 3.
    const entry = (await board(call, p)).find((e) => e.name === cat);
    assert.equal(entry?.score, 2);
  });
  await t.step("reverting a part takes its credit away", async () => {
    await act(call, h1.id, "revert");
    assert.deepEqual(await board(call, p), [
      { name: ann, score: 1 },
      { name: bob, score: 1 },
      { name: cat, score: 1 },
      { name: eve, score: 0.5 },
    ]);
  });
  await t.step("deleting a completed part takes its credit away", async () => {
    await call("DELETE", `/api/parts/${h2.id}`);
    assert.deepEqual(await board(call, p), [
      { name: ann, score: 1 },
      { name: eve, score: 0.5 },
    ]);
  });
});

contract("leaderboard: equal scores are ordered by name, as people read it", async ({ call }) => {
  const p = `${token("LBT")}-`;
  for (const name of ["zed", "amy", "Mo", "mo"]) {
    await partIn(call, "completed", { type: "cnc", assigned: p + name });
  }
  assert.deepEqual(await board(call, p), [
    { name: `${p}amy`, score: 1 },
    { name: `${p}Mo`, score: 1 },
    { name: `${p}mo`, score: 1 },
    { name: `${p}zed`, score: 1 },
  ]);
});

contract("GET /api/parts/auth/check: authenticated, not cached", async ({ call, target }) => {
  const ways: Record<string, string>[] = [{ "X-API-Key": KEY }, { Authorization: `Bearer ${KEY}` }];
  for (const headers of ways) {
    const res = await target.fetch("/api/parts/auth/check", { headers });
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = await expectOk(res, AuthCheckSchema);
    assert.equal(body.status, "authenticated");
  }
  const res = await call("GET", "/api/parts/auth/check", undefined, { "X-API-Key": "" });
  await expectError(res, 401, "unauthorized", { error: "API key required" });
});

contract("GET /health needs no key and pings the database", async ({ target }) => {
  const variants: Record<string, string>[] = [{}, { "X-API-Key": "not-the-key" }];
  for (const headers of variants) {
    const res = await target.fetch("/health", { headers });
    const body = await expectOk(res, HealthSchema);
    assert.deepEqual(body, { status: "healthy" });
  }
});
