/**
 * Writes a triangle model as binary glTF with @gltf-transform/core. Pure (no I/O), shared by the
 * STEP and STL paths.
 *
 * Conventions of every GLB this project writes: positions in metres (glTF's unit), +Y up (CAD and
 * STL files are +Z up, so the scene's one root node turns the model -90° about X; the vertex data
 * keeps the file's own axes), colours as linear RGB in the metallic-roughness material of each
 * primitive, and one primitive per distinct colour within a mesh.
 */
import { Document, type Material, type Node, WebIO } from "@gltf-transform/core";

/** Linear RGB, each 0–1. */
export type Rgb = readonly [number, number, number];

/** A run of triangles (inclusive indices into the mesh's triangles) sharing one colour. */
export interface FaceRun {
  first: number;
  last: number;
  color: Rgb | null;
}

/** One mesh of a model, in metres. */
export interface ModelMesh {
  name: string;
  /** x, y, z per vertex. */
  positions: Float32Array<ArrayBuffer>;
  /** x, y, z per vertex; computed from the triangles when absent; `writeGlb` normalises them. */
  normals?: Float32Array<ArrayBuffer>;
  /** Three vertex indices per triangle; absent: every three vertices form a triangle. */
  indices?: Uint32Array<ArrayBuffer>;
  /** The mesh's colour; triangles outside a coloured run take it. */
  color?: Rgb | null;
  /** Coloured runs of triangles (a CAD face each); needs `indices`. */
  faces?: readonly FaceRun[];
}

/** A node of the model's hierarchy, naming the meshes it holds. */
export interface ModelNode {
  name: string;
  meshes: readonly number[];
  children: readonly ModelNode[];
}

/** What `writeGlb` reads. */
export interface Model {
  root: ModelNode;
  meshes: readonly ModelMesh[];
}

/** What `writeGlb` wrote. */
export interface GlbOutput {
  glb: Uint8Array;
  meshes: number;
  triangles: number;
}

/** Used when neither the face nor the mesh names a colour: a light grey (sRGB 0.8). */
export const DEFAULT_COLOR: Rgb = [0.6038, 0.6038, 0.6038];

// -90° about X: (x, y, z) → (x, z, -y), so a file's +Z up becomes glTF's +Y up.
const Z_UP_TO_Y_UP: [number, number, number, number] = [-Math.SQRT1_2, 0, 0, Math.SQRT1_2];

/** A GLB of the model; meshes without triangles are left out. */
export async function writeGlb(model: Model, name = "model"): Promise<GlbOutput> {
  const doc = new Document();
  const buffer = doc.createBuffer();
  const materials = new Map<string, Material>();
  const material = (color: Rgb): Material => {
    const key = color.map((c) => clamp01(c).toFixed(4)).join(",");
    let found = materials.get(key);
    if (!found) {
      found = doc.createMaterial(`color ${key}`)
        .setBaseColorFactor([clamp01(color[0]), clamp01(color[1]), clamp01(color[2]), 1])
        .setMetallicFactor(0)
        .setRoughnessFactor(0.6)
        // Sheet bodies and open shells are seen from both sides.
        .setDoubleSided(true);
      materials.set(key, found);
    }
    return found;
  };
  const accessor = (
    type: "VEC3" | "SCALAR",
    array: Float32Array<ArrayBuffer> | Uint16Array<ArrayBuffer> | Uint32Array<ArrayBuffer>,
  ) => doc.createAccessor().setType(type).setArray(array).setBuffer(buffer);

  let meshCount = 0;
  let triangleCount = 0;
  const meshes = model.meshes.map((mesh) => {
    const triangles = (mesh.indices?.length ?? mesh.positions.length / 3) / 3;
    if (triangles < 1) return null;
    meshCount++;
    triangleCount += triangles;
    const normals = unitNormals(mesh);
    const position = accessor("VEC3", mesh.positions);
    const normal = accessor("VEC3", normals);
    const out = doc.createMesh(mesh.name);
    const fallback = mesh.color ?? DEFAULT_COLOR;
    for (const group of colorGroups(mesh, triangles, fallback)) {
      const primitive = doc.createPrimitive()
        .setAttribute("POSITION", position)
        .setAttribute("NORMAL", normal)
        .setMaterial(material(group.color));
      if (group.indices) {
        const small = mesh.positions.length / 3 <= 0xffff;
        primitive.setIndices(
          accessor("SCALAR", small ? Uint16Array.from(group.indices) : group.indices),
        );
      }
      out.addPrimitive(primitive);
    }
    return out;
  });

  const toNode = (source: ModelNode): Node => {
    const node = doc.createNode(source.name);
    const held = source.meshes.map((i) => meshes[i]).filter((m) => m != null);
    if (held.length === 1 && source.children.length === 0) {
      node.setMesh(held[0]);
    } else {
      for (const mesh of held) node.addChild(doc.createNode(mesh.getName()).setMesh(mesh));
    }
    for (const child of source.children) node.addChild(toNode(child));
    return node;
  };
  doc.createScene(name).addChild(toNode(model.root).setRotation(Z_UP_TO_Y_UP));
  doc.getRoot().setDefaultScene(doc.getRoot().listScenes()[0]);

  const glb = await new WebIO().writeBinary(doc);
  return { glb, meshes: meshCount, triangles: triangleCount };
}

interface ColorGroup {
  color: Rgb;
  /** Absent: the whole non-indexed mesh. */
  indices?: Uint32Array<ArrayBuffer>;
}

function colorGroups(mesh: ModelMesh, triangles: number, fallback: Rgb): ColorGroup[] {
  const indices = mesh.indices;
  if (!indices) return [{ color: fallback }];
  const colors: Rgb[] = [fallback];
  const keys = new Map<string, number>([[fallback.join(","), 0]]);
  const group = new Uint32Array(triangles);
  for (const face of mesh.faces ?? []) {
    if (!face.color) continue;
    const key = face.color.join(",");
    let id = keys.get(key);
    if (id === undefined) {
      id = colors.push(face.color) - 1;
      keys.set(key, id);
    }
    group.fill(id, Math.max(0, face.first), Math.min(triangles, face.last + 1));
  }
  if (colors.length === 1) return [{ color: fallback, indices }];
  const counts = new Uint32Array(colors.length);
  for (const id of group) counts[id]++;
  const out = colors.map((color, id) => ({ color, indices: new Uint32Array(counts[id] * 3) }));
  const filled = new Uint32Array(colors.length);
  for (let t = 0; t < triangles; t++) {
    const id = group[t];
    out[id].indices.set(indices.subarray(t * 3, t * 3 + 3), filled[id]);
    filled[id] += 3;
  }
  return out.filter((g) => g.indices.length > 0);
}

/**
 * Unit normals per vertex: the mesh's own, normalised in place (a 50 MB STL's would be 36 MB to
 * copy), else area-weighted from its triangles.
 */
function unitNormals(mesh: ModelMesh): Float32Array<ArrayBuffer> {
  const p = mesh.positions;
  let n: Float32Array<ArrayBuffer>;
  if (mesh.normals && mesh.normals.length === p.length) {
    n = mesh.normals;
  } else {
    n = new Float32Array(p.length);
    const count = (mesh.indices?.length ?? p.length / 3) / 3;
    for (let t = 0; t < count; t++) {
      const a = (mesh.indices ? mesh.indices[t * 3] : t * 3) * 3;
      const b = (mesh.indices ? mesh.indices[t * 3 + 1] : t * 3 + 1) * 3;
      const c = (mesh.indices ? mesh.indices[t * 3 + 2] : t * 3 + 2) * 3;
      const ux = p[b] - p[a], uy = p[b + 1] - p[a + 1], uz = p[b + 2] - p[a + 2];
      const vx = p[c] - p[a], vy = p[c + 1] - p[a + 1], vz = p[c + 2] - p[a + 2];
      const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
      for (const v of [a, b, c]) {
        n[v] += nx;
        n[v + 1] += ny;
        n[v + 2] += nz;
      }
    }
  }
  for (let i = 0; i < n.length; i += 3) {
    const length = Math.hypot(n[i], n[i + 1], n[i + 2]);
    if (length > 1e-12 && Number.isFinite(length)) {
      n[i] /= length;
      n[i + 1] /= length;
      n[i + 2] /= length;
    } else {
      // glTF requires unit normals; a degenerate triangle or an unused vertex has none of its own.
      n[i] = 0;
      n[i + 1] = 0;
      n[i + 2] = 1;
    }
  }
  return n;
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
