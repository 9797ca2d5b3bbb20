/** STEP (and STL) → GLB through the real pool and Deno Web Workers running occt-import-js. */
import assert from "node:assert/strict";
import { denoSpawner } from "../../src/cad/deno-worker.ts";
import { createModelConverter } from "../../src/cad/pool.ts";
import type { SpawnWorker } from "../../src/cad/protocol.ts";
import type { ConversionResult, ModelConverter } from "../../src/cad/types.ts";
import {
  asciiStl,
  assertLagBound,
  assertValidGlb,
  boxTriangles,
  headerThenGarbage,
  loadGlb,
  size,
  step,
  WIRE_ONLY_STEP,
  within,
} from "./_support.ts";

const MB = 1024 * 1024;

function ok(result: ConversionResult): Extract<ConversionResult, { ok: true }> {
  assert.ok(result.ok, result.ok ? "" : `conversion failed: ${result.error}`);
  return result;
}

function badInput(result: ConversionResult, pattern: RegExp): void {
  assert.equal(result.ok, false, "the conversion should fail");
  assert.equal(!result.ok && result.badInput, true, "as bad input");
  assert.match(!result.ok ? result.error : "", pattern);
}

async function withPool(
  options: Partial<Parameters<typeof createModelConverter>[0]>,
  body: (pool: ModelConverter) => Promise<void>,
): Promise<void> {
  const pool = createModelConverter({ spawn: denoSpawner(), maxBytes: 50 * MB, ...options });
  try {
    await body(pool);
  } finally {
    await pool.close();
  }
}

/** A spawn that lets the test wait until its n-th worker has loaded the kernel. */
function announcingReady(inner: SpawnWorker) {
  let spawned = 0;
  const ready = new Map<number, () => void>();
  const promises = new Map<number, Promise<void>>();
  const readyOf = (n: number) => {
    if (!promises.has(n)) promises.set(n, new Promise((resolve) => ready.set(n, resolve)));
    return promises.get(n)!;
  };
  const spawn: SpawnWorker = (events) => {
    const n = ++spawned;
    readyOf(n);
    return inner({
      message: (reply) => {
        if (reply.type === "ready") ready.get(n)!();
        events.message(reply);
      },
      failed: events.failed,
    });
  };
  return { spawn, spawned: () => spawned, ready: readyOf };
}

const FIXTURES = [
  {
    file: "cube.stp",
    meshes: 1,
    triangles: [12, 12],
    // 300 mm along each axis in the file.
    size: [0.3, 0.3, 0.3],
    colors: ["ff9900"], // COLOUR_RGB('Orange',1.,0.6,0.)
  },
  {
    file: "rounded-cube.step",
    meshes: 1,
    triangles: [40, 400],
    size: [0.01, 0.01, 0.01],
    colors: ["cccccc"],
  },
  {
    file: "dm1-id-214.stp",
    meshes: 7, // a bracket, three bolts, three nuts
    triangles: [800, 4000],
    size: [0.05, 0.1, 0.087],
    colors: ["ff0000", "ff5400", "ffa800"],
  },
  {
    file: "as1-oc-214.stp",
    meshes: 18, // every part instance of the assembly
    triangles: [2500, 12000],
    size: [0.2, 0.084, 0.15],
    colors: ["0000ff", "00ff00", "ccff00", "ff0000", "ff8000"],
  },
];

Deno.test("STEP files convert in a Deno worker", async (t) => {
  await withPool({}, async (pool) => {
    for (const fixture of FIXTURES) {
      await t.step(fixture.file, async () => {
        const result = ok(await pool.convert("step", step(fixture.file)));
        await assertValidGlb(result.glb);
        assert.equal(result.meshes, fixture.meshes);
        const [low, high] = fixture.triangles;
        assert.ok(result.triangles >= low && result.triangles <= high, `${result.triangles}`);
        const loaded = await loadGlb(result.glb);
        assert.equal(loaded.meshes.length, fixture.meshes);
        assert.equal(loaded.triangles, result.triangles);
        assert.deepEqual(size(loaded.box), fixture.size);
        assert.deepEqual([...loaded.colors].sort(), fixture.colors);
      });
    }

    await t.step(
      "the cube's GLB is +Y up: the file's z = 0…300 mm becomes y = 0…0.3 m",
      async () => {
        const loaded = await loadGlb(ok(await pool.convert("step", step("cube.stp"))).glb);
        assert.ok(Math.abs(loaded.box.min.y) < 1e-6 && Math.abs(loaded.box.max.y - 0.3) < 1e-6);
        // The file's y runs -140…160 mm; +Y up turns it into z = 0.14…-0.16 m.
        assert.ok(
          Math.abs(loaded.box.min.z + 0.16) < 1e-6 && Math.abs(loaded.box.max.z - 0.14) < 1e-6,
        );
      },
    );

    await t.step("an assembly keeps its parts as separate, named nodes", async () => {
      const loaded = await loadGlb(ok(await pool.convert("step", step("as1-oc-214.stp"))).glb);
      const names = new Set(loaded.nodes.map((n) => n.name.replace(/_\d+$/, "")));
      for (const part of ["as1", "rod-assembly", "l-bracket-assembly", "plate", "bolt", "nut"]) {
        assert.ok(names.has(part), part);
      }
      assert.equal(loaded.meshes.filter((m) => m.name.startsWith("nut")).length, 8);
    });

    await t.step("broken STEP files are bad input", async () => {
      badInput(await pool.convert("step", step("broken/truncated.step")), /unexpected end of file/);
      badInput(await pool.convert("step", step("broken/not-a-step.step")), /Not a readable STEP/);
      badInput(await pool.convert("step", new Uint8Array()), /Not a readable STEP/);
    });

    await t.step("a STEP header followed by 3 MB of garbage fails alone", async () => {
      const garbage = pool.convert("step", headerThenGarbage(3));
      const after = pool.convert("step", step("cube.stp"));
      badInput(await garbage, /Not a readable STEP/);
      assert.equal(ok(await after).triangles, 12);
    });

    await t.step("a valid STEP with no solid fails with 'no solid', not an empty GLB", async () => {
      badInput(await pool.convert("step", WIRE_ONLY_STEP), /no solid/);
    });

    await t.step("STL goes through the same worker", async () => {
      const result = ok(await pool.convert("stl", asciiStl("box", boxTriangles(10, 20, 30))));
      await assertValidGlb(result.glb);
      assert.deepEqual(size((await loadGlb(result.glb)).box), [0.01, 0.03, 0.02]);
      badInput(await pool.convert("stl", step("cube.stp")), /Not an STL/);
    });

    await t.step("a file over maxBytes is refused before conversion", async () => {
      const small = createModelConverter({ spawn: denoSpawner(), maxBytes: 1000, warm: false });
      const result = await small.convert("step", step("cube.stp"));
      await small.close();
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.badInput, false);
    });
  });
});

Deno.test("a conversion over the time limit fails alone; the next one works", async () => {
  const watched = announcingReady(denoSpawner());
  // 300 ms: far less than as1-oc-214 takes in a fresh worker, far more than a 12-triangle STL.
  await withPool({ spawn: watched.spawn, timeoutMs: 300 }, async (pool) => {
    const slow = await pool.convert("step", step("as1-oc-214.stp"));
    assert.equal(slow.ok, false);
    assert.equal(!slow.ok && slow.badInput, false);
    assert.match(!slow.ok ? slow.error : "", /longer than 300 ms/);
    assert.equal(watched.spawned(), 2, "a fresh worker replaced the one that ran over");
    await within(watched.ready(2), 20_000, "the replacement worker loading the kernel");
    const next = await pool.convert("stl", asciiStl("box", boxTriangles(1, 1, 1)));
    assert.equal(ok(next).triangles, 12);
  });
});

Deno.test("the worker reports its kernel's memory; the pool replaces it above the mark", async () => {
  const small = announcingReady(denoSpawner());
  // The kernel starts with ~30 MB of WebAssembly memory: over a 1 MiB mark after any STEP file.
  await withPool({ spawn: small.spawn, recycleAboveBytes: MB }, async (pool) => {
    ok(await pool.convert("step", step("cube.stp")));
    assert.equal(small.spawned(), 2);
    ok(await pool.convert("step", step("cube.stp")));
    assert.equal(small.spawned(), 3);
  });
  const roomy = announcingReady(denoSpawner());
  await withPool({ spawn: roomy.spawn }, async (pool) => {
    ok(await pool.convert("step", step("cube.stp")));
    ok(await pool.convert("step", step("cube.stp")));
    assert.equal(roomy.spawned(), 1);
  });
});

Deno.test("with concurrency 2, two workers convert two files at a time", async () => {
  const inner = denoSpawner();
  let spawned = 0;
  let running = 0;
  let most = 0;
  // The real workers, watched: count conversions between request and answer.
  const spawn: SpawnWorker = (events) => {
    spawned++;
    const port = inner({
      message: (reply) => {
        if (reply.type === "done") running--;
        events.message(reply);
      },
      failed: events.failed,
    });
    return {
      post: (request, transfer) => {
        if (request.type === "convert") most = Math.max(most, ++running);
        port.post(request, transfer);
      },
      terminate: () => port.terminate(),
    };
  };
  await withPool({ spawn, concurrency: 2 }, async (pool) => {
    const files = ["dm1-id-214.stp", "as1-oc-214.stp", "cube.stp", "rounded-cube.step"];
    const results = await Promise.all(files.map((f) => pool.convert("step", step(f))));
    assert.deepEqual(results.map((r) => ok(r).meshes), [7, 18, 1, 1]);
  });
  assert.equal(spawned, 2);
  assert.equal(most, 2);
});

Deno.test("the event loop keeps ticking while as1-oc-214 converts", async () => {
  await withPool({}, async (pool) => {
    // Let the worker load the kernel first, so what is measured is the conversion itself.
    ok(await pool.convert("step", step("cube.stp")));
    let last = performance.now();
    let maxLag = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 5);
      last = now;
    }, 5);
    let conversionMs = 0;
    try {
      const started = performance.now();
      ok(await pool.convert("step", step("as1-oc-214.stp")));
      conversionMs = performance.now() - started;
    } finally {
      clearInterval(timer);
    }
    console.log(
      `  as1-oc-214: ${conversionMs.toFixed(0)} ms; largest timer lag ${maxLag.toFixed(1)} ms`,
    );
    assertLagBound(maxLag, conversionMs);
  });
});
