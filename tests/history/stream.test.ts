/**
 * The live activity stream over a real socket: events in order with `id:` = event id,
 * heartbeats while idle, resumption from Last-Event-ID with nothing missed or repeated, events
 * from another server instance on the same database, and the same auth as the rest of the API.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ActivitySchema } from "../../src/schemas/events.ts";
import { ErrorSchema, MessageSchema } from "../../src/schemas/common.ts";
import { PartSchema } from "../../src/schemas/parts.ts";
import {
  act,
  createKey,
  createPart,
  expectError,
  expectJson,
  harness,
  KEY,
  type PartEvent,
  put,
  SHARED,
} from "./_support.ts";
import { serve, SseClient } from "./_sse.ts";

const LIVE = { pollMs: 50, heartbeatMs: 200 };

/** Sends a request over the socket with the shared key. */
async function http(base: string, method: string, path: string, body?: unknown) {
  return await fetch(`${base}${path}`, {
    method,
    headers: {
      "X-API-Key": KEY,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The events after `after`, oldest first, as the activity feed reports them. */
async function logAfter(
  call: Awaited<ReturnType<typeof harness>>["call"],
  after: number,
): Promise<PartEvent[]> {
  const res = await call("GET", `/api/activity?after=${after}&order=asc&limit=500`);
  return (await expectJson(res, ActivitySchema)).events;
}

Deno.test("stream: live events in order, heartbeats, resume after a disconnect", async () => {
  using h = await harness({ live: LIVE });
  const server = serve(h.app.fetch);
  const streams: SseClient[] = [];
  try {
    const p = await createPart(h.call, {
      partId: "3322-EL-007",
      name: "Elevator gusset",
      type: "cnc",
    });
    await act(h.call, p.id, "approve");
    const before = (await logAfter(h.call, 0)).at(-1)!.id;

    const first = await SseClient.open(server.base, { key: KEY });
    streams.push(first);
    assert.equal(first.response.headers.get("x-accel-buffering"), "no");
    // The greeting says where the stream starts: after the newest event, no backlog.
    const hello = await first.next(2000);
    assert.ok(hello);
    assert.equal(hello.retry, 2000);
    assert.deepEqual(hello.comments, [`connected, sending events after ${before}`]);

    // A claim over the socket arrives as one event whose id is the event id.
    const claim = await http(server.base, "POST", `/api/parts/${p.id}/assign`, {
      assigned: "Alex",
    });
    const claimed = await expectJson(claim, PartSchema);
    const [assigned] = await first.events(1);
    assert.equal(assigned.action, "assigned");
    assert.equal(assigned.part, p.id);
    assert.equal(assigned.partId, "3322-EL-007");
    assert.equal(assigned.actor, SHARED);
    assert.equal(assigned.version, claimed.version);
    assert.deepEqual(assigned.changes?.assigned, { from: null, to: "Alex" });
    assert.deepEqual(await logAfter(h.call, before), [assigned]);

    // More changes, in-process and over the socket: all arrive, in order.
    await put(h.call, p.id, { notes: "Chamfer the top edge" });
    await expectJson(await http(server.base, "POST", `/api/parts/${p.id}/unclaim`), PartSchema);
    await act(h.call, p.id, "complete");
    const more = await first.events(3);
    assert.deepEqual(more.map((e) => e.action), ["updated", "unclaimed", "completed"]);
    assert.deepEqual([assigned, ...more], await logAfter(h.call, before));

    // Idle: a heartbeat comment, no events.
    assert.equal(await first.comment(/^ping$/, 2000), "ping");
    assert.ok(first.raw.includes("\n: ping\n\n"), "heartbeats are SSE comments");
    await first.quiet(150);

    // Leave; changes made meanwhile are waiting in the log.
    const lastSeen = more.at(-1)!.id;
    await first.close();
    await act(h.call, p.id, "revert");
    await put(h.call, p.id, { amount: 5 });
    const other = await createPart(h.call, { partId: "3322-EL-008" });
    await expectJson(await http(server.base, "DELETE", `/api/parts/${p.id}`), MessageSchema);
    const missed = await logAfter(h.call, lastSeen);
    assert.equal(missed.length, 4);

    const second = await SseClient.open(server.base, { key: KEY, lastEventId: String(lastSeen) });
    streams.push(second);
    assert.deepEqual((await second.next(2000))?.comments, [
      `connected, sending events after ${lastSeen}`,
    ]);
    assert.deepEqual(await second.events(4), missed, "exactly the missed events, in order");
    await second.quiet(300); // nothing repeated
    // And it is live again.
    await put(h.call, other.id, { notes: "after the resume" });
    const [live] = await second.events(1);
    assert.deepEqual([live], await logAfter(h.call, missed.at(-1)!.id));
    await second.quiet(150);
    await second.close();

    // Last-Event-ID: 0 replays the whole log; it takes precedence over ?after.
    const all = await logAfter(h.call, 0);
    const replay = await SseClient.open(server.base, {
      key: KEY,
      lastEventId: "0",
      query: `?after=${all.at(-1)!.id}`,
    });
    streams.push(replay);
    assert.deepEqual(await replay.events(all.length), all);
    await replay.quiet(150);
    await replay.close();

    // Clients that cannot set headers resume with ?after.
    const byQuery = await SseClient.open(server.base, {
      key: KEY,
      query: `?after=${all.at(-3)!.id}`,
    });
    streams.push(byQuery);
    assert.deepEqual(await byQuery.events(2), all.slice(-2));
    await byQuery.quiet(150);
  } finally {
    for (const s of streams) await s.close();
    await server.shutdown();
  }
});

Deno.test("stream: local changes wake it at once; it ends as soon as the client leaves", async () => {
  // Polling and heartbeats far beyond the test's time: only the change signal and the
  // client's disconnect can move the stream.
  using h = await harness({ live: { pollMs: 60_000, heartbeatMs: 60_000 } });
  const server = serve(h.app.fetch);
  let stream: SseClient | undefined;
  try {
    stream = await SseClient.open(server.base, { key: KEY });
    await stream.next(2000); // greeting
    const started = performance.now();
    const p = await createPart(h.call, { partId: "3322-DT-050" });
    const [created] = await stream.events(1, 1000);
    assert.equal(created.part, p.id);
    assert.ok(performance.now() - started < 1000, "woken by the change, not by polling");
    await stream.close();
    stream = undefined;
    // The handler's loop must end without waiting out its 60 s poll.
    await server.shutdown(1500);
  } finally {
    await stream?.close();
    await server.shutdown();
  }
});

Deno.test("stream: a backlog longer than one page arrives whole, in order", async () => {
  using h = await harness({ live: LIVE });
  const server = serve(h.app.fetch);
  let stream: SseClient | undefined;
  try {
    const p = await createPart(h.call, { type: "cnc" });
    const start = (await logAfter(h.call, 0)).at(-1)!.id;
    for (let i = 2; i <= 451; i++) await put(h.call, p.id, { amount: i });
    stream = await SseClient.open(server.base, { key: KEY, lastEventId: String(start) });
    await stream.next(2000); // greeting
    const received = await stream.events(450);
    assert.deepEqual(received.map((e) => e.version), Array.from({ length: 450 }, (_, i) => i + 2));
    const ids = received.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(new Set(ids).size, 450, "no duplicates");
    assert.ok(ids[0] > start);
    await stream.quiet(150);
  } finally {
    await stream?.close();
    await server.shutdown();
  }
});

Deno.test("stream: several clients at once each get every event", async () => {
  using h = await harness({ live: LIVE });
  const server = serve(h.app.fetch);
  const viewer = await createKey(h.call, "Shop screen", "viewer");
  const streams: SseClient[] = [];
  try {
    for (const key of [KEY, viewer, viewer]) {
      const s = await SseClient.open(server.base, { key });
      streams.push(s);
      await s.next(2000); // greeting
    }
    // A burst of changes.
    const parts = [];
    for (let i = 0; i < 5; i++) parts.push(await createPart(h.call, { type: "hand" }));
    for (const p of parts) await act(h.call, p.id, "approve");
    const log = await logAfter(h.call, 0);
    assert.equal(log.length, 10);
    for (const s of streams) {
      assert.deepEqual(await s.events(10), log);
      await s.quiet(100);
    }
  } finally {
    for (const s of streams) await s.close();
    await server.shutdown();
  }
});

Deno.test("stream: events written by another instance on the same database arrive", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parts-history-" });
  const url = `file:${join(dir, "parts.db")}`;
  const a = await harness({ url, live: LIVE });
  const b = await harness({ url });
  const server = serve(a.app.fetch);
  let stream: SseClient | undefined;
  try {
    stream = await SseClient.open(server.base, { key: KEY });
    assert.deepEqual((await stream.next(2000))?.comments, ["connected, sending events after 0"]);

    // Written by instance B: A's stream only learns of it from the log.
    const p = await createPart(b.call, { partId: "3322-SH-031", type: "hand" });
    await act(b.call, p.id, "approve");
    await act(b.call, p.id, "assign", { assigned: "Priya" });
    const fromB = await stream.events(3);
    assert.deepEqual(fromB.map((e) => e.action), ["created", "approved", "assigned"]);
    assert.deepEqual(fromB, await logAfter(b.call, 0));
    assert.deepEqual(fromB, await logAfter(a.call, 0), "both instances see one log");

    // Interleaved writers: still one ordered log.
    await act(a.call, p.id, "complete");
    await act(b.call, p.id, "revert");
    await put(a.call, p.id, { notes: "from A" });
    const mixed = await stream.events(3);
    assert.deepEqual(mixed.map((e) => e.action), ["completed", "reverted", "updated"]);
    assert.deepEqual([...fromB, ...mixed], await logAfter(a.call, 0));
    await stream.quiet(200);
  } finally {
    await stream?.close();
    await server.shutdown();
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stream: same auth as the API; a bad Last-Event-ID is a 400", async () => {
  using h = await harness({ live: LIVE });
  const server = serve(h.app.fetch);
  try {
    const path = `${server.base}/api/activity/stream`;
    const none = await fetch(path, { headers: { Accept: "text/event-stream" } });
    const err = await expectError(none, 401, "unauthorized");
    assert.equal(err.error, "API key required");
    await expectError(
      await fetch(path, { headers: { "X-API-Key": "wrong" } }),
      401,
      "unauthorized",
    );

    for (const bad of ["abc", "-1", "1.5", "1e3", "12345678901234567890"]) {
      const res = await fetch(path, { headers: { "X-API-Key": KEY, "Last-Event-ID": bad } });
      const body = await expectJson(res, ErrorSchema, 400);
      assert.equal(body.code, "validation_failed");
      assert.equal(body.field, "last-event-id", bad);
    }
    const badQuery = await fetch(`${path}?after=soon`, { headers: { "X-API-Key": KEY } });
    assert.equal((await expectJson(badQuery, ErrorSchema, 400)).field, "after");

    // A Bearer token and a viewer key are enough.
    const viewer = await createKey(h.call, "Screen", "viewer");
    const res = await fetch(path, {
      headers: { Authorization: `Bearer ${viewer}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    await res.body?.cancel();
  } finally {
    await server.shutdown();
  }
});
