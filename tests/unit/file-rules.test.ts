/**
 * File rules, table-driven: what an upload is (by extension and content), which names are safe
 * to keep, and the Content-Disposition that hands them back.
 */
import assert from "node:assert/strict";
import {
  classifyUpload,
  contentDisposition,
  isPng,
  kindOfFilename,
  MAX_FILENAME_BYTES,
  sanitizeFilename,
  SNIFF_BYTES,
  type UploadKind,
} from "../../src/files/rules.ts";

const enc = new TextEncoder();
const bytes = (...parts: (string | number[] | Uint8Array)[]) => {
  const chunks = parts.map((p) =>
    typeof p === "string" ? enc.encode(p) : p instanceof Uint8Array ? p : new Uint8Array(p)
  );
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

/** A binary STL: 80-byte header, triangle count, 50 bytes per triangle (floats full of NULs). */
function binaryStl(triangles: number, header = "binary stl", declared = triangles): Uint8Array {
  const out = new Uint8Array(84 + 50 * triangles);
  out.set(enc.encode(header).subarray(0, 80));
  const view = new DataView(out.buffer);
  view.setUint32(80, declared, true);
  for (let i = 0; i < triangles; i++) {
    const at = 84 + 50 * i;
    view.setFloat32(at + 8, 1, true); // normal 0 0 1
    for (let v = 0; v < 9; v++) view.setFloat32(at + 12 + 4 * v, v * 0.5, true);
  }
  return out;
}

const STEP = "ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('bracket'),'2;1');\nENDSEC;\nDATA;\n";
const PDF = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
const ASCII_STL = "solid bracket\n  facet normal 0 0 1\n    outer loop\n      vertex 0 0 0\n" +
  "      vertex 1 0 0\n      vertex 0 1 0\n    endloop\n  endfacet\nendsolid bracket\n";
const ZIP = bytes([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0], "model.step", new Uint8Array(40));
const EXE = bytes("MZ", [0x90, 0, 3, 0, 0, 0, 4, 0], new Uint8Array(100));
const JPEG = bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0x10], "JFIF", new Uint8Array(40));

function png(width = 16, height = 16): Uint8Array {
  const out = bytes(
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    [0, 0, 0, 13],
    "IHDR",
    new Uint8Array(13),
    [0, 0, 0, 0], // CRC: not checked
    [0, 0, 0, 0],
    "IEND",
    [0xae, 0x42, 0x60, 0x82],
  );
  const view = new DataView(out.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  out[24] = 8; // bit depth
  out[25] = 6; // RGBA
  return out;
}

type Expected = UploadKind | RegExp;

const UPLOADS: [label: string, filename: string, content: Uint8Array, expected: Expected][] = [
  ["STEP", "bracket.step", bytes(STEP), "step"],
  ["STEP, .stp, upper-case extension", "BRACKET.STP", bytes(STEP), "step"],
  [
    "STEP after a UTF-8 BOM and blank lines",
    "b.step",
    bytes([0xef, 0xbb, 0xbf], "\r\n \t", STEP),
    "step",
  ],
  ["PDF", "drawing.pdf", bytes(PDF), "pdf"],
  ["PDF, .PDF", "DRAWING.PDF", bytes(PDF), "pdf"],
  ["ASCII STL", "plate.stl", bytes(ASCII_STL), "stl"],
  ["ASCII STL with CRLF and an empty solid", "e.stl", bytes("solid\r\nendsolid\r\n"), "stl"],
  ["binary STL", "plate.stl", binaryStl(3), "stl"],
  [
    "binary STL whose header starts with solid",
    "plate.STL",
    binaryStl(12, "solid exported"),
    "stl",
  ],
  ["binary STL with no triangles", "empty.stl", binaryStl(0), "stl"],
  ["an executable", "part.exe", EXE, /^Allowed file types: \.step, \.stp, \.stl, \.pdf$/],
  ["no extension", "bracket", bytes(STEP), /^Allowed file types/],
  ["a double extension ending in .exe", "bracket.step.exe", bytes(STEP), /^Allowed file types/],
  ["passwd (after sanitising ../../etc/passwd)", "passwd", bytes("root:x:0:0"), /^Allowed/],
  ["a ZIP named .step", "bracket.step", ZIP, /not look like a STEP file \(it looks like a ZIP/],
  ["a PDF named .step", "bracket.step", bytes(PDF), /STEP file \(it looks like a PDF document\)/],
  ["a STEP named .pdf", "drawing.pdf", bytes(STEP), /PDF file \(it looks like a STEP model\)/],
  ["an executable named .stl", "x.stl", EXE, /an STL file \(it looks like a Windows program\)/],
  [
    "a ZIP named .stl of a binary STL's size",
    "x.stl",
    bytes(ZIP, new Uint8Array(84 - ZIP.length + 50)),
    /ZIP/,
  ],
  [
    "text named .step",
    "notes.step",
    bytes("hello"),
    /STEP file \(it does not start with ISO-10303-21;\)/,
  ],
  ["an empty .pdf", "empty.pdf", new Uint8Array(0), /PDF file \(it does not start with %PDF-\)/],
  ["PDF magic not at the start", "x.pdf", bytes(" %PDF-1.4"), /PDF file/],
  [
    "binary STL of the wrong size",
    "plate.stl",
    binaryStl(3).subarray(0, 84 + 50 * 3 - 7),
    /neither ASCII "solid …" nor binary: 3 triangles would be 234 bytes, the file has 227/,
  ],
  [
    "binary STL claiming more triangles than it has, header starting with solid",
    "plate.stl",
    binaryStl(3, "solid fake", 4),
    /STL file \(neither ASCII/,
  ],
  ["'solid' glued to a word, wrong size", "x.stl", bytes("solidworks export\nfacet"), /STL/],
  ["ASCII STL with a non-facet second line", "x.stl", bytes("solid x\nhello world\n"), /STL/],
  [
    "ASCII STL, name longer than the sniffed bytes",
    "x.stl",
    bytes(`solid ${"n".repeat(700)}\n`),
    "stl",
  ],
  [
    "ASCII STL, sniffed bytes ending inside 'facet'",
    "x.stl",
    bytes(`solid ${"n".repeat(SNIFF_BYTES - 11)}\n  facet normal 0 0 1\n`),
    "stl",
  ],
  ["'solid name' and nothing else", "x.stl", bytes("solid name"), /STL file/],
  ["ASCII STL cut inside 'facet' at its real end", "x.stl", bytes("solid x\nfac"), /STL file/],
  ["a tiny .stl", "x.stl", bytes("sol"), /neither ASCII "solid …" nor binary \(84 \+ 50/],
];

Deno.test("classifyUpload: extension and content must agree", () => {
  for (const [label, filename, content, expected] of UPLOADS) {
    const result = classifyUpload(filename, content.subarray(0, SNIFF_BYTES), content.length);
    if (typeof expected === "string") {
      assert.ok(result.ok, `${label}: ${result.ok ? "" : result.details}`);
      assert.equal(result.kind, expected, label);
      const types = { step: "application/step", stl: "model/stl", pdf: "application/pdf" };
      assert.equal(result.contentType, types[expected], label);
    } else {
      assert.equal(result.ok, false, label);
      if (result.ok) continue;
      assert.equal(result.message, "Invalid file type", label);
      assert.match(result.details, expected, label);
      assert.match(result.details, /Allowed file types: \.step, \.stp, \.stl, \.pdf/, label);
    }
  }
});

Deno.test("classifyUpload: only the head is needed, the size comes separately", () => {
  const big = binaryStl(100, "solid big");
  const result = classifyUpload("big.stl", big.subarray(0, SNIFF_BYTES), big.length);
  assert.ok(result.ok && result.kind === "stl");
  const wrong = classifyUpload("big.stl", big.subarray(0, SNIFF_BYTES), big.length + 1);
  assert.equal(wrong.ok, false);
});

Deno.test("classifyUpload: a narrowed set (drawings: PDF only) names only what it allows", () => {
  const step = classifyUpload("bracket.step", bytes(STEP), STEP.length, ["pdf"]);
  assert.deepEqual(step, {
    ok: false,
    message: "Invalid file type",
    details: "Allowed file types: .pdf",
  });
  const pdf = classifyUpload("d.pdf", bytes(PDF), PDF.length, ["pdf"]);
  assert.ok(pdf.ok && pdf.kind === "pdf");
});

Deno.test("kindOfFilename: by the last extension, case-insensitive", () => {
  const cases: [string, UploadKind | null][] = [
    ["a.step", "step"],
    ["a.StP", "step"],
    ["a.tar.stl", "stl"],
    ["a.pdf", "pdf"],
    ["a.pdf.exe", null],
    ["step", null],
    ["a.", null],
    ["", null],
  ];
  for (const [name, kind] of cases) assert.equal(kindOfFilename(name), kind, name);
});

Deno.test("isPng: signature and IHDR, nothing else passes", () => {
  assert.equal(isPng(png()), true);
  assert.equal(isPng(JPEG), false, "a JPEG");
  assert.equal(isPng(png().subarray(0, 8)), false, "the signature alone");
  assert.equal(isPng(png().subarray(0, 30)), false, "a truncated IHDR");
  assert.equal(isPng(png(0, 16)), false, "zero width");
  assert.equal(isPng(png(16, 0)), false, "zero height");
  const noIhdr = png();
  noIhdr.set(enc.encode("IDAT"), 12);
  assert.equal(isPng(noIhdr), false, "first chunk is not IHDR");
  const badLength = png();
  badLength[11] = 12;
  assert.equal(isPng(badLength), false, "IHDR of the wrong length");
  assert.equal(isPng(bytes(PDF)), false);
  assert.equal(isPng(new Uint8Array(0)), false);
  const offset = bytes(new Uint8Array(7), png()).subarray(7);
  assert.equal(isPng(offset), true, "a view into a larger buffer");
});

const LONG = "a".repeat(300);

const NAMES: [input: string, expected: string | "empty" | "invalid"][] = [
  ["bracket.step", "bracket.step"],
  ["Drive Plate v2.STEP", "Drive Plate v2.STEP"],
  ["../../etc/passwd", "passwd"],
  ["..\\..\\Windows\\System32\\evil.step", "evil.step"],
  ["C:\\Users\\sam\\Desktop\\arm.stp", "arm.stp"],
  ["/var/tmp/../x.pdf", "x.pdf"],
  ["CON", "_CON"],
  ["con.step", "_con.step"],
  ["Aux.tar.gz", "_Aux.tar.gz"],
  ["nul .pdf", "_nul .pdf"],
  ["COM1.stl", "_COM1.stl"],
  ["lpt9.pdf", "_lpt9.pdf"],
  ["COM¹.pdf", "_COM¹.pdf"],
  ["console.step", "console.step"],
  ["COM10.step", "COM10.step"],
  ["a\u0000b.step", "ab.step"],
  ["evil\u202Egpj.step", "evilgpj.step"],
  ["\u200Fx\u2066y\u2069\u200E.pdf", "xy.pdf"],
  ["zero\u200Bwidth\uFEFF.pdf", "zerowidth.pdf"],
  ["c1\u0085\u009F\u007Fdel.step", "c1del.step"],
  ["line\u2028break.pdf", "linebreak.pdf"],
  ["tab\tand\r\nnewline.step", "tabandnewline.step"],
  ["what?.step", "what_.step"],
  ['a<b>c:d"e|f*g.pdf', "a_b_c_d_e_f_g.pdf"],
  ["no\u00A0break\u3000space.pdf", "no break space.pdf"],
  ["e\u0301cole.step", "\u00e9cole.step"],
  ["a\uD800b.step", "a\uFFFDb.step"],
  ["\uDC00.step", "\uFFFD.step"],
  ["🔩 bolt.stl", "🔩 bolt.stl"],
  [" .hidden.step. ", "hidden.step"],
  ["...", "invalid"],
  ["/", "invalid"],
  ["dir/", "invalid"],
  ["\u202E", "invalid"],
  ["\u0000\u0001", "invalid"],
  ["../..", "invalid"],
  ["", "empty"],
  ["   ", "empty"],
];

Deno.test("sanitizeFilename: the last segment, cleaned, never a path", () => {
  for (const [input, expected] of NAMES) {
    const result = sanitizeFilename(input);
    const label = JSON.stringify(input);
    if (expected === "empty" || expected === "invalid") {
      assert.equal(result.ok, false, label);
      if (!result.ok) assert.equal(result.reason, expected, label);
      continue;
    }
    assert.ok(result.ok, label);
    assert.equal(result.name, expected, label);
    assert.ok(!/[\\/]/.test(result.name), `${label} has no separator`);
  }
});

Deno.test("sanitizeFilename: 'No file selected' and 'Invalid file type' are told apart", () => {
  assert.deepEqual(sanitizeFilename(""), {
    ok: false,
    reason: "empty",
    message: "No file selected",
  });
  assert.deepEqual(sanitizeFilename("\u202E.."), {
    ok: false,
    reason: "invalid",
    message: "Invalid file type",
  });
});

Deno.test("sanitizeFilename: ≤ 200 UTF-8 bytes, extension kept, no split characters", () => {
  const strict = new TextDecoder("utf-8", { fatal: true });
  const cases: [string, string][] = [
    [`${LONG}.step`, ".step"],
    [`${"é".repeat(300)}.pdf`, ".pdf"],
    [`${"🔩".repeat(100)}.stl`, ".stl"],
    [`${"漢".repeat(99)}.step`, ".step"],
    [`CON${LONG}.step`, ".step"],
    [`x.${LONG}`, ""],
  ];
  for (const [input, ext] of cases) {
    const result = sanitizeFilename(input);
    assert.ok(result.ok, input.slice(0, 20));
    const encoded = enc.encode(result.name);
    assert.ok(encoded.length <= MAX_FILENAME_BYTES, `${encoded.length} bytes`);
    assert.ok(encoded.length >= MAX_FILENAME_BYTES - 4, "cut only as far as needed");
    assert.equal(strict.decode(encoded), result.name, "valid UTF-8");
    assert.ok(result.name.endsWith(ext), result.name.slice(-10));
  }
  const exact = `${"b".repeat(195)}.step`;
  assert.deepEqual(sanitizeFilename(exact), { ok: true, name: exact }, "200 bytes stay whole");
  const surrogates = sanitizeFilename(`${"🔩".repeat(100)}.stl`);
  assert.ok(surrogates.ok && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(surrogates.name));
});

Deno.test("sanitizeFilename then classifyUpload: ../../etc/passwd is not an upload", () => {
  const name = sanitizeFilename("../../etc/passwd");
  assert.ok(name.ok);
  const result = classifyUpload(name.name, bytes("root:x:0:0:root"), 15);
  assert.equal(result.ok, false);
});

Deno.test("contentDisposition: an ASCII fallback plus the exact name (RFC 6266 / 5987)", () => {
  const cases: [kind: "attachment" | "inline", name: string, header: string][] = [
    [
      "attachment",
      "bracket.step",
      `attachment; filename="bracket.step"; filename*=UTF-8''bracket.step`,
    ],
    ["inline", "drawing.pdf", `inline; filename="drawing.pdf"; filename*=UTF-8''drawing.pdf`],
    [
      "attachment",
      "Überteil (v2).step",
      `attachment; filename="Uberteil (v2).step"; filename*=UTF-8''%C3%9Cberteil%20%28v2%29.step`,
    ],
    [
      "attachment",
      'a"b\\c.pdf',
      `attachment; filename="a_b_c.pdf"; filename*=UTF-8''a%22b%5Cc.pdf`,
    ],
    [
      "attachment",
      "零件.pdf",
      `attachment; filename="__.pdf"; filename*=UTF-8''%E9%9B%B6%E4%BB%B6.pdf`,
    ],
    [
      "attachment",
      "it's*.step",
      `attachment; filename="it's*.step"; filename*=UTF-8''it%27s%2A.step`,
    ],
    ["attachment", "🔩.stl", `attachment; filename="_.stl"; filename*=UTF-8''%F0%9F%94%A9.stl`],
    [
      "attachment",
      "100%;x=1.pdf",
      `attachment; filename="100%;x=1.pdf"; filename*=UTF-8''100%25%3Bx%3D1.pdf`,
    ],
  ];
  for (const [kind, name, header] of cases) {
    assert.equal(contentDisposition(kind, name), header, name);
  }
});

Deno.test("contentDisposition: never a header break or a lone surrogate", () => {
  const header = contentDisposition("attachment", "a\r\nSet-Cookie: x=1\u0000\uD800.pdf");
  assert.match(header, /^attachment; filename="a__Set-Cookie: x=1__\.pdf"; filename\*=UTF-8''/);
  assert.match(header, /%EF%BF%BD\.pdf$/, "the lone surrogate became U+FFFD");
  // Every byte is visible ASCII or a space: safe in any HTTP implementation.
  assert.ok(/^[\x20-\x7e]+$/.test(header));
});
