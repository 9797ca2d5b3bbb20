/**
 * The pool's rules, with scripted in-process workers: each fake worker answers only when the test
 * says so, so queueing, limits and replacement are observed exactly.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createModelConverter } from "../../src/cad/pool.ts";
import type { SpawnWorker, WorkerEvents, WorkerRequest } from "../../src/cad/protocol.ts";
import type { ConversionResult } from "../../src/cad/types.ts";

interface FakeWorker {
  n: number;
  events: WorkerEvents;
  requests: WorkerRequest[];
  terminated: boolean;
  /** Answers the worker's oldest unanswered conversion. */
  finish(memoryBytes?: number, broken?: boolean): void;
}

function fakes() {
  const workers: FakeWorker[] = [];
  let converting = 0;
  let maxConverting = 0;
  const order: number[] = [];
  const spawn: SpawnWorker = (events) => {
    const pending: Extract<WorkerRequest, { type: "convert" }>[] = [];
    const worker: FakeWorker = {
      n: workers.length,
      events,
      requests: [],
      terminated: false,
      finish(memoryBytes = 1000, broken = false) {
        const request = pending.shift();
        if (!request) throw new Error("nothing to finish");
        converting--;
        const result: ConversionResult = {
          ok: true,
          glb: request.bytes,
          meshes: 1,
          triangles: 1,
          ms: 1,
        };
        events.message({ type: "done", id: request.id, result, memoryBytes, broken });
      },
    };
    workers.push(worker);
    return {
      post(sent, transfer) {
        assert.ok(!worker.terminated, "no message to a terminated worker");
        // As postMessage does: the listed buffers move to the worker.
        const request = structuredClone(sent, { transfer });
        worker.requests.push(request);
        if (request.type === "convert") {
          pending.push(request);
          order.push(request.bytes[0]);
          converting++;
          maxConverting = Math.max(maxConverting, converting);
        }
      },
      terminate() {
        if (!worker.terminated) converting -= pending.length;
        worker.terminated = true;
      },
    };
  };
  return {
    spawn,
    workers,
    order,
    get maxConverting() {
      return maxConverting;
    },
    /** Workers with a conversion in progress. */
    busy: () =>
      workers.filter((w) => !w.terminated && w.requests.some((r) => r.type === "convert")),
  };
}

const file = (n: number) => new Uint8Array([n, 1, 2, 3]);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("warm workers start at once and get the kernel loaded", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, concurrency: 2, maxBytes: 100 });
  assert.equal(f.workers.length, 2);
  for (const w of f.workers) assert.deepEqual(w.requests, [{ type: "warm" }]);
  await pool.close();
  assert.ok(f.workers.every((w) => w.terminated));
});

Deno.test("without warm-up a worker starts only when a file arrives", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 100, warm: false });
  assert.equal(f.workers.length, 0);
  const done = pool.convert("stl", file(1));
  assert.equal(f.workers.length, 1);
  assert.equal(f.workers[0].requests[0].type, "convert");
  f.workers[0].finish();
  assert.equal((await done).ok, true);
  await pool.close();
});

Deno.test("no more than `concurrency` conversions run; the rest wait in order", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, concurrency: 2, maxBytes: 100 });
  const results = [1, 2, 3, 4, 5].map((n) => pool.convert("step", file(n)));
  assert.equal(f.maxConverting, 2);
  assert.deepEqual(f.order, [1, 2]);
  f.workers[1].finish();
  assert.deepEqual(f.order, [1, 2, 3]);
  f.workers[1].finish();
  f.workers[0].finish();
  assert.deepEqual(f.order, [1, 2, 3, 4, 5]);
  f.workers[0].finish();
  f.workers[1].finish();
  assert.equal(f.maxConverting, 2);
  const out = await Promise.all(results);
  assert.deepEqual(out.map((r) => r.ok && r.glb[0]), [1, 2, 3, 4, 5]);
  assert.equal(f.workers.length, 2, "the same two workers did all the work");
  await pool.close();
});

Deno.test("a worker gets its own copy of the file; the caller's bytes stay whole", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 100 });
  const whole = new Uint8Array([9, 9, 7, 1, 2, 3, 9]);
  const view = whole.subarray(2, 6); // a view into a larger buffer
  const buffer = Buffer.from([8, 1, 2, 3]); // on Node, Buffer#slice() is a view, not a copy
  for (const mine of [view, buffer]) {
    const done = pool.convert("step", mine);
    const sent = f.workers[0].requests.at(-1) as Extract<WorkerRequest, { type: "convert" }>;
    assert.deepEqual([...sent.bytes], [...mine]);
    f.workers[0].finish();
    await done;
  }
  assert.deepEqual([...whole], [9, 9, 7, 1, 2, 3, 9]);
  assert.deepEqual([...buffer], [8, 1, 2, 3]);
  await pool.close();
});

Deno.test("a file over maxBytes is refused before any worker sees it", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 3 });
  const result = await pool.convert("step", file(1));
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.badInput, false);
  assert.match(!result.ok ? result.error : "", /larger than/);
  assert.deepEqual(f.workers[0].requests, [{ type: "warm" }]);
  await pool.close();
});

Deno.test("a timeout fails that conversion only, ends its worker and starts a fresh one", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 100, timeoutMs: 30 });
  const slow = pool.convert("step", file(1));
  const next = pool.convert("step", file(2));
  const result = await slow;
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.badInput, false);
  assert.match(!result.ok ? result.error : "", /longer than 30 ms/);
  assert.ok(f.workers[0].terminated);
  assert.equal(f.workers.length, 2);
  assert.deepEqual(f.workers[1].requests.map((r) => r.type), ["warm", "convert"]);
  // A late answer from the ended worker changes nothing.
  f.workers[0].finish();
  f.workers[1].finish();
  const second = await next;
  assert.equal(second.ok && second.glb[0], 2);
  await pool.close();
});

Deno.test("a crash fails only the conversion in flight", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 100 });
  f.workers[0].events.message({ type: "ready", ms: 5 });
  const crashed = pool.convert("step", file(1));
  const next = pool.convert("step", file(2));
  f.workers[0].events.failed("out of memory");
  const result = await crashed;
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.badInput, false);
  assert.match(!result.ok ? result.error : "", /crashed: out of memory/);
  assert.equal(f.workers.length, 2);
  f.workers[1].finish();
  assert.equal((await next).ok, true);
  await pool.close();
});

Deno.test("a worker that cannot start is not restarted in a loop", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 100 });
  f.workers[0].events.failed("script not found");
  await tick();
  assert.equal(f.workers.length, 1, "no eager restart after a failed start");
  const later = pool.convert("step", file(1));
  assert.equal(f.workers.length, 2, "the next file starts a new worker");
  f.workers[1].finish();
  assert.equal((await later).ok, true);
  await pool.close();
});

Deno.test("a runtime that cannot start workers fails each conversion, not the server", async () => {
  let tries = 0;
  const pool = createModelConverter({
    spawn: () => {
      tries++;
      throw new Error("Worker is not defined");
    },
    maxBytes: 100,
  });
  const results = await Promise.all([pool.convert("step", file(1)), pool.convert("stl", file(2))]);
  for (const result of results) {
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.badInput, false);
    assert.match(!result.ok ? result.error : "", /could not start a worker: Worker is not defined/);
  }
  assert.equal(tries, 3, "one try at start, one per file");
  await pool.close();
});

Deno.test("a worker is replaced after recycleAfter conversions", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 100, recycleAfter: 2 });
  for (let n = 1; n <= 5; n++) {
    const done = pool.convert("stl", file(n));
    f.workers.at(-1)!.finish();
    assert.equal((await done).ok, true);
  }
  assert.equal(f.workers.length, 3);
  assert.deepEqual(f.workers.map((w) => w.terminated), [true, true, false]);
  await pool.close();
});

Deno.test("a worker is replaced once its kernel's memory passes the mark, or it broke", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 100, recycleAboveBytes: 5000 });
  let done = pool.convert("step", file(1));
  f.workers[0].finish(4000);
  await done;
  assert.equal(f.workers.length, 1);
  done = pool.convert("step", file(2));
  f.workers[0].finish(6000);
  await done;
  assert.ok(f.workers[0].terminated);
  assert.equal(f.workers.length, 2);
  done = pool.convert("step", file(3));
  f.workers[1].finish(10, true);
  await done;
  assert.ok(f.workers[1].terminated);
  await pool.close();
});

Deno.test("close fails what is running and waiting, and refuses more", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 100 });
  const running = pool.convert("step", file(1));
  const waiting = pool.convert("step", file(2));
  await pool.close();
  for (const result of [await running, await waiting, await pool.convert("step", file(3))]) {
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.badInput, false);
  }
  assert.ok(f.workers[0].terminated);
});

Deno.test("the waiting line is bounded", async () => {
  const f = fakes();
  const pool = createModelConverter({ spawn: f.spawn, maxBytes: 100, maxQueued: 2 });
  const accepted = [1, 2, 3].map((n) => pool.convert("step", file(n))); // 1 runs, 2 and 3 wait
  const refused = await pool.convert("step", file(4));
  assert.match(!refused.ok ? refused.error : "", /busy/);
  for (let i = 0; i < 3; i++) f.workers[0].finish();
  assert.ok((await Promise.all(accepted)).every((r) => r.ok));
  await pool.close();
});
