/** The in-process change signal that wakes live streams. */
import assert from "node:assert/strict";
import { ChangeSignal } from "../../src/live.ts";

async function timed(p: Promise<void>): Promise<number> {
  const start = performance.now();
  await p;
  return performance.now() - start;
}

Deno.test("ChangeSignal: wakes every waiter on notify, else after the timeout", async () => {
  const signal = new ChangeSignal();
  const waits = [signal.wait(5000), signal.wait(5000)];
  signal.notify();
  assert.ok((await timed(Promise.all(waits).then(() => {}))) < 1000);
  assert.ok((await timed(signal.wait(30))) >= 25, "times out when nothing happens");
  // A notify with nobody waiting is not remembered.
  signal.notify();
  assert.ok((await timed(signal.wait(30))) >= 25);
});

Deno.test("ChangeSignal: an abort ends the wait, also one that fired before waiting", async () => {
  const signal = new ChangeSignal();
  const during = new AbortController();
  const waiting = signal.wait(5000, during.signal);
  during.abort();
  assert.ok((await timed(waiting)) < 1000);

  // A client that left while the stream was busy (reading the log, writing) must not keep it
  // alive for another poll interval.
  const before = new AbortController();
  before.abort();
  assert.ok((await timed(signal.wait(5000, before.signal))) < 1000);
});
