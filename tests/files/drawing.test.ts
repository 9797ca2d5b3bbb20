/**
 * A hand part's drawing: uploaded as a PDF, or fetched from Onshape for the part's onshapeUrl
 * (signed API calls to the local stand-in in tests/files/onshape-stand-in.ts), cached, fetched
 * again on `?refresh=true`; CNC parts have none; no Onshape keys is a 503 naming them.
 */
import assert from "node:assert/strict";
import { api } from "../helpers.ts";
import { createPart, expectError } from "../contract/_support.ts";
import {
  assertNothingWritten,
  body,
  type FilesCtx,
  filesTarget,
  filesTest,
  fixture,
  get,
  history,
  listFiles,
  pdf,
  sha256Hex,
  snapshot,
  upload,
  uploadOk,
} from "./_files-support.ts";
import {
  type OnshapeStandIn,
  STAND_IN_ACCESS_KEY,
  STAND_IN_SECRET_KEY,
  type StandInMode,
  startOnshapeStandIn,
} from "./onshape-stand-in.ts";

filesTest("POST /drawing stores a hand part's PDF; GET /drawing serves it inline", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "hand" });
  const doc = pdf(`Hand drawing ${part.partId}`);
  const answer = await uploadOk(target, part.id, "Plate – rev B.pdf", doc, { route: "drawing" });
  assert.equal(answer.filename, "Plate – rev B.pdf");
  assert.equal(answer.rev, 1);
  assert.equal(answer.size, doc.byteLength);
  assert.equal(answer.sha256, await sha256Hex(doc));
  assert.equal(answer.contentType, "application/pdf");
  assert.equal(answer.conversion, undefined);

  const res = await get(target, `/api/parts/${part.id}/drawing`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/pdf\b/);
  assert.match(res.headers.get("content-disposition") ?? "", /^inline;/);
  assert.equal(res.headers.get("etag"), `"${answer.sha256}"`);
  assert.deepEqual(await body(res), doc);
  const cached = await get(target, `/api/parts/${part.id}/drawing`, {
    "If-None-Match": `"${answer.sha256}"`,
  });
  assert.equal(cached.status, 304);
  await cached.body?.cancel();

  const { files } = await listFiles(call, part.id);
  assert.deepEqual(files.map((f) => [f.slot, f.rev, f.current, f.source]), [
    ["drawing", 1, true, "upload"],
  ]);
  const events = (await history(call, part.id)).filter((e) => e.action === "file_uploaded");
  assert.equal(events.length, 1, "a drawing upload is in the history too");
  assert.equal(events[0].changes?.sha256?.to, answer.sha256);

  const second = pdf(`Hand drawing v2 ${part.partId}`);
  const b = await uploadOk(target, part.id, "plate-v2.pdf", second, { route: "drawing" });
  assert.equal(b.rev, 2);
  assert.deepEqual(await body(await get(target, `/api/parts/${part.id}/drawing`)), second);
});

filesTest("a hand part's PDF uploaded with /upload is its drawing", async ({ target, call }) => {
  const part = await createPart(call, { type: "hand" });
  const doc = pdf(`Via upload ${part.partId}`);
  await uploadOk(target, part.id, "drawing.pdf", doc);
  const res = await get(target, `/api/parts/${part.id}/drawing`);
  assert.equal(res.status, 200);
  assert.deepEqual(await body(res), doc);
});

filesTest("POST /drawing takes PDFs only, checked by content", async (ctx) => {
  const { target, call } = ctx;
  const part = await createPart(call, { type: "hand" });
  const before = await snapshot(ctx, part.id);
  const cube = await fixture("cube.stp");
  for (
    const [name, data] of [["cube.stp", cube], ["fake.pdf", cube], ["x.pdf", "hello"]] as const
  ) {
    const res = await upload(target, part.id, name, data, { route: "drawing" });
    const err = await expectError(res, 400, "validation_failed", { error: "Invalid file type" });
    assert.match(err.details ?? "", /\.pdf/, "details name the allowed type");
  }
  await expectError(
    await upload(target, part.id, "", pdf(), { route: "drawing" }),
    400,
    "validation_failed",
    { error: "No file selected" },
  );
  await assertNothingWritten(ctx, before);
});

filesTest("a CNC part has no drawing: 400 both ways, nothing stored", async (ctx) => {
  const { target, call } = ctx;
  const part = await createPart(call, { type: "cnc" });
  const before = await snapshot(ctx, part.id);
  await expectError(
    await upload(target, part.id, "d.pdf", pdf(), { route: "drawing" }),
    400,
    "validation_failed",
  );
  await expectError(await get(target, `/api/parts/${part.id}/drawing`), 400, "validation_failed");
  await assertNothingWritten(ctx, before);
});

filesTest("a hand part with neither a drawing nor an Onshape link: 404", async (
  { target, call },
) => {
  const part = await createPart(call, { type: "hand" });
  await expectError(await get(target, `/api/parts/${part.id}/drawing`), 404, "not_found", {
    error: "No file associated with this part",
  });
});

const ONSHAPE_DOC = "0123456789abcdef01234567";
const onshapeLink = (s: { documentId: string; workspaceId: string; elementId: string }) =>
  `https://cad.onshape.com/documents/${s.documentId}/w/${s.workspaceId}/e/${s.elementId}`;

filesTest("an Onshape link without Onshape keys: 503 naming the variables", async (ctx) => {
  const { target, call } = ctx;
  const part = await createPart(call, {
    type: "hand",
    onshapeUrl: onshapeLink({
      documentId: ONSHAPE_DOC,
      workspaceId: "1123456789abcdef01234567",
      elementId: "3123456789abcdef01234567",
    }),
  });
  const before = await snapshot(ctx, part.id);
  const err = await expectError(
    await get(target, `/api/parts/${part.id}/drawing`),
    503,
    "unavailable",
  );
  assert.match(err.error, /ONSHAPE_ACCESS_KEY/);
  assert.match(err.error, /ONSHAPE_SECRET_KEY/);
  await assertNothingWritten(ctx, before);
});

/** A test with the Onshape stand-in running and the app configured for it (in-process). */
function onshapeTest(
  name: string,
  fn: (ctx: FilesCtx, standIn: OnshapeStandIn) => Promise<void>,
  mode: StandInMode = "ok",
) {
  Deno.test(name, async (t) => {
    const standIn = startOnshapeStandIn({ mode });
    const target = await filesTarget({
      env: {
        ONSHAPE_ACCESS_KEY: STAND_IN_ACCESS_KEY,
        ONSHAPE_SECRET_KEY: STAND_IN_SECRET_KEY,
        ONSHAPE_BASE_URL: standIn.url,
      },
    });
    try {
      await fn({ target, call: api(target), t, remote: false }, standIn);
    } finally {
      await target.dispose();
      await standIn.close();
    }
  });
}

onshapeTest("Onshape: the drawing PDF is fetched, cached, and fetched again on refresh", async (
  { target, call },
  standIn,
) => {
  const part = await createPart(call, { type: "hand", onshapeUrl: onshapeLink(standIn.drawing) });
  const first = await get(target, `/api/parts/${part.id}/drawing`);
  assert.equal(first.status, 200, await first.clone().text());
  assert.match(first.headers.get("content-type") ?? "", /^application\/pdf\b/);
  assert.match(first.headers.get("content-disposition") ?? "", /^inline;/);
  assert.deepEqual(await body(first), standIn.pdf);
  const calls = standIn.requests.length;
  assert.ok(calls >= 3, "start, poll and download");
  assert.ok(standIn.requests.every((r) => r.authorized), "every request correctly signed");
  assert.ok(
    standIn.requests.some((r) => r.method === "POST" && r.path.includes(standIn.drawing.elementId)),
  );

  const { files } = await listFiles(call, part.id);
  assert.deepEqual(files.map((f) => [f.slot, f.source, f.kind]), [["drawing", "onshape", "pdf"]]);
  assert.equal(files[0].sha256, await sha256Hex(standIn.pdf));

  const second = await get(target, `/api/parts/${part.id}/drawing`);
  assert.equal(second.status, 200);
  assert.deepEqual(await body(second), standIn.pdf);
  assert.equal(standIn.requests.length, calls, "the second GET is served from storage");

  const refreshed = await get(target, `/api/parts/${part.id}/drawing?refresh=true`);
  assert.equal(refreshed.status, 200);
  assert.deepEqual(await body(refreshed), standIn.pdf);
  assert.ok(standIn.requests.length > calls, "refresh=true asks Onshape again");
  assert.ok(standIn.requests.every((r) => r.authorized));
  await expectError(
    await get(target, `/api/parts/${part.id}/drawing?refresh=maybe`),
    400,
    "validation_failed",
  );
});

onshapeTest("Onshape: an uploaded drawing wins; Onshape is not asked", async (
  { target, call },
  standIn,
) => {
  const part = await createPart(call, { type: "hand", onshapeUrl: onshapeLink(standIn.drawing) });
  const doc = pdf("Uploaded by hand");
  await uploadOk(target, part.id, "mine.pdf", doc, { route: "drawing" });
  assert.deepEqual(await body(await get(target, `/api/parts/${part.id}/drawing`)), doc);
  assert.equal(standIn.requests.length, 0);
});

onshapeTest("Onshape: an export that fails is a 422 with Onshape's reason; nothing stored", async (
  ctx,
  standIn,
) => {
  const part = await createPart(ctx.call, {
    type: "hand",
    onshapeUrl: onshapeLink(standIn.drawing),
  });
  const before = await snapshot(ctx, part.id);
  const res = await get(ctx.target, `/api/parts/${part.id}/drawing`);
  const err = await expectError(res, 422, "unprocessable");
  assert.match(err.error, /Onshape/);
  assert.match(err.error, /no sheets/, "Onshape's failureReason is passed on");
  await assertNothingWritten(ctx, before);
}, "failed");

onshapeTest("Onshape: an answer that is not a PDF is a 503, never a 500; nothing stored", async (
  ctx,
  standIn,
) => {
  const part = await createPart(ctx.call, {
    type: "hand",
    onshapeUrl: onshapeLink(standIn.drawing),
  });
  const before = await snapshot(ctx, part.id);
  const res = await get(ctx.target, `/api/parts/${part.id}/drawing`);
  const err = await expectError(res, 503, "unavailable");
  assert.match(err.error, /Onshape/);
  await assertNothingWritten(ctx, before);
}, "not-pdf");

onshapeTest("Onshape: an unknown document is a 404; a link that is no element is a 422", async (
  ctx,
  standIn,
) => {
  const missing = await createPart(ctx.call, {
    type: "hand",
    onshapeUrl: onshapeLink({ ...standIn.drawing, documentId: "aaaaaaaaaaaaaaaaaaaaaaaa" }),
  });
  await expectError(await get(ctx.target, `/api/parts/${missing.id}/drawing`), 404, "not_found");
  const notElement = await createPart(ctx.call, {
    type: "hand",
    onshapeUrl: "https://cad.onshape.com/documents",
  });
  await expectError(
    await get(ctx.target, `/api/parts/${notElement.id}/drawing`),
    422,
    "unprocessable",
  );
  assert.ok(standIn.requests.length <= 1, "an unusable link is not sent to Onshape");
  assert.deepEqual((await listFiles(ctx.call, missing.id)).files, []);
});
