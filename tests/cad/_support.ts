/** Models and readers shared by the converter's tests. */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { validateBytes } from "gltf-validator";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { Box3, type Mesh, type MeshStandardMaterial, type Object3D, Vector3 } from "three";

export const STEP_DIR = fileURLToPath(new URL("../../../shared/fixtures/step", import.meta.url));

/** A fixture's bytes, e.g. `step("cube.stp")` or `step("broken/truncated.step")`. */
export function step(name: string): Uint8Array {
  return Deno.readFileSync(`${STEP_DIR}/${name}`);
}

const HEADER = `ISO-10303-21;
HEADER;
FILE_DESCRIPTION(('test model'),'2;1');
FILE_NAME('model.step','2024-01-01T00:00:00',(''),(''),'','','');
FILE_SCHEMA(('AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }'));
ENDSEC;
DATA;
`;
const FOOTER = "ENDSEC;\nEND-ISO-10303-21;\n";

/** A valid AP214 file whose only product is a 10 mm line: a wireframe, no solid. */
export const WIRE_ONLY_STEP = new TextEncoder().encode(
  HEADER +
    `#1=APPLICATION_CONTEXT('automotive design');
#2=APPLICATION_PROTOCOL_DEFINITION('international standard','automotive_design',2000,#1);
#3=PRODUCT_CONTEXT('',#1,'mechanical');
#4=PRODUCT('wire','wire','',(#3));
#5=PRODUCT_DEFINITION_FORMATION('','',#4);
#6=PRODUCT_DEFINITION_CONTEXT('part definition',#1,'design');
#7=PRODUCT_DEFINITION('design','',#5,#6);
#8=PRODUCT_DEFINITION_SHAPE('','',#7);
#9=(LENGTH_UNIT()NAMED_UNIT(*)SI_UNIT(.MILLI.,.METRE.));
#10=(NAMED_UNIT(*)PLANE_ANGLE_UNIT()SI_UNIT($,.RADIAN.));
#11=(NAMED_UNIT(*)SI_UNIT($,.STERADIAN.)SOLID_ANGLE_UNIT());
#12=UNCERTAINTY_MEASURE_WITH_UNIT(LENGTH_MEASURE(1.E-07),#9,'distance_accuracy_value','');
#13=(GEOMETRIC_REPRESENTATION_CONTEXT(3)GLOBAL_UNCERTAINTY_ASSIGNED_CONTEXT((#12))` +
    `GLOBAL_UNIT_ASSIGNED_CONTEXT((#9,#10,#11))REPRESENTATION_CONTEXT('',''));
#14=CARTESIAN_POINT('',(0.,0.,0.));
#16=DIRECTION('',(1.,0.,0.));
#17=VECTOR('',#16,1.);
#18=LINE('',#14,#17);
#19=TRIMMED_CURVE('',#18,(PARAMETER_VALUE(0.)),(PARAMETER_VALUE(10.)),.T.,.PARAMETER.);
#20=GEOMETRIC_CURVE_SET('',(#19));
#21=GEOMETRICALLY_BOUNDED_WIREFRAME_SHAPE_REPRESENTATION('',(#20),#13);
#22=SHAPE_DEFINITION_REPRESENTATION(#8,#21);
` + FOOTER,
);

/** A valid STEP header followed by `megabytes` MB of pseudo-random bytes. */
export function headerThenGarbage(megabytes: number): Uint8Array {
  const head = new TextEncoder().encode(HEADER);
  const out = new Uint8Array(head.length + megabytes * 1024 * 1024);
  out.set(head);
  let seed = 12345;
  for (let i = head.length; i < out.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = seed >>> 24;
  }
  return out;
}

/** Runs glTF-Validator, failing the test on any error or warning. */
export async function assertValidGlb(glb: Uint8Array): Promise<void> {
  const report = await validateBytes(glb);
  const errors = report.issues.messages.filter((m: { severity: number }) => m.severity === 0);
  assert.equal(report.issues.numErrors, 0, JSON.stringify(errors.slice(0, 5)));
  assert.equal(report.issues.numWarnings, 0, JSON.stringify(report.issues.messages.slice(0, 5)));
}

/**
 * The main thread's largest timer lag during a conversion must stay under 200 ms. On a loaded
 * machine (other processes on the same two cores) the bound grows to a quarter of the conversion's
 * time: work done on the main thread would delay a timer by about all of it, so either bound fails
 * that.
 */
export function assertLagBound(maxLagMs: number, conversionMs: number): void {
  const bound = Math.max(200, conversionMs / 4);
  assert.ok(maxLagMs < bound, `timer lag ${maxLagMs} ms during a ${conversionMs} ms conversion`);
}

/** `promise`, or a failure naming `what` if it has not settled within `ms` (a test never hangs). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** What three.js's GLTFLoader made of a GLB. */
export interface Loaded {
  /** World-space bounds (metres, +Y up). */
  box: Box3;
  meshes: Mesh[];
  triangles: number;
  /** sRGB hex colours of the materials in use. */
  colors: Set<string>;
  nodes: Object3D[];
}

/** Loads a GLB with three.js, as the frontend does, and measures it. */
export async function loadGlb(glb: Uint8Array): Promise<Loaded> {
  const buffer = new Uint8Array(glb).buffer;
  const gltf = await new GLTFLoader().parseAsync(buffer, "");
  const meshes: Mesh[] = [];
  const nodes: Object3D[] = [];
  gltf.scene.traverse((object: Object3D) => {
    nodes.push(object);
    if ((object as Mesh).isMesh) meshes.push(object as Mesh);
  });
  let triangles = 0;
  const colors = new Set<string>();
  for (const mesh of meshes) {
    const geometry = mesh.geometry;
    assert.ok(geometry.attributes.normal, `mesh ${mesh.name} has normals`);
    triangles += (geometry.index?.count ?? geometry.attributes.position.count) / 3;
    colors.add((mesh.material as MeshStandardMaterial).color.getHexString());
  }
  return { box: new Box3().setFromObject(gltf.scene), meshes, triangles, colors, nodes };
}

/** The size of a box, rounded to 0.1 mm. */
export function size(box: Box3): [number, number, number] {
  const s = box.getSize(new Vector3());
  return [s.x, s.y, s.z].map((v) => Math.round(v * 10_000) / 10_000) as [number, number, number];
}

/** Binary STL of the given triangles (9 numbers each), with the given facet normals or zeros. */
export function binaryStl(triangles: number[][], normals?: number[][], header = ""): Uint8Array {
  const out = new Uint8Array(84 + 50 * triangles.length);
  out.set(new TextEncoder().encode(header).subarray(0, 80));
  const view = new DataView(out.buffer);
  view.setUint32(80, triangles.length, true);
  triangles.forEach((t, i) => {
    const at = 84 + i * 50;
    const n = normals?.[i] ?? [0, 0, 0];
    [...n, ...t].forEach((v, k) => view.setFloat32(at + k * 4, v, true));
  });
  return out;
}

/** ASCII STL of one solid. */
export function asciiStl(name: string, triangles: number[][], normals?: number[][]): Uint8Array {
  const lines = [`solid ${name}`];
  triangles.forEach((t, i) => {
    const n = normals?.[i] ?? [0, 0, 0];
    lines.push(`  facet normal ${n.join(" ")}`, "    outer loop");
    for (let v = 0; v < 3; v++) lines.push(`      vertex ${t.slice(v * 3, v * 3 + 3).join(" ")}`);
    lines.push("    endloop", "  endfacet");
  });
  lines.push(`endsolid ${name}`);
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

/** The 12 triangles of an axis-aligned box from the origin to (x, y, z), wound outward. */
export function boxTriangles(x: number, y: number, z: number): number[][] {
  const p = (i: number) => [(i & 1) * x, ((i >> 1) & 1) * y, ((i >> 2) & 1) * z];
  const quads = [
    [0, 2, 3, 1], // z = 0, facing -z
    [4, 5, 7, 6], // z = z, facing +z
    [0, 1, 5, 4], // y = 0
    [2, 6, 7, 3], // y = y
    [0, 4, 6, 2], // x = 0
    [1, 3, 7, 5], // x = x
  ];
  return quads.flatMap(([a, b, c, d]) => [
    [...p(a), ...p(b), ...p(c)],
    [...p(a), ...p(c), ...p(d)],
  ]);
}
