/**
 * STEP → GLB through occt-import-js (OpenCascade compiled to WebAssembly). The kernel blocks
 * while it reads a file, so this module runs inside the conversion worker, never on the server's
 * thread.
 */
import occtimportjs from "occt-import-js";
import { type Model, type ModelMesh, type ModelNode, type Rgb, writeGlb } from "./gltf.ts";
import type { ConversionResult } from "./types.ts";

/** The part of occt-import-js's result this module reads (see its README). */
export interface OcctResult {
  success: boolean;
  root?: OcctNode;
  meshes?: OcctMesh[];
}

interface OcctNode {
  name: string;
  meshes: number[];
  children: OcctNode[];
}

interface OcctMesh {
  name: string;
  color?: number[];
  brep_faces?: { first: number; last: number; color: number[] | null }[];
  attributes: { position: { array: number[] }; normal?: { array: number[] } };
  index: { array: number[] };
}

interface OcctModule {
  ReadStepFile(content: Uint8Array, params: Record<string, unknown> | null): OcctResult;
  HEAPU8: Uint8Array;
}

/** A loaded CAD kernel; one per worker, reused for every file. */
export interface StepReader {
  /** Converts one STEP file. Throws only when the kernel itself aborts. */
  convert(bytes: Uint8Array): Promise<ConversionResult>;
  /** Bytes of WebAssembly memory the kernel holds (never shrinks). */
  memoryBytes(): number;
}

// Tessellation: occt-import-js's defaults. Unit: the metre, as glTF has it.
const PARAMS = { linearUnit: "meter" };
const MESSAGE_LIMIT = 300;

/** Loads the kernel (the .wasm beside occt-import-js's own script) with its console silenced. */
export async function loadStepReader(): Promise<StepReader> {
  // The kernel prints "**** ERR StepFile : ..." for a bad file; keep the first as the reason.
  let firstError: string | null = null;
  const capture = (line: string) => {
    if (firstError === null && line.includes("ERR")) firstError = line;
  };
  const occt: OcctModule = await occtimportjs({ print: capture, printErr: capture });
  return {
    async convert(bytes) {
      const started = performance.now();
      firstError = null;
      const result = occt.ReadStepFile(bytes, PARAMS);
      if (!result.success || !result.root || !result.meshes) {
        const why = firstError ? `: ${cleanKernelLine(firstError)}` : "";
        return { ok: false, badInput: true, error: `Not a readable STEP file${why}` };
      }
      const model = occtToModel(result as Required<OcctResult>);
      if (!model.meshes.some((m) => (m.indices?.length ?? 0) > 0)) {
        return {
          ok: false,
          badInput: true,
          error: "The STEP file has no solid or surface to show (only points, curves or metadata)",
        };
      }
      const out = await writeGlb(model);
      return { ok: true, ...out, ms: Math.round(performance.now() - started) };
    },
    memoryBytes: () => occt.HEAPU8.buffer.byteLength,
  };
}

/** occt-import-js's meshes and hierarchy as this project's model (typed arrays, metres). */
export function occtToModel(result: Required<OcctResult>): Model {
  const meshes: ModelMesh[] = result.meshes.map((mesh) => ({
    name: mesh.name,
    positions: new Float32Array(mesh.attributes.position.array),
    normals: mesh.attributes.normal ? new Float32Array(mesh.attributes.normal.array) : undefined,
    indices: new Uint32Array(mesh.index.array),
    color: rgb(mesh.color),
    faces: (mesh.brep_faces ?? []).map((f) => ({
      first: f.first,
      last: f.last,
      color: rgb(f.color),
    })),
  }));
  const node = (source: OcctNode): ModelNode => ({
    name: source.name,
    meshes: source.meshes,
    children: source.children.map(node),
  });
  return { root: node(result.root), meshes };
}

function rgb(color: number[] | null | undefined): Rgb | null {
  return color && color.length >= 3 ? [color[0], color[1], color[2]] : null;
}

function cleanKernelLine(line: string): string {
  const text = line.replace(/\*{2,}/g, "").replace(/\bERR\b/, "").replace(/\s+/g, " ").trim();
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text;
}
