import assert from "node:assert/strict";
import { convertStl, isBinaryStl, parseStl, StlError } from "../../src/cad/stl.ts";
import { asciiStl, assertValidGlb, binaryStl, boxTriangles, loadGlb, size } from "./_support.ts";

const BOX = boxTriangles(20, 10, 5); // millimetres

async function convertOk(bytes: Uint8Array) {
  const result = await convertStl(bytes);
  assert.ok(result.ok, result.ok ? "" : result.error);
  await assertValidGlb(result.glb);
  return { result, loaded: await loadGlb(result.glb) };
}

Deno.test("a binary STL becomes a GLB in metres, +Y up, with its facet normals", async () => {
  const normals = BOX.map((t) => {
    const [ax, ay, az, bx, by, bz, cx, cy, cz] = t;
    const u = [bx - ax, by - ay, bz - az], v = [cx - ax, cy - ay, cz - az];
    const n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    const l = Math.hypot(...n);
    return n.map((c) => c / l);
  });
  const { result, loaded } = await convertOk(binaryStl(BOX, normals, "solid exported by a CAD"));
  assert.equal(result.ok && result.triangles, 12);
  assert.equal(result.ok && result.meshes, 1);
  assert.equal(loaded.triangles, 12);
  // 20 × 10 × 5 mm, Z up in the file → 0.02 × 0.005 × 0.01 m with Y up.
  assert.deepEqual(size(loaded.box), [0.02, 0.005, 0.01]);
  assert.ok(loaded.box.min.y > -1e-9, "the file's z = 0 is the floor");
});

Deno.test("a binary STL whose header starts with 'solid' is still read as binary", () => {
  const bytes = binaryStl(BOX, undefined, "solid but binary");
  assert.ok(isBinaryStl(bytes));
  const [mesh] = parseStl(bytes).meshes;
  assert.equal(mesh.positions.length, 12 * 9);
  assert.equal(mesh.name, "but binary", "the header's text names the mesh");
});

Deno.test("zero normals are computed from the vertices' winding", () => {
  const model = parseStl(binaryStl(BOX)); // every normal 0 0 0
  const { positions, normals } = model.meshes[0];
  if (!normals) throw new Error("no normals");
  for (let t = 0; t < 12; t++) {
    const n: number[] = Array.from(normals.subarray(t * 9, t * 9 + 3));
    assert.ok(Math.abs(Math.hypot(...n) - 1) < 1e-6, `triangle ${t} has a unit normal`);
    // Outward: the normal points away from the box's centre (10, 5, 2.5 mm).
    const centre = [0.01, 0.005, 0.0025];
    const p: number[] = Array.from(positions.subarray(t * 9, t * 9 + 3));
    const outward = n.reduce(
      (sum: number, c: number, k: number) => sum + c * (p[k] - centre[k]),
      0,
    );
    assert.ok(outward > 0, `triangle ${t}'s normal points outward`);
  }
});

Deno.test("an ASCII STL with several solids becomes one mesh per solid", async () => {
  const one = new TextDecoder().decode(asciiStl("first", BOX));
  const moved = BOX.map((t) => t.map((v, i) => (i % 3 === 0 ? v + 100 : v)));
  const two = new TextDecoder().decode(asciiStl("second part", moved));
  const { result, loaded } = await convertOk(new TextEncoder().encode(one + two));
  assert.equal(result.ok && result.meshes, 2);
  assert.equal(result.ok && result.triangles, 24);
  assert.deepEqual(loaded.meshes.map((m) => m.name).sort(), ["first", "second_part"]);
  assert.deepEqual(size(loaded.box), [0.12, 0.005, 0.01]);
});

Deno.test("ASCII STL numbers in any float notation, keywords in any case", async () => {
  const text = `SOLID x
FACET NORMAL 0 0 -1.0E+00
OUTER LOOP
VERTEX 0 0 0
VERTEX 1e1 0 0
VERTEX 0 1.0e+01 0
ENDLOOP
ENDFACET
ENDSOLID x
`;
  const { loaded } = await convertOk(new TextEncoder().encode(text));
  assert.deepEqual(size(loaded.box), [0.01, 0, 0.01]);
});

Deno.test("malformed STL files are refused as bad input", async () => {
  const good = new TextDecoder().decode(asciiStl("box", BOX));
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["not STL at all", new TextEncoder().encode("hello, this is a text file")],
    ["binary cut short", binaryStl(BOX).subarray(0, 84 + 50 * 5 + 7)],
    ["binary with no triangles", binaryStl([])],
    ["binary with a NaN", binaryStl([[0, 0, 0, 1, 0, 0, NaN, 1, 0]])],
    ["ASCII without endsolid", new TextEncoder().encode(good.replace(/endsolid box\n$/, ""))],
    ["ASCII cut mid-facet", new TextEncoder().encode(good.slice(0, 200))],
    [
      "ASCII with a word for a number",
      new TextEncoder().encode(good.replace("vertex 0", "vertex x")),
    ],
    [
      "ASCII with four vertices",
      new TextEncoder().encode(good.replace("endloop", "vertex 1 2 3\nendloop")),
    ],
    ["ASCII with no facets", new TextEncoder().encode("solid empty\nendsolid empty\n")],
  ];
  for (const [label, bytes] of cases) {
    assert.throws(() => parseStl(bytes), StlError, label);
    const result = await convertStl(bytes);
    assert.equal(result.ok, false, label);
    assert.equal(!result.ok && result.badInput, true, label);
    assert.ok(!result.ok && result.error.length > 0, label);
  }
});
