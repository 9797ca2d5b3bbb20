/**
 * Optimistic concurrency: PUT, DELETE and every workflow action honour If-Match against the
 * part's strong ETag; a stale one is a 412 carrying the current part.
 */
import assert from "node:assert/strict";
import { MessageSchema } from "../../src/schemas/common.ts";
import { PartSchema } from "../../src/schemas/parts.ts";
import {
  act,
  type Call,
  createPart,
  etagOf,
  eventCount,
  expectError,
  expectJson,
  getPart,
  harness,
  history,
  type Part,
  put,
} from "./_support.ts";

interface Case {
  name: string;
  /** Brings a fresh part into a state where the request is allowed. */
  prepare(call: Call, part: Part): Promise<void>;
  method: string;
  path(id: number): string;
  body?: unknown;
  /** Checks the successful response (and the stored part). */
  succeeded(res: Response, call: Call, before: Part): Promise<void>;
}

async function expectChangedPart(res: Response, before: Part, check: (p: Part) => void) {
  const part = await expectJson(res, PartSchema);
  assert.equal(part.version, before.version + 1);
  assert.equal(res.headers.get("etag"), etagOf(part));
  check(part);
}

const CASES: Case[] = [
  {
    name: "PUT",
    prepare: async () => {},
    method: "PUT",
    path: (id) => `/api/parts/${id}`,
    body: { material: "Polycarbonate" },
    succeeded: (res, _c, before) =>
      expectChangedPart(res, before, (p) => assert.equal(p.material, "Polycarbonate")),
  },
  {
    name: "DELETE",
    prepare: async () => {},
    method: "DELETE",
    path: (id) => `/api/parts/${id}`,
    succeeded: async (res, call, before) => {
      assert.deepEqual(await expectJson(res, MessageSchema), {
        message: "Part deleted successfully",
      });
      await expectError(await call("GET", `/api/parts/${before.id}`), 404, "not_found");
    },
  },
  {
    name: "approve",
    prepare: async () => {},
    method: "POST",
    path: (id) => `/api/parts/${id}/approve`,
    body: {},
    succeeded: (res, _c, before) =>
      expectChangedPart(res, before, (p) => assert.equal(p.category, "cnc")),
  },
  {
    name: "assign",
    prepare: async (call, p) => void await act(call, p.id, "approve"),
    method: "POST",
    path: (id) => `/api/parts/${id}/assign`,
    body: { assigned: "Jordan" },
    succeeded: (res, _c, before) =>
      expectChangedPart(res, before, (p) => assert.equal(p.assigned, "Jordan")),
  },
  {
    name: "unclaim",
    prepare: async (call, p) => {
      await act(call, p.id, "approve");
      await act(call, p.id, "assign", { assigned: "Jordan" });
    },
    method: "POST",
    path: (id) => `/api/parts/${id}/unclaim`,
    succeeded: (res, _c, before) =>
      expectChangedPart(res, before, (p) => assert.equal(p.assigned, null)),
  },
  {
    name: "complete",
    prepare: async (call, p) => void await act(call, p.id, "approve"),
    method: "POST",
    path: (id) => `/api/parts/${id}/complete`,
    succeeded: (res, _c, before) =>
      expectChangedPart(res, before, (p) => assert.equal(p.category, "completed")),
  },
  {
    name: "revert",
    prepare: async (call, p) => {
      await act(call, p.id, "approve");
      await act(call, p.id, "complete");
    },
    method: "POST",
    path: (id) => `/api/parts/${id}/revert`,
    succeeded: (res, _c, before) =>
      expectChangedPart(res, before, (p) => assert.equal(p.category, "cnc")),
  },
];

for (const c of CASES) {
  Deno.test(`If-Match on ${c.name}: stale → 412 with the current part, fresh → success`, async () => {
    using h = await harness();
    const created = await createPart(h.call, { type: "cnc" });
    await c.prepare(h.call, created);
    const loaded = await getPart(h.call, created.id);
    const staleTag = etagOf(loaded);

    // Someone else changes the part (no If-Match: last writer wins).
    const current = await put(h.call, loaded.id, { notes: "changed by someone else" });
    assert.equal(current.version, loaded.version + 1);
    const events = await eventCount(h.database);

    const stale = await h.call(c.method, c.path(loaded.id), {
      body: c.body,
      headers: { "If-Match": staleTag },
    });
    const err = await expectError(stale, 412, "precondition_failed");
    assert.deepEqual(PartSchema.parse(err.part), current, "412 carries the current part");
    assert.equal(stale.headers.get("etag"), etagOf(current), "412 ETag is the current one");
    assert.equal(await eventCount(h.database), events, "no event");
    assert.deepEqual(await getPart(h.call, loaded.id), current, "part unchanged");

    // A weak tag never matches for If-Match, even of the current version.
    const weak = await h.call(c.method, c.path(loaded.id), {
      body: c.body,
      headers: { "If-Match": `W/${etagOf(current)}` },
    });
    assert.deepEqual(
      PartSchema.parse((await expectError(weak, 412, "precondition_failed")).part),
      current,
    );
    assert.equal(await eventCount(h.database), events, "no event");

    // The fresh tag (taken from the 412) passes, even inside a list of tags.
    const fresh = stale.headers.get("etag")!;
    const ok = await h.call(c.method, c.path(loaded.id), {
      body: c.body,
      headers: { "If-Match": `"0.0", ${fresh}` },
    });
    await c.succeeded(ok, h.call, current);
    assert.equal(await eventCount(h.database), events + 1, "one event");
    const [latest] = await history(h.call, loaded.id);
    assert.equal(latest.version, current.version + 1);
  });
}

Deno.test("If-Match: * passes for PUT, DELETE and every workflow action", async () => {
  using h = await harness();
  const star = { "If-Match": "*" };
  const p = await createPart(h.call, { type: "hand" });
  const steps: [string, string, unknown][] = [
    ["PUT", `/api/parts/${p.id}`, { notes: "star" }],
    ["POST", `/api/parts/${p.id}/approve`, {}],
    ["POST", `/api/parts/${p.id}/assign`, { assigned: "Sam" }],
    ["POST", `/api/parts/${p.id}/unclaim`, undefined],
    ["POST", `/api/parts/${p.id}/complete`, undefined],
    ["POST", `/api/parts/${p.id}/revert`, undefined],
  ];
  let version = p.version;
  for (const [method, path, body] of steps) {
    const res = await h.call(method, path, { body, headers: star });
    const part = await expectJson(res, PartSchema);
    assert.equal(part.version, ++version, `${method} ${path}`);
    assert.equal(res.headers.get("etag"), etagOf(part));
  }
  await expectJson(await h.call("DELETE", `/api/parts/${p.id}`, { headers: star }), MessageSchema);
  assert.equal((await history(h.call, p.id))[0].action, "deleted");

  // If-Match on a part that does not exist is a 404, not a 412.
  for (const tag of ["*", `"${p.id}.${version}"`]) {
    const headers = { "If-Match": tag };
    await expectError(await h.call("DELETE", `/api/parts/${p.id}`, { headers }), 404, "not_found");
    await expectError(
      await h.call("PUT", `/api/parts/${p.id}`, { headers, body: { notes: "x" } }),
      404,
      "not_found",
    );
    await expectError(
      await h.call("POST", `/api/parts/${p.id}/approve`, { headers }),
      404,
      "not_found",
    );
  }
});

Deno.test("without If-Match the last writer wins; with it, the second of two editors gets 412", async () => {
  using h = await harness();
  const p = await createPart(h.call);
  const tag = etagOf(p);

  // Two editors loaded the same version.
  const first = await h.call("PUT", `/api/parts/${p.id}`, {
    body: { notes: "first" },
    headers: { "If-Match": tag },
  });
  const afterFirst = await expectJson(first, PartSchema);
  const second = await h.call("PUT", `/api/parts/${p.id}`, {
    body: { notes: "second" },
    headers: { "If-Match": tag },
  });
  const err = await expectError(second, 412, "precondition_failed");
  assert.deepEqual(PartSchema.parse(err.part), afterFirst);
  assert.equal(afterFirst.notes, "first");

  // Without If-Match, stale clients still overwrite.
  const blind = await put(h.call, p.id, { notes: "blind" });
  assert.equal(blind.version, afterFirst.version + 1);
  const blindDelete = await h.call("DELETE", `/api/parts/${p.id}`);
  await expectJson(blindDelete, MessageSchema);
});

Deno.test("an If-Match no-op on the current version is 200 and writes nothing", async () => {
  using h = await harness();
  const p = await createPart(h.call, { type: "cnc" });
  await act(h.call, p.id, "approve");
  const held = await act(h.call, p.id, "assign", { assigned: "Sam" });
  const count = await eventCount(h.database);
  const res = await h.call("POST", `/api/parts/${p.id}/assign`, {
    body: { assigned: "Sam" },
    headers: { "If-Match": etagOf(held) },
  });
  assert.deepEqual(await expectJson(res, PartSchema), held);
  assert.equal(res.headers.get("etag"), etagOf(held));
  assert.equal(await eventCount(h.database), count);
  // ...but a stale tag on a no-op is still a 412: the client's copy is out of date.
  const stale = await h.call("POST", `/api/parts/${p.id}/assign`, {
    body: { assigned: "Sam" },
    headers: { "If-Match": `"${p.id}.1"` },
  });
  assert.deepEqual(
    PartSchema.parse((await expectError(stale, 412, "precondition_failed")).part),
    held,
  );
});
