/**
 * The event log: one event per change, with the right action, actor, stages, statuses and the
 * exact field diff; part history (newest first, paged, kept after deletion); no-ops write
 * nothing.
 */
import assert from "node:assert/strict";
import { ActivitySchema, HistorySchema } from "../../src/schemas/events.ts";
import { MessageSchema } from "../../src/schemas/common.ts";
import { PartSchema } from "../../src/schemas/parts.ts";
import {
  act,
  createKey,
  createPart,
  etagOf,
  eventCount,
  expectError,
  expectJson,
  FakeClock,
  getPart,
  harness,
  history,
  HOUR,
  iso,
  MINUTE,
  type Part,
  type PartEvent,
  put,
  SHARED,
} from "./_support.ts";

const T0 = Date.UTC(2026, 2, 2, 8, 0, 0, 0);

/** The parts of an event a test fully determines (everything but the id). */
function shape(e: PartEvent) {
  const { id: _id, ...rest } = e;
  return rest;
}

Deno.test("every action on a hand part writes one exact event, newest first in history", async () => {
  const clock = new FakeClock(T0);
  using h = await harness({ now: clock.now });
  const alex = await createKey(h.call, "Alex Chen", "member");
  const morgan = await createKey(h.call, "Morgan Lee", "lead");

  const created = await createPart(h.call, {
    partId: "3322-IN-101",
    name: "Intake roller bracket",
    type: "hand",
    material: "6061 aluminum",
    subsystem: "Intake",
    amount: 2,
  }, alex);
  const id = created.id;
  const expected: Omit<PartEvent, "id">[] = [];
  const base = { part: id, partId: "3322-IN-101", partName: "Intake roller bracket" };
  expected.push({
    ...base,
    action: "created",
    actor: "Alex Chen",
    fromCategory: null,
    toCategory: "review",
    fromStatus: null,
    toStatus: "Pending",
    changes: null,
    version: 1,
    createdAt: iso(T0),
  });
  assert.equal(created.version, 1);

  clock.advance(MINUTE);
  const updated = await put(h.call, id, { material: "Delrin" }, { key: alex });
  assert.equal(updated.version, 2);
  expected.push({
    ...base,
    action: "updated",
    actor: "Alex Chen",
    fromCategory: "review",
    toCategory: "review",
    fromStatus: "Pending",
    toStatus: "Pending",
    changes: { material: { from: "6061 aluminum", to: "Delrin" } },
    version: 2,
    createdAt: iso(T0 + MINUTE),
  });

  clock.advance(MINUTE);
  const approved = await act(h.call, id, "approve", { reviewer: "Ms. Patel" }, { key: morgan });
  assert.equal(approved.version, 3);
  expected.push({
    ...base,
    action: "approved",
    actor: "Morgan Lee",
    fromCategory: "review",
    toCategory: "hand",
    fromStatus: "Pending",
    toStatus: "Reviewed",
    changes: {
      category: { from: "review", to: "hand" },
      status: { from: "Pending", to: "Reviewed" },
      miscInfo: { from: null, to: { reviewer: "Ms. Patel" } },
    },
    version: 3,
    createdAt: iso(T0 + 2 * MINUTE),
  });

  clock.advance(MINUTE);
  const t4 = clock.t;
  const claimed = await act(h.call, id, "assign", { assigned: "Sam Rivera" });
  assert.equal(claimed.claimedDate, iso(t4));
  const samWorker = { name: "Sam Rivera", timestamp: iso(t4) };
  expected.push({
    ...base,
    action: "assigned",
    actor: SHARED,
    fromCategory: "hand",
    toCategory: "hand",
    fromStatus: "Reviewed",
    toStatus: "In Progress",
    changes: {
      assigned: { from: null, to: "Sam Rivera" },
      status: { from: "Reviewed", to: "In Progress" },
      claimedDate: { from: null, to: iso(t4) },
      miscInfo: {
        from: { reviewer: "Ms. Patel" },
        to: { reviewer: "Ms. Patel", handWorkers: [samWorker] },
      },
    },
    version: 4,
    createdAt: iso(t4),
  });

  // Sam's claim is released by a lead (a member may release only their own): the event says
  // who did it and for whom.
  clock.advance(HOUR);
  await act(h.call, id, "unclaim", undefined, { key: morgan });
  expected.push({
    ...base,
    action: "unclaimed",
    actor: "Morgan Lee",
    onBehalfOf: "Sam Rivera",
    fromCategory: "hand",
    toCategory: "hand",
    fromStatus: "In Progress",
    toStatus: "Already Started",
    changes: {
      assigned: { from: "Sam Rivera", to: null },
      claimedDate: { from: iso(t4), to: null },
      status: { from: "In Progress", to: "Already Started" },
    },
    version: 5,
    createdAt: iso(clock.t),
  });

  // A personal key with no body claims for its holder.
  clock.advance(MINUTE);
  const t6 = clock.t;
  const reclaimed = await act(h.call, id, "assign", undefined, { key: alex });
  assert.equal(reclaimed.assigned, "Alex Chen");
  expected.push({
    ...base,
    action: "assigned",
    actor: "Alex Chen",
    fromCategory: "hand",
    toCategory: "hand",
    fromStatus: "Already Started",
    toStatus: "In Progress",
    changes: {
      assigned: { from: null, to: "Alex Chen" },
      status: { from: "Already Started", to: "In Progress" },
      claimedDate: { from: null, to: iso(t6) },
      miscInfo: {
        from: { reviewer: "Ms. Patel", handWorkers: [samWorker] },
        to: {
          reviewer: "Ms. Patel",
          handWorkers: [samWorker, { name: "Alex Chen", timestamp: iso(t6) }],
        },
      },
    },
    version: 6,
    createdAt: iso(t6),
  });

  clock.advance(2 * HOUR);
  await act(h.call, id, "complete", {}, { key: alex });
  expected.push({
    ...base,
    action: "completed",
    actor: "Alex Chen",
    fromCategory: "hand",
    toCategory: "completed",
    fromStatus: "In Progress",
    toStatus: "Completed",
    changes: {
      category: { from: "hand", to: "completed" },
      status: { from: "In Progress", to: "Completed" },
    },
    version: 7,
    createdAt: iso(clock.t),
  });

  clock.advance(MINUTE);
  await act(h.call, id, "revert", undefined, { key: morgan });
  expected.push({
    ...base,
    action: "reverted",
    actor: "Morgan Lee",
    fromCategory: "completed",
    toCategory: "hand",
    fromStatus: "Completed",
    toStatus: "In Progress",
    changes: {
      category: { from: "completed", to: "hand" },
      status: { from: "Completed", to: "In Progress" },
    },
    version: 8,
    createdAt: iso(clock.t),
  });

  // A rename: this event and later ones carry the new number and name; older ones keep theirs.
  clock.advance(MINUTE);
  await put(h.call, id, { partId: "3322-IN-101B", name: "Intake roller bracket v2" });
  const renamed = { part: id, partId: "3322-IN-101B", partName: "Intake roller bracket v2" };
  expected.push({
    ...renamed,
    action: "updated",
    actor: SHARED,
    fromCategory: "hand",
    toCategory: "hand",
    fromStatus: "In Progress",
    toStatus: "In Progress",
    changes: {
      partId: { from: "3322-IN-101", to: "3322-IN-101B" },
      name: { from: "Intake roller bracket", to: "Intake roller bracket v2" },
    },
    version: 9,
    createdAt: iso(clock.t),
  });

  clock.advance(MINUTE);
  const del = await h.call("DELETE", `/api/parts/${id}`, { key: morgan });
  assert.deepEqual(await expectJson(del, MessageSchema), { message: "Part deleted successfully" });
  expected.push({
    ...renamed,
    action: "deleted",
    actor: "Morgan Lee",
    fromCategory: "hand",
    toCategory: null,
    fromStatus: "In Progress",
    toStatus: null,
    changes: null,
    version: 10,
    createdAt: iso(clock.t),
  });

  // The part is gone, its history is not.
  await expectError(await h.call("GET", `/api/parts/${id}`), 404, "not_found");
  const events = await history(h.call, id);
  assert.deepEqual(events.map(shape), [...expected].reverse());
  const ids = events.map((e) => e.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), "newest first, ids strictly decreasing");
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(await eventCount(h.database), expected.length);

  // The activity feed holds the same events.
  const feed = await expectJson(
    await h.call("GET", `/api/activity?part=${id}&order=asc`),
    ActivitySchema,
  );
  assert.deepEqual(feed.events, [...events].reverse());
});

Deno.test("a cnc part: assign records assigned/status/claimedDate but no miscInfo; type change moves stage", async () => {
  const clock = new FakeClock(T0);
  using h = await harness({ now: clock.now });
  const p = await createPart(h.call, { type: "cnc", miscInfo: { storage: "bin 4" } });
  await act(h.call, p.id, "approve");
  clock.advance(HOUR);
  await act(h.call, p.id, "assign", { assigned: "Jordan" });
  let [latest] = await history(h.call, p.id);
  assert.equal(latest.action, "assigned");
  assert.deepEqual(latest.changes, {
    assigned: { from: null, to: "Jordan" },
    status: { from: "Reviewed", to: "In Progress" },
    claimedDate: { from: null, to: iso(T0 + HOUR) },
  });
  assert.equal(latest.version, 3);

  // PUT changing type while in fabrication moves the part: the event shows the stage change.
  clock.advance(MINUTE);
  const moved = await put(h.call, p.id, { type: "hand", amount: 3 });
  assert.equal(moved.category, "hand");
  [latest] = await history(h.call, p.id);
  assert.equal(latest.action, "updated");
  assert.equal(latest.fromCategory, "cnc");
  assert.equal(latest.toCategory, "hand");
  assert.equal(latest.fromStatus, "In Progress");
  assert.equal(latest.toStatus, "In Progress");
  assert.deepEqual(latest.changes, {
    type: { from: "cnc", to: "hand" },
    amount: { from: 1, to: 3 },
    category: { from: "cnc", to: "hand" },
  });

  // Complete with miscInfo: the merge is recorded.
  await act(h.call, p.id, "complete", { miscInfo: { completedIncorrectly: false } });
  [latest] = await history(h.call, p.id);
  assert.deepEqual(latest.changes, {
    category: { from: "hand", to: "completed" },
    status: { from: "In Progress", to: "Completed" },
    miscInfo: {
      from: { storage: "bin 4" },
      to: { storage: "bin 4", completedIncorrectly: false },
    },
  });
});

Deno.test("history pages newest first with total/limit/offset", async () => {
  using h = await harness();
  const p = await createPart(h.call, { type: "cnc" });
  for (let i = 1; i <= 6; i++) await put(h.call, p.id, { amount: i + 1 });
  const other = await createPart(h.call);
  await put(h.call, other.id, { notes: "not this part" });

  const all = await history(h.call, p.id);
  assert.equal(all.length, 7);
  assert.ok(all.every((e) => e.part === p.id));
  assert.deepEqual(all.map((e) => e.version), [7, 6, 5, 4, 3, 2, 1]);
  assert.deepEqual(all.map((e) => e.action), [...Array(6).fill("updated"), "created"]);
  assert.deepEqual(all[0].changes, { amount: { from: 6, to: 7 } });

  const page = await expectJson(
    await h.call("GET", `/api/parts/${p.id}/history?limit=3&offset=2`),
    HistorySchema,
  );
  assert.equal(page.total, 7);
  assert.equal(page.limit, 3);
  assert.equal(page.offset, 2);
  assert.deepEqual(page.events, all.slice(2, 5));

  const tail = await expectJson(
    await h.call("GET", `/api/parts/${p.id}/history?limit=3&offset=6`),
    HistorySchema,
  );
  assert.deepEqual(tail.events, all.slice(6));
  assert.equal(tail.total, 7);

  const beyond = await expectJson(
    await h.call("GET", `/api/parts/${p.id}/history?offset=50`),
    HistorySchema,
  );
  assert.deepEqual(beyond.events, []);
  assert.equal(beyond.total, 7);
  assert.equal(beyond.limit, 50, "default limit");
  assert.equal(beyond.offset, 50);

  const dflt = await expectJson(await h.call("GET", `/api/parts/${p.id}/history`), HistorySchema);
  assert.equal(dflt.limit, 50);
  assert.equal(dflt.offset, 0);
  assert.deepEqual(dflt.events, all);

  for (
    const [query, field] of [
      ["limit=0", "limit"],
      ["limit=501", "limit"],
      ["limit=abc", "limit"],
      ["offset=-1", "offset"],
      ["offset=1.5", "offset"],
    ]
  ) {
    const err = await expectError(
      await h.call("GET", `/api/parts/${p.id}/history?${query}`),
      400,
      "validation_failed",
    );
    assert.equal(err.field, field, query);
  }
});

Deno.test("history: a deleted part's history is served; an unknown id is 404", async () => {
  using h = await harness();
  const p = await createPart(h.call);
  await put(h.call, p.id, { notes: "before deletion" });
  const del = await h.call("DELETE", `/api/parts/${p.id}`);
  await expectJson(del, MessageSchema);
  const events = await history(h.call, p.id);
  assert.deepEqual(events.map((e) => e.action), ["deleted", "updated", "created"]);
  assert.equal(events[0].version, 3);

  // Deleting again: nothing to delete, no event.
  await expectError(await h.call("DELETE", `/api/parts/${p.id}`), 404, "not_found");
  assert.equal((await history(h.call, p.id)).length, 3);

  await expectError(await h.call("GET", "/api/parts/999999/history"), 404, "not_found");
  await expectError(await h.call("GET", "/api/parts/abc/history"), 404, "not_found");
  // An existing part always has at least its "created" event.
  const fresh = await createPart(h.call);
  assert.equal((await history(h.call, fresh.id)).length, 1);
});

/** Asserts that a request leaves the part, its version and the event log as they were. */
async function expectNoChange(
  h: Awaited<ReturnType<typeof harness>>,
  before: Part,
  request: () => Promise<Response>,
  label: string,
) {
  const count = await eventCount(h.database);
  const res = await request();
  const after = await expectJson(res, PartSchema);
  assert.deepEqual(after, before, `${label}: the part is returned unchanged`);
  assert.equal(res.headers.get("etag"), etagOf(before), `${label}: same ETag`);
  assert.equal(await eventCount(h.database), count, `${label}: no event written`);
  assert.deepEqual(await getPart(h.call, before.id), before, `${label}: stored part unchanged`);
}

Deno.test("no-ops write no event and do not bump the version", async () => {
  const clock = new FakeClock(T0);
  using h = await harness({ now: clock.now });
  const p = await createPart(h.call, {
    type: "hand",
    notes: "Deburr",
    amount: 2,
    miscInfo: { storage: "shelf B" },
  });
  clock.advance(MINUTE);

  // PUT with identical values (including "" for an empty field, which means null).
  await expectNoChange(h, p, () =>
    h.call("PUT", `/api/parts/${p.id}`, {
      body: {
        partId: p.partId,
        name: p.name,
        material: ` ${p.material} `,
        subsystem: p.subsystem,
        amount: 2,
        notes: "Deburr",
        file: "",
        onshapeUrl: "",
        miscInfo: { storage: "shelf B" },
        category: "review",
      },
    }), "identical PUT");
  await expectNoChange(h, p, () => h.call("PUT", `/api/parts/${p.id}`, { body: {} }), "empty PUT");

  await act(h.call, p.id, "approve");
  clock.advance(MINUTE);
  const held = await act(h.call, p.id, "assign", { assigned: "Sam" });
  clock.advance(MINUTE);
  await expectNoChange(
    h,
    held,
    () => h.call("POST", `/api/parts/${p.id}/assign`, { body: { assigned: "Sam" } }),
    "assign to the holder again",
  );
  // Same assigned via PUT: no new handWorkers entry, no event.
  await expectNoChange(
    h,
    held,
    () => h.call("PUT", `/api/parts/${p.id}`, { body: { assigned: "Sam" } }),
    "PUT the same holder",
  );

  const free = await act(h.call, p.id, "unclaim");
  await expectNoChange(
    h,
    free,
    () => h.call("POST", `/api/parts/${p.id}/unclaim`),
    "unclaim twice",
  );

  const done = await act(h.call, p.id, "complete");
  await expectNoChange(
    h,
    done,
    () => h.call("POST", `/api/parts/${p.id}/complete`, { body: {} }),
    "complete twice",
  );
  assert.deepEqual(
    (await history(h.call, p.id)).map((e) => [e.action, e.version]),
    [["completed", 5], ["unclaimed", 4], ["assigned", 3], ["approved", 2], ["created", 1]],
  );
});
