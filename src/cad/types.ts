/** What a model conversion reads: a STEP file (through the CAD kernel) or an STL mesh. */
export type ModelFormat = "step" | "stl";

/** The outcome of converting one file to binary glTF. */
export type ConversionResult =
  | {
    ok: true;
    /** A GLB (binary glTF 2.0) that three.js's GLTFLoader reads. */
    glb: Uint8Array;
    meshes: number;
    triangles: number;
    /** Wall time of the conversion itself, ms. */
    ms: number;
  }
  | {
    ok: false;
    /** Why: the file is broken, has no solid, was too large, or took too long. */
    error: string;
    /** True when the file itself is at fault (a 422), false for a limit or a crash. */
    badInput: boolean;
  };

/** Converts models to GLB, bounded in concurrency, time and size. */
export interface ModelConverter {
  convert(format: ModelFormat, bytes: Uint8Array): Promise<ConversionResult>;
  /** Stops the workers; pending conversions fail. */
  close(): Promise<void>;
}
