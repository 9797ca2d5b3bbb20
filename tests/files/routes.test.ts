/**
 * The file routes as the frontend uses them (API.md, "Files and previews"): uploads of every
 * kind and their answers, revisions, downloads with validators and ranges, and what deleting a
 * part does to its files. Runs in-process and against TEST_BASE_URL.
 */
import assert from "node:assert/strict";
import { createPart, expectError, getPart } from "../contract/_support.ts";
import {
  asciiStl,
  binaryStl,
  body,
  expectUpload,
  filesTest,
  fixture,
  get,
  history,
  listFiles,
  multipart,
  pdf,
  postRaw,
  postViews,
  sha256Hex,
  storedKeys,
  uploadOk,
  views,
} from "./_files-support.ts";

filesTest("upload STEP: 201 with name, revision, size, real SHA-256, type and conversion", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  const cube = await fixture("cube.stp");
  const answer = await uploadOk(target, part.id, "cube.stp", cube);
  assert.equal(answer.message, "File uploaded successfully");
  assert.equal(answer.filename, "cube.stp");
  assert.equal(answer.rev, 1);
  assert.equal(answer.size, cube.byteLength);
  assert.equal(answer.sha256, await sha256Hex(cube));
  assert.equal(answer.contentType, "application/step");
  assert.ok(answer.conversion, "a STEP upload reports its conversion");
  assert.ok(["queued", "running", "done"].includes(answer.conversion.status));

  const after = await getPart(call, part.id);
  assert.equal(after.file, "cube.stp", "the part's file is the uploaded name");
  assert.ok(after.version > part.version, "an upload is a change of the part");

  const events = await history(call, part.id);
  const uploaded = events.filter((e) => e.action === "file_uploaded");
  assert.equal(uploaded.length, 1, "one file_uploaded event");
  assert.equal(uploaded[0].changes?.file?.to, "cube.stp");
  assert.equal(uploaded[0].changes?.size?.to, cube.byteLength);
  assert.equal(uploaded[0].changes?.sha256?.to, answer.sha256);
  assert.equal(events[0].action, "file_uploaded", "it is the newest event");

  const { files } = await listFiles(call, part.id);
  assert.equal(files.length, 1);
  assert.equal(files[0].uploadedBy, uploaded[0].actor, "the revision names who uploaded it");
});

filesTest("upload .stp and an upper-case extension: accepted, type from the content", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  const rounded = await fixture("rounded-cube.step");
  const a = await uploadOk(target, part.id, "ROUNDED-CUBE.STEP", rounded);
  assert.equal(a.filename, "ROUNDED-CUBE.STEP");
  assert.equal(a.contentType, "application/step");
  const b = await uploadOk(target, part.id, "Assembly.Stp", await fixture("dm1-id-214.stp"));
  assert.equal(b.contentType, "application/step");
  assert.equal(b.rev, 2);
});

filesTest("upload STL, binary and ASCII: model/stl with a conversion", async ({ target, call }) => {
  const part = await createPart(call, { type: "cnc" });
  const bin = binaryStl();
  const a = await uploadOk(target, part.id, "gear.stl", bin);
  assert.equal(a.contentType, "model/stl");
  assert.equal(a.size, 84 + 50 * 4);
  assert.equal(a.sha256, await sha256Hex(bin));
  assert.ok(a.conversion);

  // A binary STL whose 80-byte header happens to start with "solid" is still binary.
  const tricky = binaryStl("solid exported by a CAD tool", 2);
  const b = await uploadOk(target, part.id, "bracket.STL", tricky);
  assert.equal(b.contentType, "model/stl");
  assert.equal(b.size, 84 + 50 * 8);

  const text = asciiStl();
  const c = await uploadOk(target, part.id, "tetra.stl", text);
  assert.equal(c.contentType, "model/stl");
  assert.equal(c.sha256, await sha256Hex(text));
  assert.ok(c.conversion);
  assert.equal((await getPart(call, part.id)).file, "tetra.stl");
});

filesTest("upload PDF: application/pdf, no conversion", async ({ target, call }) => {
  const part = await createPart(call, { type: "cnc" });
  const doc = pdf("Plate drawing");
  const answer = await uploadOk(target, part.id, "plate.pdf", doc);
  assert.equal(answer.contentType, "application/pdf");
  assert.equal(answer.size, doc.byteLength);
  assert.equal(answer.sha256, await sha256Hex(doc));
  assert.equal(answer.conversion, undefined, "a PDF is not converted");
  assert.equal((await getPart(call, part.id)).file, "plate.pdf");
  const { files } = await listFiles(call, part.id);
  assert.equal(files[0].kind, "pdf");
  assert.equal(files[0].conversion, undefined);
});

filesTest("revisions: a second upload is rev 2, both listed, ?rev=1 serves the old bytes", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  const first = await fixture("cube.stp");
  const second = await fixture("rounded-cube.step");
  const a = await uploadOk(target, part.id, "cube.stp", first);
  const b = await uploadOk(target, part.id, "rounded.step", second);
  assert.deepEqual([a.rev, b.rev], [1, 2]);
  assert.equal((await getPart(call, part.id)).file, "rounded.step");

  const { files } = await listFiles(call, part.id);
  const fileRevs = files.filter((f) => f.slot === "file");
  assert.deepEqual(fileRevs.map((f) => [f.rev, f.current, f.filename]), [
    [2, true, "rounded.step"],
    [1, false, "cube.stp"],
  ]);
  assert.deepEqual(fileRevs.map((f) => [f.size, f.sha256]), [
    [second.byteLength, b.sha256],
    [first.byteLength, a.sha256],
  ]);
  for (const f of fileRevs) {
    assert.equal(f.kind, "step");
    assert.equal(f.source, "upload");
    assert.ok(Date.parse(f.uploadedAt) >= Date.parse(part.createdAt));
  }

  assert.deepEqual(await body(await get(target, `/api/parts/${part.id}/download`)), second);
  const old = await get(target, `/api/parts/${part.id}/download?rev=1`);
  assert.equal(old.status, 200);
  assert.equal(old.headers.get("etag"), `"${a.sha256}"`);
  assert.match(old.headers.get("content-disposition") ?? "", /cube\.stp/);
  assert.deepEqual(await body(old), first);
  assert.deepEqual(await body(await get(target, `/api/parts/${part.id}/file?rev=2`)), second);

  await expectError(await get(target, `/api/parts/${part.id}/download?rev=3`), 404, "not_found");
  await expectError(
    await get(target, `/api/parts/${part.id}/download?rev=abc`),
    400,
    "validation_failed",
  );
  await expectError(
    await get(target, `/api/parts/${part.id}/file?rev=0`),
    400,
    "validation_failed",
  );

  const events = (await history(call, part.id)).filter((e) => e.action === "file_uploaded");
  assert.equal(events.length, 2);
  assert.deepEqual(events[0].changes?.file, { from: "cube.stp", to: "rounded.step" });
  assert.deepEqual(events[0].changes?.sha256, { from: a.sha256, to: b.sha256 });
});

filesTest("20 concurrent uploads to one part all land as revisions 1..20, none lost", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  const docs = Array.from({ length: 20 }, (_, i) => pdf(`Revision candidate ${i} ${part.partId}`));
  const shas = await Promise.all(docs.map(sha256Hex));
  const answers = await Promise.all(
    docs.map((doc, i) => uploadOk(target, part.id, `drawing-${i}.pdf`, doc)),
  );
  assert.deepEqual(
    answers.map((a) => a.rev).sort((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i + 1),
    "each upload got its own revision number",
  );
  answers.forEach((a, i) => assert.equal(a.sha256, shas[i]));

  const { files } = await listFiles(call, part.id);
  assert.equal(files.length, 20);
  assert.deepEqual(files.map((f) => f.rev), Array.from({ length: 20 }, (_, i) => 20 - i));
  assert.deepEqual(files.map((f) => f.sha256).sort(), [...shas].sort(), "each file exactly once");
  assert.deepEqual(files.filter((f) => f.current).map((f) => f.rev), [20]);
  const byRev = new Map(answers.map((a) => [a.rev, a]));
  for (const f of files) {
    assert.equal(f.sha256, byRev.get(f.rev)!.sha256, `rev ${f.rev} is the upload answered so`);
    assert.equal(f.filename, byRev.get(f.rev)!.filename);
  }
  assert.equal((await getPart(call, part.id)).file, byRev.get(20)!.filename);

  for (const rev of [1, 7, 20]) {
    const res = await get(target, `/api/parts/${part.id}/download?rev=${rev}`);
    assert.equal(await sha256Hex(await body(res)), byRev.get(rev)!.sha256);
  }
  const events = (await history(call, part.id)).filter((e) => e.action === "file_uploaded");
  assert.equal(events.length, 20, "every upload is in the history");
});

filesTest("download: same bytes, attachment with filename*, MIME, ETag, 304, ranges, 416", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  const cube = await fixture("cube.stp");
  const name = "Lagerbock Größe 2 ✓.step";
  const up = await uploadOk(target, part.id, name, cube);
  assert.equal(up.filename, name, "a non-ASCII name is kept as sent");
  const path = `/api/parts/${part.id}/download`;

  const res = await get(target, path);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/step\b/);
  assert.equal(res.headers.get("etag"), `"${up.sha256}"`);
  assert.equal(res.headers.get("content-length"), String(cube.byteLength));
  const cd = res.headers.get("content-disposition") ?? "";
  const m = /^attachment;\s*filename="?([^";]*)"?;\s*filename\*=UTF-8''(\S+)$/i.exec(cd);
  assert.ok(m, `attachment with filename and filename*: ${cd}`);
  assert.match(m[1], /^[\x20-\x7e]+\.step$/, "the plain filename= is printable ASCII");
  assert.equal(decodeURIComponent(m[2]), name, "filename*= carries the exact name");
  assert.deepEqual(await body(res), cube);

  const inline = await get(target, `/api/parts/${part.id}/file`);
  assert.equal(inline.status, 200);
  assert.match(inline.headers.get("content-disposition") ?? "", /^inline;/);
  assert.equal(inline.headers.get("etag"), `"${up.sha256}"`);
  assert.deepEqual(await body(inline), cube);

  for (const tag of [`"${up.sha256}"`, `W/"${up.sha256}"`, `"nope", "${up.sha256}"`, "*"]) {
    const cached = await get(target, path, { "If-None-Match": tag });
    assert.equal(cached.status, 304, `If-None-Match: ${tag}`);
    assert.equal(cached.headers.get("etag"), `"${up.sha256}"`);
    assert.equal((await body(cached)).byteLength, 0);
  }
  const stale = await get(target, path, { "If-None-Match": '"0000"' });
  assert.equal(stale.status, 200);
  await stale.body?.cancel();

  const head = await get(target, path, { Range: "bytes=0-9" });
  assert.equal(head.status, 206);
  assert.equal(head.headers.get("content-range"), `bytes 0-9/${cube.byteLength}`);
  assert.equal(head.headers.get("content-length"), "10");
  assert.deepEqual(await body(head), cube.slice(0, 10));

  const tail = await get(target, path, { Range: "bytes=-5" });
  assert.equal(tail.status, 206);
  assert.equal(
    tail.headers.get("content-range"),
    `bytes ${cube.byteLength - 5}-${cube.byteLength - 1}/${cube.byteLength}`,
  );
  assert.deepEqual(await body(tail), cube.slice(-5));

  const open = await get(target, `/api/parts/${part.id}/file`, { Range: "bytes=8000-" });
  assert.equal(open.status, 206);
  assert.deepEqual(await body(open), cube.slice(8000));

  const past = await get(target, path, { Range: "bytes=100000000-" });
  await expectError(past, 416, "range_not_satisfiable");
  assert.equal(past.headers.get("content-range"), `bytes */${cube.byteLength}`);
});

filesTest("download MIME per kind: application/pdf and model/stl", async ({ target, call }) => {
  const part = await createPart(call, { type: "cnc" });
  const doc = pdf("MIME");
  await uploadOk(target, part.id, "sheet.pdf", doc);
  const a = await get(target, `/api/parts/${part.id}/file`);
  assert.match(a.headers.get("content-type") ?? "", /^application\/pdf\b/);
  assert.match(a.headers.get("content-disposition") ?? "", /^inline;\s*filename="sheet\.pdf"/);
  assert.deepEqual(await body(a), doc);

  const stl = binaryStl();
  await uploadOk(target, part.id, "gear.stl", stl);
  const b = await get(target, `/api/parts/${part.id}/download`);
  assert.match(b.headers.get("content-type") ?? "", /^model\/stl\b/);
  assert.match(b.headers.get("content-disposition") ?? "", /^attachment;\s*filename="gear\.stl"/);
  assert.deepEqual(await body(b), stl);
});

filesTest("a part without a file: 404 No file associated with this part", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  for (const route of ["download", "file", "model"]) {
    await expectError(await get(target, `/api/parts/${part.id}/${route}`), 404, "not_found", {
      error: route === "model" ? undefined : "No file associated with this part",
    });
  }
  const listed = await listFiles(call, part.id);
  assert.deepEqual(listed, { files: [], views: null });
  const res = await get(target, `/api/parts/${part.id}/views`);
  assert.deepEqual(await res.json(), { views: null });
});

filesTest("unknown or non-numeric part id: 404 on every file route", async ({ target }) => {
  for (const id of ["999999999", "abc", "1e3"]) {
    for (const route of ["files", "download", "file", "model", "views", "views/0", "drawing"]) {
      const res = await get(target, `/api/parts/${id}/${route}`);
      await expectError(res, 404, "not_found");
    }
  }
});

filesTest("reading needs a key: 401 without one", async ({ target, call }) => {
  const part = await createPart(call, { type: "cnc" });
  await uploadOk(target, part.id, "cube.stp", await fixture("cube.stp"));
  for (const route of ["files", "download", "file", "model", "views"]) {
    await expectError(
      await get(target, `/api/parts/${part.id}/${route}`, {}, null),
      401,
      "unauthorized",
    );
  }
});

filesTest("the same bytes on two parts are stored once; each part keeps its own name", async (
  { target, call },
) => {
  const a = await createPart(call, { type: "cnc" });
  const b = await createPart(call, { type: "cnc" });
  const cube = await fixture("cube.stp");
  const ua = await uploadOk(target, a.id, "a.stp", cube);
  const ub = await uploadOk(target, b.id, "b.stp", cube);
  assert.equal(ua.sha256, ub.sha256);
  assert.match(
    (await get(target, `/api/parts/${b.id}/download`)).headers.get("content-disposition") ?? "",
    /b\.stp/,
  );
  if (target.store) {
    const blobs = await storedKeys(target.store, "blobs/");
    assert.equal(blobs.filter((k) => k.includes(ua.sha256)).length, 1, "content-addressed");
    assert.equal(blobs.length, 1);
  }
  // Deleting one part leaves the shared blob to the other.
  assert.equal((await call("DELETE", `/api/parts/${a.id}`)).status, 200);
  const still = await get(target, `/api/parts/${b.id}/download`);
  assert.equal(still.status, 200);
  assert.deepEqual(await body(still), cube);
  if (target.store) assert.equal((await storedKeys(target.store, "blobs/")).length, 1);
});

filesTest("deleting a part deletes its files, views and their blobs", async ({ target, call }) => {
  const part = await createPart(call, { type: "cnc" });
  const cube = await fixture("cube.stp");
  const doc = pdf(`Delete me ${part.partId}`);
  const a = await uploadOk(target, part.id, "cube.stp", cube);
  const b = await uploadOk(target, part.id, "sheet.pdf", doc);
  assert.equal((await postViews(target, part.id, views())).status, 200);
  if (target.store) {
    const blobs = await storedKeys(target.store, "blobs/");
    assert.ok(blobs.some((k) => k.endsWith(a.sha256)) && blobs.some((k) => k.endsWith(b.sha256)));
    assert.equal(blobs.length, 2 + 8, "two files and eight views");
  }

  const deleted = await call("DELETE", `/api/parts/${part.id}`);
  assert.equal(deleted.status, 200);
  for (const route of ["download", "file", "files", "views", "views/0"]) {
    await expectError(await get(target, `/api/parts/${part.id}/${route}`), 404, "not_found");
  }
  await expectError(
    await get(target, `/api/parts/${part.id}/download?rev=1`),
    404,
    "not_found",
  );
  if (target.store) {
    assert.deepEqual(await storedKeys(target.store, "blobs/"), [], "every blob is gone");
    assert.deepEqual(await storedKeys(target.store, "glb/"), [], "and every model");
  }
});

filesTest("multipart Content-Type as clients write it: any case, quoted boundary, charset", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "cnc" });
  const types = [
    'multipart/form-data; boundary="----WebKitFormBoundaryAbC123"',
    "multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundaryAbC123",
    "multipart/form-data;boundary=----WebKitFormBoundaryAbC123",
    // Media types are case-insensitive (RFC 9110 §8.3.1).
    "Multipart/Form-Data; Boundary=----WebKitFormBoundaryAbC123",
    "MULTIPART/FORM-DATA; boundary=----WebKitFormBoundaryAbC123",
  ];
  for (const [i, type] of types.entries()) {
    const doc = pdf(`Content-Type ${i}`);
    const { body: form } = multipart(
      [{ name: "file", filename: `t${i}.pdf`, data: doc }],
      "----WebKitFormBoundaryAbC123",
    );
    const res = await postRaw(target, `/api/parts/${part.id}/upload`, form, type);
    assert.equal(res.status, 201, `${type}: ${await res.clone().text()}`);
    assert.equal((await expectUpload(res)).sha256, await sha256Hex(doc));
  }
});

filesTest(
  'a name with quotes, as browsers send it (`"` as %22): no "%22" in the stored name',
  async (
    { target, call },
  ) => {
    const part = await createPart(call, { type: "cnc" });
    // The HTML multipart encoding writes `"` as %22 (and CR, LF as %0D, %0A) inside filename="…".
    const answer = await uploadOk(
      target,
      part.id,
      'Bracket "final".step',
      await fixture("cube.stp"),
    );
    assert.doesNotMatch(answer.filename, /%22/i, `stored as ${answer.filename}`);
    assert.match(answer.filename, /^Bracket .final.\.step$/);
    assert.equal((await getPart(call, part.id)).file, answer.filename);
  },
);
