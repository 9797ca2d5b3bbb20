/**
 * What a file of a part may be: the allowed types, the content checks behind them, safe file
 * names and the Content-Disposition that carries them back. Pure: no I/O, no runtime globals.
 */

/** The kinds of file a part can carry. */
export type UploadKind = "step" | "stl" | "pdf";

/** Every kind accepted by the part upload route, in the order they are named to users. */
export const UPLOAD_KINDS: readonly UploadKind[] = ["step", "stl", "pdf"];

/** Extensions of 3D models (lower case, with the dot). */
export const MODEL_EXTENSIONS: readonly string[] = [".step", ".stp", ".stl"];
/** Extensions of drawings. */
export const DRAWING_EXTENSIONS: readonly string[] = [".pdf"];
/** Every extension the upload route accepts. */
export const UPLOAD_EXTENSIONS: readonly string[] = [...MODEL_EXTENSIONS, ...DRAWING_EXTENSIONS];

/** The extensions of each kind. */
export const KIND_EXTENSIONS: Readonly<Record<UploadKind, readonly string[]>> = {
  step: [".step", ".stp"],
  stl: [".stl"],
  pdf: [".pdf"],
};

/** MIME types of the files the server stores and serves. */
export const CONTENT_TYPES = {
  step: "application/step",
  stl: "model/stl",
  pdf: "application/pdf",
  glb: "model/gltf-binary",
  png: "image/png",
} as const;

/** How many leading bytes `classifyUpload` needs to decide (callers pass at least this many). */
export const SNIFF_BYTES = 512;

const KIND_LABEL: Record<UploadKind, string> = { step: "STEP", stl: "STL", pdf: "PDF" };

/** The outcome of checking an upload's name and content. */
export type UploadClass =
  | { ok: true; kind: UploadKind; contentType: string }
  | { ok: false; message: string; details: string };

/** The kind an extension stands for, from the file name (case-insensitive); null if none. */
export function kindOfFilename(filename: string): UploadKind | null {
  const dot = filename.lastIndexOf(".");
  if (dot < 0) return null;
  const ext = filename.slice(dot).toLowerCase();
  for (const kind of UPLOAD_KINDS) if (KIND_EXTENSIONS[kind].includes(ext)) return kind;
  return null;
}

/**
 * Decides what an upload is from its name and its first bytes (`head`, at least `SNIFF_BYTES`
 * of them when the file is that long) and total `size`. The extension picks the kind; the
 * content must then match it. `allowed` narrows the kinds (e.g. a drawing upload takes PDF only).
 */
export function classifyUpload(
  filename: string,
  head: Uint8Array,
  size: number,
  allowed: readonly UploadKind[] = UPLOAD_KINDS,
): UploadClass {
  const allowedText = `Allowed file types: ${
    allowed.flatMap((k) => KIND_EXTENSIONS[k]).join(", ")
  }`;
  const kind = kindOfFilename(filename);
  if (kind === null || !allowed.includes(kind)) {
    return { ok: false, message: "Invalid file type", details: allowedText };
  }
  const problem = contentProblem(kind, head, size);
  if (problem !== null) {
    const looks = describeContent(head);
    const article = kind === "stl" ? "an" : "a";
    return {
      ok: false,
      message: "Invalid file type",
      details: `The content does not look like ${article} ${KIND_LABEL[kind]} file (${
        looks ? `it looks like ${looks}` : problem
      }). ${allowedText}`,
    };
  }
  return { ok: true, kind, contentType: CONTENT_TYPES[kind] };
}

/** Why the content is not of `kind`, or null when it is. */
function contentProblem(kind: UploadKind, head: Uint8Array, size: number): string | null {
  switch (kind) {
    case "step":
      return isStep(head) ? null : "it does not start with ISO-10303-21;";
    case "pdf":
      return isPdf(head) ? null : "it does not start with %PDF-";
    case "stl":
      return stlProblem(head, size);
  }
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));
const STEP_MAGIC = ascii("ISO-10303-21;");
const PDF_MAGIC = ascii("%PDF-");
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const GLB_MAGIC = ascii("glTF");
const IHDR = ascii("IHDR");
const SOLID = ascii("solid");
const UTF8_BOM = [0xef, 0xbb, 0xbf];

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** True for a STEP (ISO 10303-21) file: the magic after an optional BOM and whitespace. */
export function isStep(head: Uint8Array): boolean {
  let i = startsWith(head, UTF8_BOM) ? 3 : 0;
  while (i < head.length && isSpace(head[i])) i++;
  return startsWith(head, STEP_MAGIC, i);
}

/** True for bytes that begin like a PDF document. */
export function isPdf(head: Uint8Array): boolean {
  return startsWith(head, PDF_MAGIC);
}

/** True for a PNG: the signature followed by a well-formed IHDR chunk with a non-zero size. */
export function isPng(bytes: Uint8Array): boolean {
  if (bytes.length < 33 || !startsWith(bytes, PNG_MAGIC) || !startsWith(bytes, IHDR, 12)) {
    return false;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(8) === 13 && view.getUint32(16) > 0 && view.getUint32(20) > 0;
}

/** True when a binary STL of this size holds exactly the triangle count in its header. */
function isBinaryStl(head: Uint8Array, size: number): boolean {
  if (size < 84 || head.length < 84) return false;
  const count = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(80, true);
  return 84 + 50 * count === size;
}

/** An ASCII STL: `solid` then a name, text only, and a facet (or the end) on the next line. */
function isAsciiStl(head: Uint8Array, size: number): boolean {
  let i = 0;
  while (i < head.length && isSpace(head[i])) i++;
  if (!startsWith(head, SOLID, i)) return false;
  const after = i + SOLID.length;
  if (after < head.length && !isSpace(head[after])) return false;
  for (const b of head) {
    // Binary STLs carry raw floats, which are full of NULs and other control bytes.
    if ((b < 0x20 && !isSpace(b) && b !== 0x0c && b !== 0x0b) || b === 0x7f) return false;
  }
  const cut = head.length < size;
  const text = new TextDecoder("utf-8", { fatal: false }).decode(head.subarray(after));
  const newline = text.search(/[\r\n]/);
  if (newline < 0) return cut; // a name line running past the sniffed bytes, or nothing after it
  const next = text.slice(newline).trimStart();
  if (/^(facet|endsolid)(\s|$)/.test(next)) return true;
  // The sniffed bytes may end inside the keyword.
  return cut && ["facet", "endsolid"].some((word) => word.startsWith(next));
}

function stlProblem(head: Uint8Array, size: number): string | null {
  // Another format's signature wins even when its size happens to fit the binary formula.
  if (describeContent(head) !== null) return "another format";
  // A binary STL's 80-byte header may itself start with "solid", so the size formula decides first.
  if (isBinaryStl(head, size)) return null;
  if (isAsciiStl(head, size)) return null;
  if (size >= 84 && head.length >= 84) {
    const count = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(80, true);
    return `neither ASCII "solid …" nor binary: ${count} triangles would be ` +
      `${84 + 50 * count} bytes, the file has ${size}`;
  }
  return `neither ASCII "solid …" nor binary (84 + 50 bytes per triangle)`;
}

/** A short name for recognisable content of the wrong kind, for error details. */
function describeContent(head: Uint8Array): string | null {
  if (startsWith(head, ZIP_MAGIC)) return "a ZIP archive";
  if (isPdf(head)) return "a PDF document";
  if (isStep(head)) return "a STEP model";
  if (startsWith(head, PNG_MAGIC)) return "a PNG image";
  if (startsWith(head, JPEG_MAGIC)) return "a JPEG image";
  if (startsWith(head, GLB_MAGIC)) return "a binary glTF model";
  if (startsWith(head, ascii("MZ"))) return "a Windows program";
  if (startsWith(head, [0x7f, 0x45, 0x4c, 0x46])) return "a Linux program";
  return null;
}

/** Why a file name was refused: nothing given, or nothing usable left after cleaning. */
export type FilenameResult =
  | { ok: true; name: string }
  | { ok: false; reason: "empty" | "invalid"; message: string };

/** Longest stored name, in UTF-8 bytes. */
export const MAX_FILENAME_BYTES = 200;

const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;
const encoder = new TextEncoder();
const utf8Length = (text: string) => encoder.encode(text).length;

/** Replaces unpaired UTF-16 surrogates with U+FFFD, so the name encodes to valid UTF-8. */
function wellFormed(text: string): string {
  return text.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
}

/** Cuts `text` to at most `bytes` UTF-8 bytes without splitting a character. */
function truncateUtf8(text: string, bytes: number): string {
  let out = "";
  let used = 0;
  for (const ch of text) {
    const n = utf8Length(ch);
    if (used + n > bytes) break;
    out += ch;
    used += n;
  }
  return out;
}

const trimDotsAndSpaces = (text: string) => text.replace(/^[.\s]+|[.\s]+$/gu, "");

/**
 * Turns a client-supplied file name into a safe display and download name: the last path
 * segment only, no control, bidi or other format characters, no Windows-reserved device names,
 * at most 200 UTF-8 bytes with the extension kept. Never a path.
 */
export function sanitizeFilename(name: string): FilenameResult {
  if (name.trim() === "") return { ok: false, reason: "empty", message: "No file selected" };
  let clean = wellFormed(name).normalize("NFC");
  clean = clean.slice(Math.max(clean.lastIndexOf("/"), clean.lastIndexOf("\\")) + 1);
  // Cc: C0, DEL, C1. Cf: bidi embeddings/overrides/isolates, LRM/RLM, zero-width and BOM.
  // Zl/Zp: line and paragraph separators, which would break a header or a log line.
  clean = clean.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, "");
  // Characters Windows refuses in names; a download must save under the same name everywhere.
  clean = clean.replace(/[<>:"|?*]/g, "_");
  clean = clean.replace(/\s/gu, (c) => (c === " " ? c : " "));
  clean = trimDotsAndSpaces(clean);
  if (clean === "") {
    return { ok: false, reason: "invalid", message: "Invalid file type" };
  }
  const firstDot = clean.indexOf(".");
  const device = (firstDot < 0 ? clean : clean.slice(0, firstDot)).trimEnd();
  if (RESERVED.test(device)) clean = `_${clean}`;
  if (utf8Length(clean) > MAX_FILENAME_BYTES) {
    const dot = clean.lastIndexOf(".");
    const ext = dot > 0 ? clean.slice(dot) : "";
    if (ext !== "" && utf8Length(ext) <= 16) {
      const stem = truncateUtf8(clean.slice(0, dot), MAX_FILENAME_BYTES - utf8Length(ext));
      clean = trimDotsAndSpaces(stem) + ext;
    } else {
      clean = trimDotsAndSpaces(truncateUtf8(clean, MAX_FILENAME_BYTES));
    }
  }
  return { ok: true, name: clean };
}

/** The file name as printable ASCII: accents dropped, everything else (and `"`, `\`) as `_`. */
function asciiFallback(filename: string): string {
  const plain = filename.normalize("NFD").replace(/\p{M}/gu, "");
  let out = "";
  for (const ch of plain) {
    const code = ch.codePointAt(0)!;
    out += code >= 0x20 && code < 0x7f && ch !== '"' && ch !== "\\" ? ch : "_";
  }
  return out;
}

/** RFC 5987 `attr-char` encoding: percent-encode everything but ALPHA / DIGIT / !#$&+-.^_`|~. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(wellFormed(value)).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * A Content-Disposition header value (RFC 6266) naming `filename`: an ASCII `filename=`
 * fallback for old clients plus the exact UTF-8 name in `filename*=`.
 */
export function contentDisposition(kind: "attachment" | "inline", filename: string): string {
  return `${kind}; filename="${asciiFallback(filename)}"; filename*=UTF-8''${
    encodeRfc5987(filename)
  }`;
}
