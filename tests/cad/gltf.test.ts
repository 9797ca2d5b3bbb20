import assert from "node:assert/strict";
import { DEFAULT_COLOR, type ModelMesh, writeGlb } from "../../src/cad/gltf.ts";
import { assertValidGlb, loadGlb } from "./_support.ts";

// Two quads side by side (4 triangles), in metres, z = 0, without normals.
const QUADS: ModelMesh = {
  name: "plate",
  positions: new Float32Array([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0, 2, 1, 0]),
  indices: new Uint32Array([0, 1, 2, 0, 2, 3, 1, 4, 5, 1, 5, 2]),
};

Deno.test("each colour of a mesh's faces becomes a primitive with its own material", async () => {
  const mesh: ModelMesh = {
    ...QUADS,
    color: [0, 0, 1],
    faces: [
      { first: 0, last: 0, color: [1, 0, 0] },
      { first: 1, last: 1, color: null }, // takes the mesh's blue
      { first: 2, last: 3, color: [0, 1, 0] },
    ],
  };
  const out = await writeGlb({ root: { name: "", meshes: [0], children: [] }, meshes: [mesh] });
  assert.equal(out.meshes, 1);
  assert.equal(out.triangles, 4);
  await assertValidGlb(out.glb);
  const loaded = await loadGlb(out.glb);
  // three.js makes one Mesh per primitive.
  assert.equal(loaded.meshes.length, 3);
  assert.deepEqual([...loaded.colors].sort(), ["0000ff", "00ff00", "ff0000"]);
  const triangles = new Map(
    loaded.meshes.map((m) => [
      (m.material as { color: { getHexString(): string } }).color.getHexString(),
      m.geometry.index!.count / 3,
    ]),
  );
  assert.deepEqual(Object.fromEntries(triangles), { ff0000: 1, "0000ff": 1, "00ff00": 2 });
});

Deno.test("a mesh without normals gets unit normals from its triangles; no colour → grey", async () => {
  const out = await writeGlb({ root: { name: "", meshes: [0], children: [] }, meshes: [QUADS] });
  await assertValidGlb(out.glb);
  const loaded = await loadGlb(out.glb);
  assert.equal(loaded.meshes.length, 1);
  const normal = loaded.meshes[0].geometry.attributes.normal;
  for (let i = 0; i < normal.count; i++) {
    // The file's +Z is the GLB's +Y (a -90° turn about X on the root node), but vertex data keeps
    // the file's axes.
    assert.deepEqual([normal.getX(i), normal.getY(i), normal.getZ(i)], [0, 0, 1]);
  }
  assert.deepEqual(DEFAULT_COLOR, [0.6038, 0.6038, 0.6038]); // linear for sRGB 0.8
  assert.deepEqual([...loaded.colors], ["cccccc"]);
  // The plate lies in the file's z = 0 plane, so in the GLB it is flat in y.
  assert.ok(Math.abs(loaded.box.max.y - loaded.box.min.y) < 1e-9);
  assert.ok(Math.abs(loaded.box.max.z - loaded.box.min.z - 1) < 1e-6);
});

Deno.test("meshes without triangles are left out; the hierarchy keeps its names", async () => {
  const empty: ModelMesh = {
    name: "nothing",
    positions: new Float32Array(),
    indices: new Uint32Array(),
  };
  const out = await writeGlb({
    root: {
      name: "assembly",
      meshes: [],
      children: [
        { name: "left", meshes: [0, 1], children: [] },
        { name: "right", meshes: [2], children: [] },
      ],
    },
    meshes: [QUADS, empty, { ...QUADS, name: "other" }],
  });
  assert.equal(out.meshes, 2);
  await assertValidGlb(out.glb);
  const loaded = await loadGlb(out.glb);
  const names = loaded.nodes.map((n) => n.name);
  for (const name of ["assembly", "left", "right"]) assert.ok(names.includes(name), name);
  assert.ok(!names.includes("nothing"));
  // A node left with one mesh holds it itself.
  assert.deepEqual(loaded.meshes.map((m) => m.name).sort(), ["left", "right"]);
});
