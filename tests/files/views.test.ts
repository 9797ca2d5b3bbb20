/**
 * The eight preview images the frontend renders from the model and posts back: stored with
 * their manifest, served again, checked as PNGs, and dropped when the file changes.
 */
import assert from "node:assert/strict";
import { createPart, expectError } from "../contract/_support.ts";
import {
  assertNothingWritten,
  body,
  type FilesCtx,
  filesTest,
  get,
  jpeg,
  keyWithRole,
  ManifestSchema,
  multipart,
  pdf,
  png,
  postRaw,
  postViews,
  snapshot,
  uploadOk,
  views,
  ViewsSchema,
} from "./_files-support.ts";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function partWithFile(ctx: FilesCtx) {
  const part = await createPart(ctx.call, { type: "cnc" });
  await uploadOk(ctx.target, part.id, "sheet.pdf", pdf(`Views ${part.partId}`));
  return part;
}

filesTest("POST 8 views: the manifest exactly as the frontend reads it; GET serves them", async (
  ctx,
) => {
  const { target, call } = ctx;
  const part = await partWithFile(ctx);
  const images = views();
  const res = await postViews(target, part.id, images);
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const answer = await res.json();
  assert.deepEqual(Object.keys(answer).sort(), ["success", "views"]);
  assert.equal(answer.success, true);
  const manifest = ManifestSchema.parse(answer.views);
  assert.deepEqual(Object.keys(manifest).sort(), ["files", "updated_at"]);
  assert.deepEqual(Object.keys(manifest.files).sort(), ["0", "1", "2", "3", "4", "5", "6", "7"]);
  for (let i = 0; i < 8; i++) {
    assert.deepEqual(Object.keys(manifest.files[String(i)]).sort(), ["filename", "timestamp"]);
    assert.equal(manifest.files[String(i)].filename, `view_${i}.png`);
    assert.match(manifest.files[String(i)].timestamp, ISO);
  }
  assert.match(manifest.updated_at, ISO);
  const newest = Math.max(...Object.values(manifest.files).map((f) => Date.parse(f.timestamp)));
  assert.equal(Date.parse(manifest.updated_at), newest, "updated_at is the newest view's time");

  const listed = ViewsSchema.parse(await (await get(target, `/api/parts/${part.id}/views`)).json());
  assert.deepEqual(listed, { views: manifest });
  const files = await (await call("GET", `/api/parts/${part.id}/files`)).json();
  assert.deepEqual(files.views, manifest, "GET /files carries the same manifest");

  for (let i = 0; i < 8; i++) {
    const one = await get(target, `/api/parts/${part.id}/views/${i}`);
    assert.equal(one.status, 200);
    assert.match(one.headers.get("content-type") ?? "", /^image\/png\b/);
    const etag = one.headers.get("etag");
    assert.ok(etag);
    assert.deepEqual(await body(one), images[i], `view ${i} comes back byte for byte`);
    const again = await get(target, `/api/parts/${part.id}/views/${i}`, { "If-None-Match": etag });
    assert.equal(again.status, 304);
    await again.body?.cancel();
  }
});

filesTest("views are replaced by a new set; other form fields are ignored", async (ctx) => {
  const { target } = ctx;
  const part = await partWithFile(ctx);
  assert.equal((await postViews(target, part.id, views())).status, 200);
  const fresh = Array.from({ length: 8 }, (_, i) => png(3, 1, [i, i, i]));
  const res = await postViews(target, part.id, [
    ...fresh.map((data, i) => ({ name: `view_${i}`, filename: "blob", type: "image/png", data })),
    { name: "partId", data: String(part.id) },
    { name: "note", filename: "x.txt", type: "text/plain", data: "ignored" },
  ]);
  assert.equal(res.status, 200, await res.clone().text());
  for (const i of [0, 3, 7]) {
    assert.deepEqual(await body(await get(target, `/api/parts/${part.id}/views/${i}`)), fresh[i]);
  }
});

filesTest("a missing or malformed view index: 404 View image not found", async (ctx) => {
  const { target } = ctx;
  const part = await partWithFile(ctx);
  for (const index of ["0", "7"]) {
    await expectError(
      await get(target, `/api/parts/${part.id}/views/${index}`),
      404,
      "not_found",
      { error: "View image not found" },
    );
  }
  const four = views().slice(0, 4);
  assert.equal((await postViews(target, part.id, four)).status, 200);
  assert.equal((await get(target, `/api/parts/${part.id}/views/3`)).status, 200);
  for (const index of ["5", "-1", "99", "1e3", "8", "abc", "03"]) {
    await expectError(
      await get(target, `/api/parts/${part.id}/views/${index}`),
      404,
      "not_found",
      { error: "View image not found" },
    );
  }
});

filesTest("view_8, a JPEG as view_0, a bare PNG signature: 400 and no view stored", async (
  ctx,
) => {
  const { target } = ctx;
  const part = await partWithFile(ctx);
  const before = await snapshot(ctx, part.id);
  const good = png();
  const cases: { label: string; fields: Parameters<typeof postViews>[2] }[] = [
    {
      label: "view_8",
      fields: [
        { name: "view_0", filename: "blob", type: "image/png", data: good },
        { name: "view_8", filename: "blob", type: "image/png", data: good },
      ],
    },
    {
      label: "JPEG as view_0",
      fields: [
        { name: "view_1", filename: "blob", type: "image/png", data: good },
        { name: "view_0", filename: "blob", type: "image/png", data: jpeg() },
      ],
    },
    {
      label: "PNG signature only",
      fields: [{ name: "view_2", filename: "blob", type: "image/png", data: good.slice(0, 8) }],
    },
    {
      label: "view_10",
      fields: [{ name: "view_10", filename: "blob", type: "image/png", data: good }],
    },
    { label: "no view at all", fields: [{ name: "something", data: "else" }] },
  ];
  for (const c of cases) {
    const res = await postViews(target, part.id, c.fields);
    assert.equal(res.status, 400, `${c.label}: ${await res.clone().text()}`);
    await expectError(res, 400, "validation_failed");
    await assertNothingWritten(ctx, before);
    assert.deepEqual(await (await get(target, `/api/parts/${part.id}/views`)).json(), {
      views: null,
    });
  }
});

filesTest("a view of several MB: 413 and nothing stored", async (ctx) => {
  const part = await partWithFile(ctx);
  const before = await snapshot(ctx, part.id);
  const big = png(1400, 1400); // about 5.9 MB uncompressed
  assert.ok(big.byteLength > 5 * 1024 * 1024);
  const res = await postViews(ctx.target, part.id, [big]);
  await expectError(res, 413, "payload_too_large");
  await assertNothingWritten(ctx, before);
});

filesTest("views: not multipart → 400; viewer key → 403; member key may post", async (ctx) => {
  const { target, call } = ctx;
  const part = await partWithFile(ctx);
  const before = await snapshot(ctx, part.id);
  const json = await postRaw(target, `/api/parts/${part.id}/views`, "{}", "application/json");
  assert.ok([400, 415].includes(json.status), `not multipart: ${json.status}`);
  await expectError(
    json,
    json.status,
    json.status === 400 ? "validation_failed" : "unsupported_media_type",
  );

  const viewer = await keyWithRole(call, "viewer");
  const { body: form, contentType } = multipart(
    views().map((data, i) => ({ name: `view_${i}`, filename: "blob", type: "image/png", data })),
  );
  await expectError(
    await postRaw(target, `/api/parts/${part.id}/views`, form, contentType, { key: viewer }),
    403,
    "forbidden",
  );
  await assertNothingWritten(ctx, before);
  // Reading them is the same role as reading the part.
  assert.equal(
    (await get(target, `/api/parts/${part.id}/views`, {}, viewer)).status,
    200,
  );

  const member = await keyWithRole(call, "member");
  const ok = await postRaw(target, `/api/parts/${part.id}/views`, form, contentType, {
    key: member,
  });
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.equal((await get(target, `/api/parts/${part.id}/views/5`, {}, viewer)).status, 200);
});

filesTest("a new upload drops the views", async (ctx) => {
  const { target } = ctx;
  const part = await partWithFile(ctx);
  assert.equal((await postViews(target, part.id, views())).status, 200);
  await uploadOk(target, part.id, "sheet-v2.pdf", pdf(`Second ${part.partId}`));
  const res = await get(target, `/api/parts/${part.id}/views`);
  assert.deepEqual(await res.json(), { views: null });
  await expectError(await get(target, `/api/parts/${part.id}/views/0`), 404, "not_found", {
    error: "View image not found",
  });
});

filesTest("views of an unknown part: 404, nothing stored", async (ctx) => {
  const res = await postViews(ctx.target, 999_999_999, views());
  await expectError(res, 404, "not_found");
  if (ctx.target.store) {
    const keys = [];
    for await (const k of ctx.target.store.list("")) keys.push(k.key);
    assert.deepEqual(keys, []);
  }
});
