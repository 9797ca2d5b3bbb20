/**
 * GET /api/parts/{id}/model: STEP and STL converted to binary glTF on the server, once per
 * revision, in the background right after the upload; broken files fail with a 422 and nothing
 * else. In-process the app gets a real converter (Web Workers running occt-import-js); against
 * TEST_BASE_URL the server's own converter (or, on Workers, the converter process) does it.
 */
import assert from "node:assert/strict";
import { createPart, expectError } from "../contract/_support.ts";
import {
  asciiStl,
  assertGlb,
  binaryStl,
  body,
  bytes,
  filesTest,
  fixture,
  get,
  getModel,
  listFiles,
  pdf,
  postViews,
  settledConversion,
  uploadOk,
  vec3s,
  views,
} from "./_files-support.ts";

/** Every normal of the first primitive has unit length (none left zero). */
function assertUnitNormals(glb: ReturnType<typeof assertGlb>) {
  const prim = glb.json.meshes![0].primitives[0];
  assert.ok(prim.attributes.POSITION !== undefined, "positions");
  assert.ok(prim.attributes.NORMAL !== undefined, "normals");
  const positions = vec3s(glb, prim.attributes.POSITION);
  const normals = vec3s(glb, prim.attributes.NORMAL);
  assert.equal(normals.length, positions.length);
  for (const n of normals) {
    assert.ok(Math.abs(Math.hypot(...n) - 1) < 1e-3, `unit normal, got ${n}`);
  }
  return positions;
}

filesTest("STEP → GLB: glTF 2 with meshes and normals, ETag, 304, converted only once", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  const up = await uploadOk(target, part.id, "cube.stp", await fixture("cube.stp"));

  const res = await getModel(target, part.id);
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get("content-type") ?? "", /^model\/gltf-binary\b/);
  const etag = res.headers.get("etag");
  assert.ok(etag && etag.includes(up.sha256), `the ETag names the revision: ${etag}`);
  const glb = await body(res);
  assert.equal(res.headers.get("content-length"), String(glb.byteLength));
  const parsed = assertGlb(glb);
  const positions = assertUnitNormals(parsed);
  // The shared cube is 10 mm on a side; the GLB keeps millimetres unless told otherwise.
  const span = Math.max(...positions.map((p) => p[0])) - Math.min(...positions.map((p) => p[0]));
  assert.ok(span > 0, "the model has extent");

  const current = await settledConversion(call, part.id);
  assert.equal(current.conversion?.status, "done");

  const again = await get(target, `/api/parts/${part.id}/model`);
  assert.equal(again.status, 200);
  assert.equal(again.headers.get("etag"), etag, "the same model, not a new one");
  assert.deepEqual(await body(again), glb);
  const cached = await get(target, `/api/parts/${part.id}/model`, { "If-None-Match": etag });
  assert.equal(cached.status, 304);
  assert.equal((await body(cached)).byteLength, 0);
  assert.equal((await settledConversion(call, part.id)).conversion?.status, "done");
  const converted = target.conversions();
  if (converted !== null) assert.equal(converted, 1, "one conversion for three GETs");
}, { converter: true });

filesTest("the conversion starts right after the upload, before anyone asks for the model", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  await uploadOk(target, part.id, "rounded.step", await fixture("rounded-cube.step"));
  const current = await settledConversion(call, part.id);
  assert.equal(current.conversion?.status, "done", "converted in the background");
  const res = await getModel(target, part.id);
  assert.equal(res.status, 200);
  assertGlb(await body(res));
  const converted = target.conversions();
  if (converted !== null) assert.equal(converted, 1);
}, { converter: true });

filesTest("STL → GLB: binary and ASCII, zero normals computed", async ({ target, call }) => {
  for (const [name, data] of [["gear.stl", binaryStl()], ["tetra.stl", asciiStl()]] as const) {
    const part = await createPart(call, { type: "cnc" });
    await uploadOk(target, part.id, name, data);
    const res = await getModel(target, part.id);
    assert.equal(res.status, 200, `${name}: ${await res.clone().text()}`);
    assert.match(res.headers.get("content-type") ?? "", /^model\/gltf-binary\b/);
    const glb = assertGlb(await body(res));
    const positions = assertUnitNormals(glb);
    const prim = glb.json.meshes![0].primitives[0];
    const triangles = prim.indices === undefined
      ? positions.length / 3
      : glb.json.accessors![prim.indices].count / 3;
    assert.equal(triangles, 4, `${name}: the tetrahedron's four faces`);
    for (const p of positions) {
      for (const c of p) assert.ok(c >= -1e-6 && c <= 10 + 1e-6, `inside the 10 mm box: ${p}`);
    }
  }
}, { converter: true });

filesTest("a truncated STEP: upload 201, model 422 Model conversion failed, state failed", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  const up = await uploadOk(
    target,
    part.id,
    "truncated.step",
    await fixture("broken/truncated.step"),
  );
  assert.equal(up.contentType, "application/step", "it starts like a STEP file, so it is one");

  const res = await getModel(target, part.id);
  const err = await expectError(res, 422, "unprocessable", { error: "Model conversion failed" });
  assert.ok(err.details && err.details.length > 0, "details say why");
  const current = await settledConversion(call, part.id);
  assert.equal(current.conversion?.status, "failed");
  assert.ok(current.conversion?.error, "the listing says why too");

  await expectError(await getModel(target, part.id), 422, "unprocessable");
  const converted = target.conversions();
  if (converted !== null) assert.equal(converted, 1, "a failure is remembered, not retried");

  // The server is fine: the part still answers and a good file still converts.
  const other = await createPart(call, { type: "cnc" });
  await uploadOk(target, other.id, "cube.stp", await fixture("cube.stp"));
  assert.equal((await getModel(target, other.id)).status, 200);
}, { converter: true });

filesTest("a valid STEP without any solid: 422, not an empty GLB", async ({ target, call }) => {
  const part = await createPart(call, { type: "cnc" });
  const empty = bytes([
    "ISO-10303-21;",
    "HEADER;",
    "FILE_DESCRIPTION((''),'2;1');",
    "FILE_NAME('empty','2024-01-01T00:00:00',(''),(''),'','','');",
    "FILE_SCHEMA(('AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }'));",
    "ENDSEC;",
    "DATA;",
    "#1=CARTESIAN_POINT('',(0.,0.,0.));",
    "ENDSEC;",
    "END-ISO-10303-21;",
    "",
  ].join("\n"));
  await uploadOk(target, part.id, "nothing.step", empty);
  const err = await expectError(await getModel(target, part.id), 422, "unprocessable", {
    error: "Model conversion failed",
  });
  assert.ok(err.details);
}, { converter: true });

filesTest("a PDF part has no model: 404", async ({ target, call }) => {
  const part = await createPart(call, { type: "cnc" });
  await uploadOk(target, part.id, "sheet.pdf", pdf("No model"));
  await expectError(await get(target, `/api/parts/${part.id}/model`), 404, "not_found");
  const converted = target.conversions();
  if (converted !== null) assert.equal(converted, 0);
}, { converter: true });

filesTest("a new upload invalidates the model and the views", async ({ target, call }) => {
  const part = await createPart(call, { type: "cnc" });
  await uploadOk(target, part.id, "cube.stp", await fixture("cube.stp"));
  const first = await getModel(target, part.id);
  assert.equal(first.status, 200);
  const firstTag = first.headers.get("etag")!;
  const firstGlb = await body(first);
  assert.equal((await postViews(target, part.id, views())).status, 200);

  await uploadOk(target, part.id, "rounded.step", await fixture("rounded-cube.step"));
  const views_ = await get(target, `/api/parts/${part.id}/views`);
  assert.deepEqual(await views_.json(), { views: null }, "the views showed the old model");
  await expectError(await get(target, `/api/parts/${part.id}/views/0`), 404, "not_found");

  const second = await getModel(target, part.id, { "If-None-Match": firstTag });
  assert.equal(second.status, 200, "the old ETag no longer matches");
  const secondTag = second.headers.get("etag");
  assert.ok(secondTag && secondTag !== firstTag, "a new ETag");
  const secondGlb = await body(second);
  assertGlb(secondGlb);
  assert.notDeepEqual(secondGlb, firstGlb);

  // The old revision keeps its model.
  const old = await getModel(target, part.id, {}, 90_000, "?rev=1");
  assert.equal(old.status, 200);
  assert.equal(old.headers.get("etag"), firstTag);
  assert.deepEqual(await body(old), firstGlb);
}, { converter: true });

filesTest("the same STEP on two parts converts once", async ({ target, call }) => {
  const a = await createPart(call, { type: "cnc" });
  const b = await createPart(call, { type: "cnc" });
  const cube = await fixture("dm1-id-214.stp");
  await uploadOk(target, a.id, "a.stp", cube);
  await uploadOk(target, b.id, "b.stp", cube);
  const [ra, rb] = await Promise.all([getModel(target, a.id), getModel(target, b.id)]);
  assert.equal(ra.status, 200);
  assert.equal(rb.status, 200);
  assert.equal(ra.headers.get("etag"), rb.headers.get("etag"));
  assert.deepEqual(await body(ra), await body(rb));
  const converted = target.conversions();
  if (converted !== null) assert.equal(converted, 1);
}, { converter: true });

filesTest("the assembly (as1-oc-214) converts to a GLB with several meshes", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  await uploadOk(target, part.id, "as1-oc-214.stp", await fixture("as1-oc-214.stp"));
  const res = await getModel(target, part.id);
  assert.equal(res.status, 200, await res.clone().text());
  const glb = assertGlb(await body(res));
  assert.ok(glb.json.meshes!.length > 1, `an assembly of parts: ${glb.json.meshes!.length}`);
}, { converter: true });

filesTest("without a converter here: 503 with Retry-After naming the converter process", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  const up = await uploadOk(target, part.id, "cube.stp", await fixture("cube.stp"));
  assert.equal(up.conversion?.status, "queued");
  const res = await get(target, `/api/parts/${part.id}/model`);
  const err = await expectError(res, 503, "unavailable", { error: /convert/i });
  assert.match(err.error, /converter/, "names what does the converting");
  assert.ok(Number(res.headers.get("retry-after")) > 0);
  assert.equal((await listFiles(call, part.id)).files[0].conversion?.status, "queued");
}, { local: true });
