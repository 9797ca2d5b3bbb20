/**
 * Shared helpers for the file-route suite (API.md, "Files and previews"): targets that carry
 * their blob store and converter when in-process, raw multipart bodies (so names and boundaries
 * are exactly what a test means), small valid files of every accepted kind made on the spot,
 * and the checks behind "nothing was written".
 */
import { minimalPdf } from "./onshape-stand-in.ts";
import assert from "node:assert/strict";
import { z } from "zod";
import { appMaintenance, createApp } from "../../src/app.ts";
import { denoProcessSpawner } from "../../src/cad/deno-process.ts";
import { createModelConverter } from "../../src/cad/pool.ts";
import type { ModelConverter } from "../../src/cad/types.ts";
import { openLibsql } from "../../src/db/client.ts";
import { CreatedKeySchema } from "../../src/schemas/keys.ts";
import { createMemoryStore } from "../../src/storage/memory.ts";
import type { BlobStore } from "../../src/storage/types.ts";
import { type Call, expectError, expectOk, getPart, type Part } from "../contract/_support.ts";
import { api, BASE_URL, KEY, MIGRATIONS, type Target, testConfig } from "../helpers.ts";

export const FIXTURES = new URL("../../../shared/fixtures/step/", import.meta.url);

/** A STEP model from the shared fixtures (`cube.stp`, `broken/truncated.step`, …). */
export async function fixture(name: string): Promise<Uint8Array> {
  return await Deno.readFile(new URL(name, FIXTURES));
}

const encoder = new TextEncoder();
export const bytes = (text: string): Uint8Array<ArrayBuffer> => encoder.encode(text);

/** SHA-256 of bytes as lowercase hex. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Files of every kind, small and valid (or wrong in exactly one way).

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (the one PNG and ZIP use). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const typed = concat(bytes(type), data);
  return concat(u32be(data.byteLength), typed, u32be(crc32(typed)));
}

/** zlib stream of `data` in stored (uncompressed) deflate blocks. */
function zlibStored(data: Uint8Array): Uint8Array {
  const blocks: Uint8Array[] = [new Uint8Array([0x78, 0x01])];
  for (let at = 0; at === 0 || at < data.byteLength; at += 0xffff) {
    const part = data.subarray(at, at + 0xffff);
    const last = at + 0xffff >= data.byteLength ? 1 : 0;
    const head = new Uint8Array(5);
    const view = new DataView(head.buffer);
    head[0] = last;
    view.setUint16(1, part.byteLength, true);
    view.setUint16(3, ~part.byteLength & 0xffff, true);
    blocks.push(head, part);
  }
  let a = 1, b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  blocks.push(u32be(((b << 16) | a) >>> 0));
  return concat(...blocks);
}

/** A valid RGB PNG of one colour (CRCs and zlib checksum correct). */
export function png(width = 1, height = 1, rgb: [number, number, number] = [200, 30, 30]) {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, no filter, no interlace
  const row = new Uint8Array(1 + width * 3);
  for (let x = 0; x < width; x++) row.set(rgb, 1 + x * 3);
  const raw = new Uint8Array(row.byteLength * height);
  for (let y = 0; y < height; y++) raw.set(row, y * row.byteLength);
  return concat(
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", zlibStored(raw)),
    pngChunk("IEND", new Uint8Array()),
  );
}

/** The eight preview images, each a different colour so their bytes differ. */
export function views(): Uint8Array[] {
  return Array.from({ length: 8 }, (_, i) => png(2, 2, [i * 30, 255 - i * 30, 90]));
}

/** The start of a JFIF file: what a browser's canvas.toBlob("image/jpeg") begins with. */
export function jpeg(): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xe0,
    0x00,
    0x10,
    0x4a,
    0x46,
    0x49,
    0x46,
    0x00,
    0x01,
    0x01,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00,
    0xff,
    0xd9,
  ]);
}

/** A ZIP archive holding one stored file (a STEP file zipped, as people do). */
export function zip(name = "part.step", content = bytes("ISO-10303-21;\nEND-ISO-10303-21;\n")) {
  const fileName = bytes(name);
  const crc = crc32(content);
  const local = new Uint8Array(30);
  const lv = new DataView(local.buffer);
  lv.setUint32(0, 0x04034b50, true);
  lv.setUint16(4, 10, true);
  lv.setUint32(14, crc, true);
  lv.setUint32(18, content.byteLength, true);
  lv.setUint32(22, content.byteLength, true);
  lv.setUint16(26, fileName.byteLength, true);
  const central = new Uint8Array(46);
  const cv = new DataView(central.buffer);
  cv.setUint32(0, 0x02014b50, true);
  cv.setUint16(4, 20, true);
  cv.setUint16(6, 10, true);
  cv.setUint32(16, crc, true);
  cv.setUint32(20, content.byteLength, true);
  cv.setUint32(24, content.byteLength, true);
  cv.setUint16(28, fileName.byteLength, true);
  const centralAt = local.byteLength + fileName.byteLength + content.byteLength;
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, 1, true);
  ev.setUint16(10, 1, true);
  ev.setUint32(12, central.byteLength + fileName.byteLength, true);
  ev.setUint32(16, centralAt, true);
  return concat(local, fileName, content, central, fileName, end);
}

/** A one-page PDF 1.4 with a correct cross-reference table; `text` makes each one unique. */
export function pdf(text = "Drawing"): Uint8Array<ArrayBuffer> {
  return minimalPdf(text) as Uint8Array<ArrayBuffer>;
}

type Vec = [number, number, number];
/** A tetrahedron with 10 mm edges along the axes, outward winding. */
const TETRA: [Vec, Vec, Vec][] = [
  [[0, 0, 0], [0, 10, 0], [10, 0, 0]],
  [[0, 0, 0], [10, 0, 0], [0, 0, 10]],
  [[0, 0, 0], [0, 0, 10], [0, 10, 0]],
  [[10, 0, 0], [0, 10, 0], [0, 0, 10]],
];

/**
 * A binary STL: 80-byte header, triangle count, 50 bytes per triangle (normals left zero, as
 * many exporters do). `header` may start with "solid" to test that the size formula decides.
 */
export function binaryStl(header = "binary STL from the file-route tests", copies = 1) {
  const triangles = Array.from({ length: copies }, () => TETRA).flat();
  const out = new Uint8Array(84 + 50 * triangles.length);
  out.set(bytes(header).subarray(0, 80));
  const view = new DataView(out.buffer);
  view.setUint32(80, triangles.length, true);
  triangles.forEach((tri, i) => {
    const at = 84 + i * 50 + 12;
    tri.forEach((v, j) => v.forEach((c, k) => view.setFloat32(at + j * 12 + k * 4, c, true)));
  });
  return out;
}

/** An ASCII STL of the same tetrahedron. */
export function asciiStl(name = "tetra"): Uint8Array {
  const facets = TETRA.map((tri) =>
    `  facet normal 0 0 0\n    outer loop\n${
      tri.map((v) => `      vertex ${v.join(" ")}\n`).join("")
    }    endloop\n  endfacet\n`
  ).join("");
  return bytes(`solid ${name}\n${facets}endsolid ${name}\n`);
}

/** The parts of a glTF JSON chunk the tests read. */
export interface GltfJson {
  asset?: { version?: string };
  meshes?: { primitives: { attributes: Record<string, number>; indices?: number }[] }[];
  accessors?: {
    bufferView?: number;
    byteOffset?: number;
    count: number;
    type: string;
    componentType: number;
  }[];
  bufferViews?: { byteOffset?: number; byteLength: number; byteStride?: number }[];
  materials?: unknown[];
}

/** Checks a binary glTF 2.0 container (header, JSON and BIN chunks); returns both chunks. */
export function assertGlb(glb: Uint8Array): { json: GltfJson; bin: Uint8Array } {
  assert.ok(glb.byteLength > 20, `a GLB has a header and chunks (${glb.byteLength} bytes)`);
  const view = new DataView(glb.buffer, glb.byteOffset, glb.byteLength);
  assert.equal(new TextDecoder().decode(glb.subarray(0, 4)), "glTF", "GLB magic");
  assert.equal(view.getUint32(4, true), 2, "glTF version 2");
  assert.equal(view.getUint32(8, true), glb.byteLength, "GLB length field = bytes sent");
  const jsonLength = view.getUint32(12, true);
  assert.equal(view.getUint32(16, true), 0x4e4f534a, "first chunk is JSON");
  const json: GltfJson = JSON.parse(new TextDecoder().decode(glb.subarray(20, 20 + jsonLength)));
  assert.equal(json.asset?.version, "2.0");
  assert.ok(Array.isArray(json.meshes) && json.meshes.length > 0, "the GLB has meshes");
  const binAt = 20 + jsonLength;
  assert.ok(binAt + 8 <= glb.byteLength, "a BIN chunk follows");
  assert.equal(view.getUint32(binAt + 4, true), 0x004e4942, "second chunk is BIN");
  const binLength = view.getUint32(binAt, true);
  return { json, bin: glb.subarray(binAt + 8, binAt + 8 + binLength) };
}

/** The float VEC3 values of one accessor (POSITION, NORMAL) of a GLB. */
export function vec3s(glb: { json: GltfJson; bin: Uint8Array }, accessor: number): number[][] {
  const acc = glb.json.accessors![accessor];
  assert.equal(acc.type, "VEC3");
  assert.equal(acc.componentType, 5126, "float components");
  const bv = glb.json.bufferViews![acc.bufferView!];
  const stride = bv.byteStride ?? 12;
  const base = (bv.byteOffset ?? 0) + (acc.byteOffset ?? 0);
  const view = new DataView(glb.bin.buffer, glb.bin.byteOffset, glb.bin.byteLength);
  return Array.from({ length: acc.count }, (_, i) => {
    const at = base + i * stride;
    return [0, 1, 2].map((k) => view.getFloat32(at + k * 4, true));
  });
}

// ---------------------------------------------------------------------------------------------
// Multipart bodies, built byte by byte.

export interface Field {
  name: string;
  /** Present for a file field; sent as written (UTF-8, `"` CR LF escaped as browsers do). */
  filename?: string;
  type?: string;
  data: Uint8Array | string;
  /** Raw parameters after `name="…"; ` instead of `filename="…"` (e.g. an RFC 8187 filename*). */
  disposition?: string;
}

/** A multipart/form-data body and its Content-Type. */
export function multipart(
  fields: Field[],
  boundary = `----files-test-${crypto.randomUUID()}`,
): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const escape = (s: string) => s.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escape(f.name)}"`;
    if (f.filename !== undefined) head += `; filename="${escape(f.filename)}"`;
    if (f.disposition !== undefined) head += `; ${f.disposition}`;
    head += "\r\n";
    if (f.filename !== undefined || f.disposition !== undefined || f.type) {
      head += `Content-Type: ${f.type ?? "application/octet-stream"}\r\n`;
    }
    parts.push(bytes(`${head}\r\n`), typeof f.data === "string" ? bytes(f.data) : f.data);
    parts.push(bytes("\r\n"));
  }
  parts.push(bytes(`--${boundary}--\r\n`));
  return { body: concat(...parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface SendOptions {
  /** The key; the shared test key by default, null for none. */
  key?: string | null;
  headers?: Record<string, string>;
}

/** POSTs a raw body to a path with the key. */
export async function postRaw(
  target: Target,
  path: string,
  body: BodyInit,
  contentType: string,
  options: SendOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": contentType, ...options.headers };
  const key = options.key === undefined ? KEY : options.key;
  if (key !== null) headers["X-API-Key"] = key;
  return await target.fetch(path, { method: "POST", headers, body });
}

/** Sends one file in the multipart field `file` to `/api/parts/{id}/upload` (or `/drawing`). */
export async function upload(
  target: Target,
  id: number | string,
  filename: string,
  data: Uint8Array | string,
  options: SendOptions & { route?: "upload" | "drawing"; field?: string; type?: string } = {},
): Promise<Response> {
  const { body, contentType } = multipart([{
    name: options.field ?? "file",
    filename,
    type: options.type,
    data,
  }]);
  return await postRaw(
    target,
    `/api/parts/${id}/${options.route ?? "upload"}`,
    body,
    contentType,
    options,
  );
}

/** POSTs preview images as `view_<i>` fields (or any fields given). */
export async function postViews(
  target: Target,
  id: number,
  images: Uint8Array[] | Field[],
  options: SendOptions = {},
): Promise<Response> {
  const fields: Field[] = images.map((img, i) =>
    img instanceof Uint8Array
      ? { name: `view_${i}`, filename: "blob", type: "image/png", data: img }
      : img
  );
  const { body, contentType } = multipart(fields);
  return await postRaw(target, `/api/parts/${id}/views`, body, contentType, options);
}

/** GET with the key, any extra headers. */
export async function get(
  target: Target,
  path: string,
  headers: Record<string, string> = {},
  key: string | null = KEY,
): Promise<Response> {
  return await target.fetch(path, {
    headers: { ...(key === null ? {} : { "X-API-Key": key }), ...headers },
  });
}

export async function body(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

// ---------------------------------------------------------------------------------------------
// Response shapes, written from the contract (not imported from the routes).

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SHA = /^[0-9a-f]{64}$/;

export const ConversionSchema = z.object({
  status: z.enum(["queued", "running", "done", "failed"]),
  error: z.string().optional(),
});

export const UploadSchema = z.object({
  message: z.string(),
  filename: z.string(),
  rev: z.number().int().min(1),
  size: z.number().int().min(0),
  sha256: z.string().regex(SHA),
  contentType: z.string(),
  conversion: ConversionSchema.optional(),
});
export type Upload = z.infer<typeof UploadSchema>;

export const RevisionSchema = z.object({
  slot: z.enum(["file", "drawing"]),
  rev: z.number().int().min(1),
  current: z.boolean(),
  filename: z.string(),
  kind: z.enum(["step", "stl", "pdf"]),
  contentType: z.string(),
  size: z.number().int(),
  sha256: z.string().regex(SHA),
  uploadedBy: z.string().min(1),
  source: z.enum(["upload", "onshape"]),
  uploadedAt: z.string().regex(ISO),
  conversion: ConversionSchema.optional(),
});
export type Revision = z.infer<typeof RevisionSchema>;

export const ManifestSchema = z.object({
  files: z.record(
    z.string(),
    z.object({ filename: z.string(), timestamp: z.string().regex(ISO) }).strict(),
  ),
  updated_at: z.string().regex(ISO),
}).strict();
export type Manifest = z.infer<typeof ManifestSchema>;

export const FilesSchema = z.object({
  files: z.array(RevisionSchema),
  views: ManifestSchema.nullable(),
});
export type Files = z.infer<typeof FilesSchema>;

export const ViewsSchema = z.object({ views: ManifestSchema.nullable() }).strict();

/** Asserts a 201 upload answer and that it names no server path. */
export async function expectUpload(res: Response): Promise<Upload> {
  const text = await res.clone().text();
  const answer = await expectOk(res, UploadSchema, 201);
  assert.doesNotMatch(text, /blobs\/|glb\/|\/tmp\/|data\/files|[A-Z]:\\\\/, "never a server path");
  assert.ok(!/[/\\]/.test(answer.filename), `no path in the stored name: ${answer.filename}`);
  return answer;
}

/** Uploads a file that must be accepted; returns the answer. */
export async function uploadOk(
  target: Target,
  id: number,
  filename: string,
  data: Uint8Array | string,
  options: Parameters<typeof upload>[4] = {},
): Promise<Upload> {
  return await expectUpload(await upload(target, id, filename, data, options));
}

export async function listFiles(call: Call, id: number): Promise<Files> {
  return await expectOk(await call("GET", `/api/parts/${id}/files`), FilesSchema);
}

export interface HistoryEvent {
  action: string;
  actor: string;
  changes: Record<string, { from: unknown; to: unknown }> | null;
}

export async function history(call: Call, id: number): Promise<HistoryEvent[]> {
  const res = await call("GET", `/api/parts/${id}/history?limit=500`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { events: HistoryEvent[] }).events;
}

/** Creates an API key with a role and returns the key itself. */
export async function keyWithRole(call: Call, role: "viewer" | "member" | "lead" | "admin") {
  const res = await call("POST", "/api/keys", { name: `Files ${role} ${Date.now()}`, role });
  return CreatedKeySchema.parse(await expectOk(res, z.unknown(), 201)).key;
}

// ---------------------------------------------------------------------------------------------
// Targets with their storage and converter.

export interface FilesTarget extends Target {
  /** The blob store, when the app runs in this process. */
  store: BlobStore | null;
  /** How many conversions the in-process converter was asked for (null when remote). */
  conversions(): number | null;
}

export interface FilesOptions {
  /** Config overrides; any of them makes the target in-process. */
  env?: Record<string, string>;
  /** Give the in-process app a real converter (remote servers have their own). */
  converter?: boolean;
  /** Run in-process even when TEST_BASE_URL is set (the test inspects the store). */
  local?: boolean;
}

export interface FilesCtx {
  target: FilesTarget;
  call: Call;
  t: Deno.TestContext;
  remote: boolean;
}

/** A target for file tests: the server at TEST_BASE_URL, or an app with a memory store. */
export async function filesTarget(
  options: FilesOptions = {},
): Promise<FilesTarget & { dispose(): Promise<void> }> {
  const env = options.env ?? {};
  if (BASE_URL && Object.keys(env).length === 0 && !options.local) {
    return {
      remote: true,
      store: null,
      conversions: () => null,
      fetch: (path, init) => fetch(new URL(path, BASE_URL), init),
      close() {},
      dispose: () => Promise.resolve(),
    };
  }
  const config = testConfig(env);
  const database = await openLibsql({ url: config.databaseUrl, migrationsFolder: MIGRATIONS });
  const store = createMemoryStore();
  let count = 0;
  let inner: ModelConverter | undefined;
  let converter: ModelConverter | undefined;
  if (options.converter) {
    inner = createModelConverter({
      spawn: denoProcessSpawner(),
      maxBytes: config.maxUploadBytes,
      timeoutMs: config.conversionTimeoutMs,
    });
    const pool = inner;
    converter = {
      convert(format, data) {
        count++;
        return pool.convert(format, data);
      },
      close: () => pool.close(),
    };
  }
  const app = createApp({
    config,
    db: database.db,
    blobStore: store,
    converter,
    logError: () => {},
  });
  const dispose = async () => {
    await appMaintenance(app).close();
    await inner?.close();
    database.close();
  };
  return {
    remote: false,
    store,
    conversions: () => count,
    fetch: async (path, init) => await app.request(path, init),
    close() {},
    dispose,
  };
}

/** Registers a test with a fresh files target, always disposed of afterwards. */
export function filesTest(
  name: string,
  fn: (ctx: FilesCtx) => Promise<void>,
  options: FilesOptions & { ignore?: boolean } = {},
): void {
  Deno.test({
    name,
    ignore: options.ignore,
    fn: async (t) => {
      const target = await filesTarget(options);
      try {
        await fn({ target, call: api(target), t, remote: target.remote });
      } finally {
        await target.dispose();
      }
    },
  });
}

/** Every key in the store under a prefix (in-process only). */
export async function storedKeys(store: BlobStore, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys.sort();
}

export interface Snapshot {
  part: Part;
  files: Files;
  events: number;
  blobs: string[] | null;
}

/** Everything an upload could change: the part, its files and views, history, the store. */
export async function snapshot(ctx: FilesCtx, id: number): Promise<Snapshot> {
  return {
    part: await getPart(ctx.call, id),
    files: await listFiles(ctx.call, id),
    events: (await history(ctx.call, id)).length,
    blobs: ctx.target.store ? await storedKeys(ctx.target.store) : null,
  };
}

/** Asserts that a refused request left no trace. */
export async function assertNothingWritten(ctx: FilesCtx, before: Snapshot): Promise<void> {
  const after = await snapshot(ctx, before.part.id);
  assert.deepEqual(after.part, before.part, "the part is unchanged");
  assert.deepEqual(after.files, before.files, "no revision or view was added");
  assert.equal(after.events, before.events, "no history event was written");
  assert.deepEqual(after.blobs, before.blobs, "no blob was stored");
}

/** Asserts a 4xx error envelope for a refused upload and that nothing was written. */
export async function expectRefused(
  ctx: FilesCtx,
  before: Snapshot,
  res: Response,
  status: number,
  code: Parameters<typeof expectError>[2],
  error?: string | RegExp,
): Promise<Awaited<ReturnType<typeof expectError>>> {
  const err = await expectError(res, status, code, { error });
  await assertNothingWritten(ctx, before);
  return err;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * GET /model, waiting while the server answers 503 + Retry-After (the model is being
 * converted, or on Workers the converter process has not delivered it yet), up to `waitMs`.
 */
export async function getModel(
  target: Target,
  id: number,
  headers: Record<string, string> = {},
  waitMs = 90_000,
  query = "",
): Promise<Response> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const res = await get(target, `/api/parts/${id}/model${query}`, headers);
    if (res.status !== 503 || Date.now() >= deadline) return res;
    assert.ok(res.headers.get("retry-after"), "a 503 says when to try again");
    await res.body?.cancel();
    await sleep(500);
  }
}

/** The current revision's conversion, waiting until it has ended (done or failed). */
export async function settledConversion(
  call: Call,
  id: number,
  waitMs = 90_000,
): Promise<Revision> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const current = (await listFiles(call, id)).files.find((f) => f.slot === "file" && f.current);
    assert.ok(current, "the part has a current file");
    const status = current.conversion?.status;
    if (status === "done" || status === "failed" || Date.now() >= deadline) return current;
    await sleep(250);
  }
}
