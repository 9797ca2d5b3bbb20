/** The converter's workers as child Deno processes (deno-process.ts): killed means gone. */
import assert from "node:assert/strict";
import { denoProcessSpawner } from "../../src/cad/deno-process.ts";
import { createModelConverter } from "../../src/cad/pool.ts";
import type { SpawnWorker } from "../../src/cad/protocol.ts";
import { asciiStl, assertValidGlb, boxTriangles, loadGlb, size, step, within } from "./_support.ts";

/** Live (not yet reaped) converter processes that are children of this test. */
function converterChildren(): number {
  let count = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) !== Deno.pid || state === "Z") continue;
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).includes("step-process.ts")) count++;
    } catch {
      // It ended while being looked at.
    }
  }
  return count;
}

/** Waits (up to 10 s, not asserted) until `check` holds; returns whether it did. */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  return check();
}

Deno.test("child-process workers convert, and a timed-out one is killed outright", async () => {
  let spawned = 0;
  let replacementReady = () => {};
  const replacement = new Promise<void>((resolve) => (replacementReady = resolve));
  const inner = denoProcessSpawner();
  const spawn: SpawnWorker = (events) => {
    const n = ++spawned;
    return inner({
      message: (reply) => {
        if (reply.type === "ready" && n === 4) replacementReady();
        events.message(reply);
      },
      failed: events.failed,
    });
  };
  const pool = createModelConverter({ spawn, maxBytes: 50 * 1024 * 1024, recycleAfter: 3 });
  try {
    const cube = await pool.convert("step", step("cube.stp"));
    assert.ok(cube.ok, cube.ok ? "" : cube.error);
    await assertValidGlb(cube.glb);
    assert.deepEqual(size((await loadGlb(cube.glb)).box), [0.3, 0.3, 0.3]);
    const broken = await pool.convert("step", step("broken/truncated.step"));
    assert.equal(!broken.ok && broken.badInput, true);
    const as1 = await pool.convert("step", step("as1-oc-214.stp"));
    assert.equal(as1.ok && as1.meshes, 18);
    // Three conversions: recycled into a fresh process.
    assert.equal(spawned, 2);
    assert.ok(await eventually(() => converterChildren() === 1), "the recycled process is gone");
  } finally {
    await pool.close();
  }
  assert.ok(await eventually(() => converterChildren() === 0), "close() leaves no process");

  const limited = createModelConverter({ spawn, maxBytes: 50 * 1024 * 1024, timeoutMs: 300 });
  try {
    const slow = await limited.convert("step", step("as1-oc-214.stp"));
    assert.equal(slow.ok, false);
    assert.match(!slow.ok ? slow.error : "", /longer than 300 ms/);
    assert.equal(spawned, 4);
    // The runaway process is killed, not left converting beside its replacement.
    assert.ok(await eventually(() => converterChildren() === 1), "only the replacement runs");
    await within(replacement, 20_000, "the replacement process loading the kernel");
    const next = await limited.convert("stl", asciiStl("box", boxTriangles(1, 1, 1)));
    assert.equal(next.ok && next.triangles, 12);
  } finally {
    await limited.close();
  }
  assert.ok(await eventually(() => converterChildren() === 0));
});
