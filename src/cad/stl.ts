/**
 * STL → GLB without the CAD kernel. Pure; runs in the conversion worker so that a 50 MB file does
 * not hold the server's thread.
 *
 * STL has no unit; like every slicer, this reads it as millimetres (and writes metres). Triangles
 * stay unwelded (flat shading, as the file describes them), one mesh per ASCII `solid`.
 */
import { type Model, type ModelMesh, writeGlb } from "./gltf.ts";
import type { ConversionResult } from "./types.ts";

const MM_TO_M = 0.001;
const HEADER = 80;
const FACET = 50;

/** Thrown by `parseStl` for a file that is not a readable STL. */
export class StlError extends Error {}

/** True when the bytes have a binary STL's exact length (84 + 50 · the count at byte 80). */
export function isBinaryStl(bytes: Uint8Array): boolean {
  if (bytes.length < HEADER + 4) return false;
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(HEADER, true);
  return bytes.length === HEADER + 4 + FACET * count;
}

/** Parses binary or ASCII STL into meshes in metres, with unit normals for every vertex. */
export function parseStl(bytes: Uint8Array): Model {
  // Binary first: many binary files begin their header with "solid" too.
  const meshes = isBinaryStl(bytes) ? [parseBinary(bytes)] : parseAscii(bytes);
  if (meshes.every((m) => m.positions.length === 0)) throw new StlError("The STL has no triangles");
  return { root: { name: "", meshes: meshes.map((_, i) => i), children: [] }, meshes };
}

/** Converts one STL file; a malformed one is bad input. */
export async function convertStl(bytes: Uint8Array): Promise<ConversionResult> {
  const started = performance.now();
  let model: Model;
  try {
    model = parseStl(bytes);
  } catch (err) {
    if (err instanceof StlError) return { ok: false, badInput: true, error: err.message };
    throw err;
  }
  const out = await writeGlb(model);
  return { ok: true, ...out, ms: Math.round(performance.now() - started) };
}

function parseBinary(bytes: Uint8Array): ModelMesh {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = view.getUint32(HEADER, true);
  const positions = new Float32Array(count * 9);
  const normals = new Float32Array(count * 9);
  const facet = new Float64Array(12);
  for (let t = 0; t < count; t++) {
    const at = HEADER + 4 + t * FACET;
    for (let k = 0; k < 12; k++) {
      const value = view.getFloat32(at + k * 4, true);
      if (!Number.isFinite(value)) {
        throw new StlError(`Facet ${t + 1} of the STL has a value that is not a number`);
      }
      facet[k] = value;
    }
    storeFacet(positions, normals, t, facet);
  }
  return { name: binaryName(bytes), positions, normals };
}

/** The header's text when it reads as a name (many writers put one there), else empty. */
function binaryName(bytes: Uint8Array): string {
  // By hand rather than TextDecoder("latin1"), which not every runtime (workerd) has.
  const text = String.fromCharCode(...bytes.subarray(0, HEADER));
  const name = text.replace(/^solid\s*/i, "").replace(/\0.*$/s, "").trim();
  return /^[\x20-\x7e]{1,60}$/.test(name) ? name : "";
}

/** Writes triangle `t`: vertices in metres and its normal (from the file, or computed) thrice. */
function storeFacet(positions: Float32Array, normals: Float32Array, t: number, f: Float64Array) {
  const o = t * 9;
  for (let k = 0; k < 9; k++) positions[o + k] = f[3 + k] * MM_TO_M;
  let nx = f[0], ny = f[1], nz = f[2];
  let length = Math.hypot(nx, ny, nz);
  if (length < 1e-9) {
    // A zero normal means "work it out": the right-hand rule on the vertices' order.
    const ux = f[6] - f[3], uy = f[7] - f[4], uz = f[8] - f[5];
    const vx = f[9] - f[3], vy = f[10] - f[4], vz = f[11] - f[5];
    nx = uy * vz - uz * vy;
    ny = uz * vx - ux * vz;
    nz = ux * vy - uy * vx;
    length = Math.hypot(nx, ny, nz);
  }
  if (length < 1e-30) {
    // A degenerate triangle has no direction; glTF still needs a unit vector.
    nx = 0;
    ny = 0;
    nz = 1;
    length = 1;
  }
  for (let v = 0; v < 3; v++) {
    normals[o + v * 3] = nx / length;
    normals[o + v * 3 + 1] = ny / length;
    normals[o + v * 3 + 2] = nz / length;
  }
}

/** A cursor over the whitespace-separated words of an ASCII STL. */
class Words {
  private at = 0;
  line = 1;
  constructor(private readonly bytes: Uint8Array) {}

  /** The next word, or null at the end. */
  next(): string | null {
    const b = this.bytes;
    while (this.at < b.length && b[this.at] <= 0x20) {
      if (b[this.at] === 0x0a) this.line++;
      this.at++;
    }
    if (this.at >= b.length) return null;
    const start = this.at;
    while (this.at < b.length && b[this.at] > 0x20) this.at++;
    if (this.at - start > 64) throw new StlError(`Line ${this.line} of the STL is not STL`);
    return String.fromCharCode(...b.subarray(start, this.at));
  }

  /** The rest of the current line (a solid's name). */
  restOfLine(): string {
    const b = this.bytes;
    const start = this.at;
    while (this.at < b.length && b[this.at] !== 0x0a && b[this.at] !== 0x0d) this.at++;
    return new TextDecoder().decode(b.subarray(start, this.at)).trim();
  }

  expect(word: string): void {
    const got = this.next();
    if (got?.toLowerCase() !== word) {
      throw new StlError(
        got === null
          ? `The STL ends early (expected "${word}" at line ${this.line})`
          : `Line ${this.line} of the STL has "${got.slice(0, 20)}" where "${word}" belongs`,
      );
    }
  }

  number(): number {
    const word = this.next();
    const value = word === null ? NaN : Number(word);
    if (!Number.isFinite(value)) {
      throw new StlError(
        word === null ? "The STL ends early" : `Line ${this.line} of the STL has no number`,
      );
    }
    return value;
  }
}

function parseAscii(bytes: Uint8Array): ModelMesh[] {
  const words = new Words(bytes);
  const first = words.next();
  if (first?.toLowerCase() !== "solid") {
    throw new StlError('Not an STL file: neither ASCII ("solid …") nor binary (84 + 50·n bytes)');
  }
  const meshes: ModelMesh[] = [];
  let word: string | null = first;
  while (word !== null) {
    if (word.toLowerCase() !== "solid") {
      throw new StlError(`Line ${words.line} of the STL has "${word.slice(0, 20)}" after a solid`);
    }
    meshes.push(parseSolid(words));
    word = words.next();
  }
  return meshes;
}

function parseSolid(words: Words): ModelMesh {
  const name = words.restOfLine();
  let positions = new Float32Array(9 * 64);
  let normals = new Float32Array(9 * 64);
  const facet = new Float64Array(12);
  let count = 0;
  for (;;) {
    const word = words.next()?.toLowerCase();
    if (word === "endsolid") {
      words.restOfLine();
      break;
    }
    if (word !== "facet") {
      throw new StlError(
        word === undefined
          ? "The STL ends early (no endsolid)"
          : `Line ${words.line} of the STL has "${word.slice(0, 20)}" where a facet belongs`,
      );
    }
    words.expect("normal");
    for (let k = 0; k < 3; k++) facet[k] = words.number();
    words.expect("outer");
    words.expect("loop");
    for (let v = 0; v < 3; v++) {
      words.expect("vertex");
      for (let k = 0; k < 3; k++) facet[3 + v * 3 + k] = words.number();
    }
    words.expect("endloop");
    words.expect("endfacet");
    if ((count + 1) * 9 > positions.length) {
      positions = grow(positions);
      normals = grow(normals);
    }
    storeFacet(positions, normals, count, facet);
    count++;
  }
  return {
    name,
    positions: positions.slice(0, count * 9),
    normals: normals.slice(0, count * 9),
  };
}

function grow(array: Float32Array): Float32Array<ArrayBuffer> {
  const bigger = new Float32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
