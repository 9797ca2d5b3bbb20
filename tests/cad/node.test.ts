/**
 * The converter on Node 20: the pool and nodeSpawner() in a bundle, the worker script bundled the
 * way `deno task build node` bundles it, occt-import-js as the npm package beside them.
 */
import assert from "node:assert/strict";
import { mkdir, realpath, rm, symlink } from "node:fs/promises";
import * as esbuild from "esbuild";
import { buildStepWorker } from "../../scripts/build.ts";
import { assertLagBound, assertValidGlb, loadGlb, size, STEP_DIR } from "./_support.ts";

const ROOT = new URL("../../", import.meta.url);

interface Report {
  node: string;
  maxLagMs: number;
  conversionMs: number;
  callerBytesIntact: boolean;
  results: {
    name: string;
    ok: boolean;
    meshes?: number;
    triangles?: number;
    badInput?: boolean;
    error?: string;
  }[];
}

Deno.test("the converter runs on Node's worker_threads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cad-node-" });
  try {
    await buildStepWorker(`${dir}/step-worker.mjs`);
    await esbuild.build({
      entryPoints: [new URL("tests/cad/node-driver.ts", ROOT).pathname],
      outfile: `${dir}/driver.mjs`,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "warning",
    });
    await esbuild.stop();
    await mkdir(`${dir}/node_modules`);
    const kernel = await realpath(new URL("node_modules/occt-import-js", ROOT).pathname);
    await symlink(kernel, `${dir}/node_modules/occt-import-js`, "dir");
    await mkdir(`${dir}/out`);

    const run = await new Deno.Command("node", {
      args: [`${dir}/driver.mjs`, STEP_DIR, `${dir}/out`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    const stderr = new TextDecoder().decode(run.stderr);
    assert.ok(run.success, stderr);
    assert.equal(stderr, "", "occt's messages are silenced");
    const report: Report = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.match(report.node, /^2\d\./);
    assert.equal(report.callerBytesIntact, true);
    const by = Object.fromEntries(report.results.map((r) => [r.name, r]));

    assert.deepEqual(by["cube.stp"], { name: "cube.stp", ok: true, meshes: 1, triangles: 12 });
    const cube = await Deno.readFile(`${dir}/out/cube.stp.glb`);
    await assertValidGlb(cube);
    assert.deepEqual(size((await loadGlb(cube)).box), [0.3, 0.3, 0.3]);

    assert.equal(by["as1-oc-214.stp"].meshes, 18);
    await assertValidGlb(await Deno.readFile(`${dir}/out/as1-oc-214.stp.glb`));
    assert.equal(by["as1-again"].meshes, 18);

    assert.equal(by["broken-truncated.step"].ok, false);
    assert.equal(by["broken-truncated.step"].badInput, true);

    assert.equal(by["timed-out"].ok, false);
    assert.equal(by["timed-out"].badInput, false);
    assert.match(by["timed-out"].error!, /longer than 300 ms/);
    assert.deepEqual(by["after-timeout"], {
      name: "after-timeout",
      ok: true,
      meshes: 1,
      triangles: 1,
    });

    console.log(
      `  Node ${report.node}: as1-oc-214 ${report.conversionMs} ms; ` +
        `largest timer lag ${report.maxLagMs} ms`,
    );
    assertLagBound(report.maxLagMs, report.conversionMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
