/**
 * Conditional GETs: lists, stats, leaderboard, single parts, history and activity answer 304 to
 * an If-None-Match holding their current ETag, and 200 with a new ETag after a change.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ActivitySchema, HistorySchema } from "../../src/schemas/events.ts";
import {
  LeaderboardSchema,
  PartListSchema,
  PartSchema,
  StatsSchema,
} from "../../src/schemas/parts.ts";
import {
  act,
  type Call,
  createPart,
  etagOf,
  expect304,
  expectError,
  expectJson,
  harness,
  put,
} from "./_support.ts";

interface Parser {
  parse(value: unknown): unknown;
}

/** The data-dependent collections and the schema of each. */
const COLLECTIONS: [string, Parser][] = [
  ["/api/parts", PartListSchema],
  ["/api/parts/", PartListSchema],
  ["/api/parts?category=cnc", PartListSchema],
  ["/api/parts?search=bracket&sort_by=name&sort_order=asc&limit=2&offset=1", PartListSchema],
  ["/api/parts?sort_by=updated_at&limit=1", PartListSchema],
  ["/api/parts/categories/cnc", PartListSchema],
  ["/api/parts/categories/cnc?sort_by=amount&sort_order=desc", PartListSchema],
  ["/api/parts/stats", StatsSchema],
  ["/api/parts/leaderboard", LeaderboardSchema],
  ["/api/parts/leaderboard?since=2020-01-01T00:00:00Z", LeaderboardSchema],
  ["/api/activity", ActivitySchema],
  ["/api/activity?action=assigned&order=asc&limit=5", ActivitySchema],
];

/** GETs a path: 200, parsed with its schema, with an ETag; returns the tag. */
async function fetchTag(call: Call, path: string, schema: Parser): Promise<string> {
  const res = await call("GET", path);
  await expectJson(res, schema);
  const tag = res.headers.get("etag");
  assert.ok(tag, `${path}: ETag`);
  assert.match(tag, /^"[^"]+"$/, `${path}: a strong tag`);
  assert.equal(res.headers.get("cache-control"), "no-cache", `${path}: revalidate every time`);
  return tag;
}

async function expectNotModified(call: Call, path: string, tag: string): Promise<void> {
  for (const header of [tag, `W/${tag}`, `"nope", ${tag}`]) {
    const res = await call("GET", path, { headers: { "If-None-Match": header } });
    assert.equal(await expect304(res), tag, `${path} with If-None-Match ${header}`);
  }
}

async function expectModified(
  call: Call,
  path: string,
  schema: Parser,
  oldTag: string,
): Promise<string> {
  const res = await call("GET", path, { headers: { "If-None-Match": oldTag } });
  await expectJson(res, schema);
  const tag = res.headers.get("etag");
  assert.ok(tag);
  assert.notEqual(tag, oldTag, `${path}: a new ETag after a change`);
  return tag;
}

Deno.test("lists, stats, leaderboard and activity: 304 until any part changes", async () => {
  using h = await harness();
  const a = await createPart(h.call, { type: "cnc", name: "Gusset bracket" });
  const b = await createPart(h.call, { type: "cnc", name: "Motor bracket", amount: 3 });
  const c = await createPart(h.call, { type: "hand", name: "Shaft bracket" });
  for (const p of [a, b, c]) await act(h.call, p.id, "approve");
  await act(h.call, a.id, "assign", { assigned: "Sam" });
  await act(h.call, a.id, "complete");

  const tags = new Map<string, string>();
  for (const [path, schema] of COLLECTIONS) tags.set(path, await fetchTag(h.call, path, schema));
  assert.equal(new Set(tags.values()).size, COLLECTIONS.length, "each query has its own tag");

  for (const [path] of COLLECTIONS) await expectNotModified(h.call, path, tags.get(path)!);

  // A tag of one query is not valid for another.
  const other = await h.call("GET", "/api/parts?limit=3", {
    headers: { "If-None-Match": tags.get("/api/parts")! },
  });
  await expectJson(other, PartListSchema);

  // Refused and no-op requests change nothing, so the tags still hold.
  await expectError(await h.call("POST", `/api/parts/${c.id}/revert`), 409, "invalid_transition");
  await act(h.call, a.id, "complete");
  await put(h.call, b.id, { amount: 3 });
  for (const [path] of COLLECTIONS) await expectNotModified(h.call, path, tags.get(path)!);

  // Changes, each to a part some lists do not even show: every tag moves.
  const changes: [string, () => Promise<unknown>][] = [
    ["PUT on the hand part", () => put(h.call, c.id, { notes: "touched" })],
    ["claim", () => act(h.call, b.id, "assign", { assigned: "Jordan" })],
    ["create", () => createPart(h.call, { name: "Spacer" })],
    ["delete", async () => {
      const res = await h.call("DELETE", `/api/parts/${c.id}`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }],
  ];
  for (const [label, change] of changes) {
    await change();
    for (const [path, schema] of COLLECTIONS) {
      const fresh = await expectModified(h.call, path, schema, tags.get(path)!);
      tags.set(path, fresh);
      await expectNotModified(h.call, path, fresh);
    }
    assert.equal(new Set(tags.values()).size, COLLECTIONS.length, label);
  }
});

Deno.test("a single part: strong ETag, 304 while unchanged, 200 with the new tag after", async () => {
  using h = await harness();
  const p = await createPart(h.call, { type: "cnc" });
  const other = await createPart(h.call);
  const path = `/api/parts/${p.id}`;
  const tag = etagOf(p);
  await expectNotModified(h.call, path, tag);
  const star = await h.call("GET", path, { headers: { "If-None-Match": "*" } });
  assert.equal(await expect304(star), tag);

  // A change to another part leaves this part's tag valid.
  await put(h.call, other.id, { notes: "elsewhere" });
  await expectNotModified(h.call, path, tag);

  const changed = await act(h.call, p.id, "approve");
  const res = await h.call("GET", path, { headers: { "If-None-Match": tag } });
  assert.deepEqual(await expectJson(res, PartSchema), changed);
  assert.equal(res.headers.get("etag"), etagOf(changed));
  await expectNotModified(h.call, path, etagOf(changed));

  // Gone: 404, whatever the client cached.
  await (await h.call("DELETE", path)).body?.cancel();
  await expectError(
    await h.call("GET", path, { headers: { "If-None-Match": etagOf(changed) } }),
    404,
    "not_found",
  );
});

Deno.test("history: 304 while unchanged, 200 with a new tag after the part changes", async () => {
  using h = await harness();
  const p = await createPart(h.call, { type: "cnc" });
  for (const path of [`/api/parts/${p.id}/history`, `/api/parts/${p.id}/history?limit=1`]) {
    const tag = await fetchTag(h.call, path, HistorySchema);
    await expectNotModified(h.call, path, tag);
  }
  const path = `/api/parts/${p.id}/history`;
  const tag = await fetchTag(h.call, path, HistorySchema);
  await act(h.call, p.id, "approve");
  const res = await h.call("GET", path, { headers: { "If-None-Match": tag } });
  const body = await expectJson(res, HistorySchema);
  assert.equal(body.events[0].action, "approved");
  const fresh = res.headers.get("etag")!;
  assert.notEqual(fresh, tag);
  await expectNotModified(h.call, path, fresh);

  // A part that never existed has no representation: a conditional GET is still a 404.
  const unknown = "/api/parts/999999/history";
  const miss = await h.call("GET", unknown);
  const missTag = miss.headers.get("etag");
  await expectError(miss, 404, "not_found");
  for (const header of ["*", ...(missTag ? [missTag] : [])]) {
    const res = await h.call("GET", unknown, { headers: { "If-None-Match": header } });
    await expectError(res, 404, "not_found");
  }

  // After deletion the history still answers conditionally.
  await (await h.call("DELETE", `/api/parts/${p.id}`)).body?.cancel();
  const afterDelete = await expectModified(h.call, path, HistorySchema, fresh);
  await expectNotModified(h.call, path, afterDelete);
});

Deno.test("two instances on one database: a change made on one invalidates the other's tags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parts-history-" });
  const url = `file:${join(dir, "parts.db")}`;
  const a = await harness({ url });
  const b = await harness({ url });
  try {
    const p = await createPart(a.call, { type: "cnc", name: "Shared bracket" });
    const paths: [string, Parser][] = [
      ["/api/parts", PartListSchema],
      ["/api/parts/stats", StatsSchema],
      ["/api/activity", ActivitySchema],
      [`/api/parts/${p.id}/history`, HistorySchema],
    ];
    const tags = new Map<string, string>();
    for (const [path, schema] of paths) {
      tags.set(path, await fetchTag(a.call, path, schema));
      await expectNotModified(a.call, path, tags.get(path)!);
    }
    await expectNotModified(a.call, `/api/parts/${p.id}`, etagOf(p));

    // Instance B changes the part; instance A must not answer from what it saw before.
    const changed = await put(b.call, p.id, { name: "Renamed on B" });
    for (const [path, schema] of paths) {
      await expectModified(a.call, path, schema, tags.get(path)!);
    }
    const list = await expectJson(await a.call("GET", "/api/parts"), PartListSchema);
    assert.deepEqual(list.parts, [changed]);
    const single = await a.call("GET", `/api/parts/${p.id}`, {
      headers: { "If-None-Match": etagOf(p) },
    });
    assert.deepEqual(await expectJson(single, PartSchema), changed);
    assert.equal(single.headers.get("etag"), etagOf(changed));
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
