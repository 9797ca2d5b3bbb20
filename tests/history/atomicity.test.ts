/**
 * A change and its event are one atomic write: rejected changes write no event, and a failing
 * event insert rolls the change back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MessageSchema } from "../../src/schemas/common.ts";
import { PartListSchema, PartSchema } from "../../src/schemas/parts.ts";
import {
  act,
  createKey,
  createPart,
  etagOf,
  eventCount,
  expectError,
  expectJson,
  getPart,
  type Harness,
  harness,
  history,
  type Part,
  partRow,
} from "./_support.ts";

/** Sends a request that must be refused, and checks that nothing changed. */
async function refused(
  h: Harness,
  part: Part,
  request: () => Promise<Response>,
  status: number,
  code: Parameters<typeof expectError>[2],
) {
  const count = await eventCount(h.database);
  const row = await partRow(h.database, part.id);
  const err = await expectError(await request(), status, code);
  assert.equal(await eventCount(h.database), count, `${code}: no event written`);
  assert.deepEqual(await partRow(h.database, part.id), row, `${code}: row untouched`);
  assert.deepEqual(await getPart(h.call, part.id), part);
  return err;
}

Deno.test("rejected changes write no event", async () => {
  using h = await harness();
  const viewer = await createKey(h.call, "Screen", "viewer");
  const member = await createKey(h.call, "Alex Chen", "member");
  const p = await createPart(h.call, { type: "cnc" });

  // 409 invalid_transition: every action that is not allowed from review.
  for (const action of ["assign", "unclaim", "complete", "revert"]) {
    const body = action === "assign" ? { assigned: "Sam" } : {};
    const err = await refused(
      h,
      p,
      () => h.call("POST", `/api/parts/${p.id}/${action}`, { body }),
      409,
      "invalid_transition",
    );
    assert.match(err.error, /review/);
  }

  // 400 invalid bodies.
  for (
    const body of [
      { amount: 0 },
      { amount: "three" },
      { material: "" },
      { category: "cnc" },
      { onshapeUrl: "ftp://example.com/x" },
      { miscInfo: "not an object" },
      { name: "x".repeat(201) },
    ]
  ) {
    await refused(
      h,
      p,
      () => h.call("PUT", `/api/parts/${p.id}`, { body }),
      400,
      "validation_failed",
    );
  }
  await refused(
    h,
    p,
    () => h.call("PUT", `/api/parts/${p.id}`, { body: "{not json" }),
    400,
    "validation_failed",
  );
  await refused(
    h,
    p,
    () => h.call("POST", `/api/parts/${p.id}/approve`, { body: { miscInfo: [1, 2] } }),
    400,
    "validation_failed",
  );

  // 403 too little role.
  await refused(
    h,
    p,
    () => h.call("PUT", `/api/parts/${p.id}`, { key: viewer, body: { notes: "x" } }),
    403,
    "forbidden",
  );
  await refused(
    h,
    p,
    () => h.call("POST", `/api/parts/${p.id}/approve`, { key: member }),
    403,
    "forbidden",
  );
  await refused(
    h,
    p,
    () => h.call("DELETE", `/api/parts/${p.id}`, { key: member }),
    403,
    "forbidden",
  );

  // 412 stale If-Match.
  const stale = `"${p.id}.${p.version + 7}"`;
  await refused(
    h,
    p,
    () =>
      h.call("PUT", `/api/parts/${p.id}`, { body: { notes: "x" }, headers: { "If-Match": stale } }),
    412,
    "precondition_failed",
  );
  await refused(
    h,
    p,
    () => h.call("POST", `/api/parts/${p.id}/approve`, { headers: { "If-Match": stale } }),
    412,
    "precondition_failed",
  );
  await refused(
    h,
    p,
    () => h.call("DELETE", `/api/parts/${p.id}`, { headers: { "If-Match": stale } }),
    412,
    "precondition_failed",
  );

  // 409 conflict: someone else holds the part.
  await act(h.call, p.id, "approve");
  const held = await act(h.call, p.id, "assign", { assigned: "Sam" });
  const conflict = await refused(
    h,
    held,
    () => h.call("POST", `/api/parts/${p.id}/assign`, { body: { assigned: "Jordan" } }),
    409,
    "conflict",
  );
  assert.match(conflict.error, /Sam/);
  await refused(
    h,
    held,
    () => h.call("POST", `/api/parts/${p.id}/approve`),
    409,
    "invalid_transition",
  );
  await refused(
    h,
    held,
    () => h.call("POST", `/api/parts/${p.id}/assign`, { body: {} }),
    400,
    "validation_failed",
  );

  // An invalid create writes neither a part nor an event.
  const before = await eventCount(h.database);
  await expectError(
    await h.call("POST", "/api/parts", { body: { partId: "X-1", material: "steel" } }),
    400,
    "validation_failed",
  );
  assert.equal(await eventCount(h.database), before);
  assert.deepEqual((await history(h.call, p.id)).map((e) => e.action), [
    "assigned",
    "approved",
    "created",
  ]);
  assert.deepEqual(h.logged, [], "nothing unexpected was logged");
});

const TRIGGER = `CREATE TRIGGER fail_events BEFORE INSERT ON part_events
  BEGIN SELECT RAISE(ABORT, 'boom'); END`;

/** A 500 that says nothing about the database or the code. */
async function expectInternal(res: Response) {
  const text = await res.clone().text();
  const err = await expectError(res, 500, "internal");
  assert.equal(err.error, "Internal server error");
  for (const leak of [/boom/i, /sql/i, /part_events/i, /trigger/i, /\bat\s.+\.ts/, /stack/i]) {
    assert.doesNotMatch(text, leak, "the body leaks nothing internal");
  }
  assert.deepEqual(
    Object.keys(err).sort(),
    ["code", "error", "requestId"],
    "only the envelope",
  );
}

Deno.test("a failing event insert rolls the change back (500, part unchanged)", async () => {
  using h = await harness();
  const p = await createPart(h.call, { type: "hand", notes: "original" });
  const approved = await act(h.call, p.id, "approve", { reviewer: "Ms. Patel" });
  const row = await partRow(h.database, p.id);
  const events = await eventCount(h.database);
  const parts = await expectJson(await h.call("GET", "/api/parts"), PartListSchema);

  await h.database.client.execute(TRIGGER);
  const attempts: [string, string, unknown][] = [
    ["PUT", `/api/parts/${p.id}`, { material: "Steel", notes: "changed" }],
    ["POST", `/api/parts/${p.id}/assign`, { assigned: "Sam" }],
    ["POST", `/api/parts/${p.id}/complete`, {}],
    ["DELETE", `/api/parts/${p.id}`, undefined],
  ];
  for (const [method, path, body] of attempts) {
    await expectInternal(await h.call(method, path, { body }));
    assert.deepEqual(await partRow(h.database, p.id), row, `${method} ${path}: row unchanged`);
    assert.deepEqual(await getPart(h.call, p.id), approved, `${method} ${path}: same part`);
    assert.equal(await eventCount(h.database), events, `${method} ${path}: no event`);
  }
  // A create fails whole too: no part without its "created" event.
  await expectInternal(
    await h.call("POST", "/api/parts", {
      body: { partId: "ROLLBACK-1", material: "steel", subsystem: "Intake" },
    }),
  );
  assert.deepEqual(await expectJson(await h.call("GET", "/api/parts"), PartListSchema), parts);
  assert.equal(h.logged.length, attempts.length + 1, "each failure was logged on the server");

  // Without the trigger, everything works again.
  await h.database.client.execute("DROP TRIGGER fail_events");
  const res = await h.call("PUT", `/api/parts/${p.id}`, { body: { material: "Steel" } });
  const changed = await expectJson(res, PartSchema);
  assert.equal(changed.version, approved.version + 1);
  assert.equal(changed.material, "Steel");
  assert.equal(res.headers.get("etag"), etagOf(changed));
  assert.equal(await eventCount(h.database), events + 1);
  const [latest] = await history(h.call, p.id);
  assert.equal(latest.action, "updated");
  assert.deepEqual(latest.changes, { material: { from: "6061 aluminum", to: "Steel" } });
  assert.equal(latest.version, changed.version);

  await act(h.call, p.id, "assign", { assigned: "Sam" });
  const del = await h.call("DELETE", `/api/parts/${p.id}`);
  await expectJson(del, MessageSchema);
  assert.deepEqual((await history(h.call, p.id)).map((e) => e.action), [
    "deleted",
    "assigned",
    "updated",
    "approved",
    "created",
  ]);
});

Deno.test("concurrent writers on two instances: one event per change, a gapless chain", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parts-history-" });
  const url = `file:${join(dir, "parts.db")}`;
  const a = await harness({ url });
  const b = await harness({ url });
  try {
    const p = await createPart(a.call, { type: "cnc", amount: 1 });
    await act(a.call, p.id, "approve");

    // Eight people claim at once through two servers: exactly one wins, one event.
    const names = ["Ana", "Ben", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal"];
    const claims = await Promise.all(
      names.map((name, i) =>
        (i % 2 ? b : a).call("POST", `/api/parts/${p.id}/assign`, { body: { assigned: name } })
      ),
    );
    const winners = claims.filter((r) => r.status === 200);
    assert.equal(winners.length, 1, `statuses ${claims.map((r) => r.status)}`);
    const winner = await expectJson(winners[0], PartSchema);
    for (const r of claims.filter((r) => r.status !== 200)) {
      await expectError(r, 409, "conflict");
    }
    const assigned = (await history(a.call, p.id)).filter((e) => e.action === "assigned");
    assert.equal(assigned.length, 1);
    assert.equal(assigned[0].changes?.assigned?.to, winner.assigned);

    // Twelve blind edits at once: every one is recorded, each diff starting where the
    // previous one ended, versions without gaps.
    const edits = await Promise.all(
      Array.from(
        { length: 12 },
        (_, i) => (i % 2 ? b : a).call("PUT", `/api/parts/${p.id}`, { body: { amount: 100 + i } }),
      ),
    );
    for (const r of edits) await expectJson(r, PartSchema);
    const updates = (await history(b.call, p.id)).filter((e) => e.action === "updated").reverse();
    assert.equal(updates.length, 12);
    assert.deepEqual(
      updates.map((e) => e.version),
      Array.from({ length: 12 }, (_, i) => winner.version + 1 + i),
    );
    let amount: unknown = 1;
    for (const e of updates) {
      assert.equal(e.changes?.amount?.from, amount, "the diff starts at the previous value");
      amount = e.changes?.amount?.to;
    }
    const final = await getPart(a.call, p.id);
    assert.equal(final.amount, amount);
    assert.equal(final.version, winner.version + 12);
    assert.deepEqual(a.logged, []);
    assert.deepEqual(b.logged, []);
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
