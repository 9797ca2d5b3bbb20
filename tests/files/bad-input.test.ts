/**
 * "What bad input gets" (issue 14): every refused upload is a clear 4xx JSON error that leaves
 * nothing behind (part, revisions, views, history and, in-process, the blob store compared
 * before and after); hostile names are stored sanitised, never as paths; a body over
 * MAX_UPLOAD_BYTES is refused while it arrives; hostile STEP files fail their own conversion
 * and nothing else.
 */
import assert from "node:assert/strict";
import { createPart, expectError, getPart } from "../contract/_support.ts";
import { BASE_URL, KEY } from "../helpers.ts";
import {
  assertNothingWritten,
  binaryStl,
  body,
  bytes,
  concat,
  expectRefused,
  expectUpload,
  type FilesCtx,
  filesTest,
  fixture,
  get,
  getModel,
  keyWithRole,
  listFiles,
  multipart,
  pdf,
  png,
  postRaw,
  settledConversion,
  snapshot,
  storedKeys,
  upload,
  uploadOk,
  zip,
} from "./_files-support.ts";

const ALLOWED = /\.step.*\.stp.*\.stl.*\.pdf|\.pdf.*\.step/s;

async function cncPart(ctx: FilesCtx) {
  return await createPart(ctx.call, { type: "cnc" });
}

filesTest("no file field, a text field named file, an empty or blank name", async (ctx) => {
  const part = await cncPart(ctx);
  const before = await snapshot(ctx, part.id);
  const cube = await fixture("cube.stp");
  const path = `/api/parts/${part.id}/upload`;

  const other = multipart([{ name: "upload", filename: "cube.stp", data: cube }]);
  let err = await expectRefused(
    ctx,
    before,
    await postRaw(ctx.target, path, other.body, other.contentType),
    400,
    "validation_failed",
    "No file provided",
  );
  assert.equal(err.field, "file");

  const text = multipart([{ name: "file", data: "cube.stp" }]);
  await expectRefused(
    ctx,
    before,
    await postRaw(ctx.target, path, text.body, text.contentType),
    400,
    "validation_failed",
    "No file provided",
  );

  const nothing = multipart([]);
  await expectRefused(
    ctx,
    before,
    await postRaw(ctx.target, path, nothing.body, nothing.contentType),
    400,
    "validation_failed",
    "No file provided",
  );

  for (const name of ["", "   "]) {
    err = await expectRefused(
      ctx,
      before,
      await upload(ctx.target, part.id, name, cube),
      400,
      "validation_failed",
      "No file selected",
    );
  }
});

filesTest("a type that is not accepted: 400 Invalid file type naming the allowed ones", async (
  ctx,
) => {
  const part = await cncPart(ctx);
  const before = await snapshot(ctx, part.id);
  const cube = await fixture("cube.stp");
  for (const name of ["part.exe", "part", "cube.stp.exe", "cube.step.zip", "model.glb", "a.png"]) {
    const err = await expectRefused(
      ctx,
      before,
      await upload(ctx.target, part.id, name, cube),
      400,
      "validation_failed",
      "Invalid file type",
    );
    assert.match(err.details ?? "", ALLOWED, `${name}: details name the allowed types`);
  }
});

filesTest("content that does not match the extension: 400 Invalid file type", async (ctx) => {
  const part = await cncPart(ctx);
  const before = await snapshot(ctx, part.id);
  const cube = await fixture("cube.stp");
  const cases: [string, Uint8Array | string, RegExp?][] = [
    ["zipped.step", zip(), /ZIP/],
    ["drawing.step", pdf("A PDF named .step"), /PDF/],
    ["drawing.stp", pdf("Another"), /PDF/],
    ["model.pdf", cube, /STEP/],
    ["note.step", await fixture("broken/not-a-step.step")],
    ["mesh.stl", png(), /PNG/],
    ["mesh.stl", binaryStl().slice(0, 84 + 50 * 3 + 7)],
    ["mesh.stl", "hello, this is not a mesh"],
    ["mesh.stl", concat(bytes("solid x\n"), new Uint8Array([0, 1, 2, 3, 0, 0, 0, 0]))],
    ["empty.step", ""],
    ["empty.pdf", new Uint8Array()],
    ["empty.stl", new Uint8Array()],
  ];
  for (const [name, data, looks] of cases) {
    const err = await expectRefused(
      ctx,
      before,
      await upload(ctx.target, part.id, name, data),
      400,
      "validation_failed",
    );
    assert.match(err.error, /Invalid file type|empty/, `${name}: ${err.error}`);
    if (looks) assert.match(err.details ?? "", looks, `${name}: details say what it looks like`);
  }
});

/** Uploads under a hostile name; the stored name must be safe and the same everywhere. */
async function sanitised(ctx: FilesCtx, sent: string): Promise<string> {
  const part = await cncPart(ctx);
  const cube = await fixture("cube.stp");
  const answer = await uploadOk(ctx.target, part.id, sent, cube);
  const name = answer.filename;
  assert.ok(!/[/\\]/.test(name), `${JSON.stringify(sent)} → ${JSON.stringify(name)}: no path`);
  assert.ok(!/[\p{Cc}\p{Cf}]/u.test(name), `${JSON.stringify(name)}: no control or bidi chars`);
  assert.ok(!/^\.|\.\./.test(name), `${JSON.stringify(name)}: no dot tricks`);
  assert.ok(new TextEncoder().encode(name).byteLength <= 200, `${name.length} chars: ≤ 200 bytes`);
  assert.match(name, /\.(step|stp)$/i, "the extension is kept");
  assert.equal((await getPart(ctx.call, part.id)).file, name, "the part shows the stored name");
  assert.equal((await listFiles(ctx.call, part.id)).files[0].filename, name);
  const res = await get(ctx.target, `/api/parts/${part.id}/download`);
  const cd = res.headers.get("content-disposition") ?? "";
  assert.doesNotMatch(cd, /[\r\n\0]/);
  const star = /filename\*=UTF-8''(\S+)$/.exec(cd);
  assert.ok(star, cd);
  assert.equal(decodeURIComponent(star[1]), name, "the download names the stored name");
  assert.deepEqual(await body(res), cube);
  return name;
}

filesTest("path names are cut to their last segment: never a path", async (ctx) => {
  assert.equal(await sanitised(ctx, "../../etc/passwd.step"), "passwd.step");
  assert.equal(await sanitised(ctx, "/etc/passwd.step"), "passwd.step");
  // A browser sends a backslash as is, and the multipart parser reads it as a quoted-string
  // escape, so a Windows path loses its separators before the server sees it: still no path.
  assert.match(await sanitised(ctx, "..\\..\\Windows\\System32\\evil.step"), /evil\.step$/);
  assert.match(await sanitised(ctx, "C:\\Users\\me\\Desktop\\bracket.STEP"), /bracket\.STEP$/);
  // The same through RFC 8187 filename*=, which the parser prefers and percent-decodes.
  for (const encoded of ["..%2F..%2Fetc%2Fpasswd.step", "..%5C..%5Cboot.ini%5Cpasswd.step"]) {
    const part = await cncPart(ctx);
    const { body: form, contentType } = multipart([{
      name: "file",
      disposition: `filename="x.step"; filename*=UTF-8''${encoded}`,
      data: await fixture("cube.stp"),
    }]);
    const res = await postRaw(ctx.target, `/api/parts/${part.id}/upload`, form, contentType);
    const answer = await expectUpload(res);
    assert.equal(answer.filename, "passwd.step", `filename*=${encoded}`);
  }
  if (ctx.target.store) {
    const keys = await storedKeys(ctx.target.store);
    assert.ok(keys.every((k) => /^blobs\/[0-9a-f]{64}$/.test(k)), `server-made keys: ${keys}`);
  }
});

filesTest("Windows device names, 300 characters, NUL and RTL override: stored safely", async (
  ctx,
) => {
  for (const device of ["CON.step", "con.step", "LPT1.stp", "aux.step", "NUL.step"]) {
    const name = await sanitised(ctx, device);
    const stem = name.slice(0, name.indexOf("."));
    assert.doesNotMatch(stem, /^(con|prn|aux|nul|com\d|lpt\d)$/i, `${device} → ${name}`);
  }
  const long = await sanitised(ctx, `${"a".repeat(295)}.step`);
  assert.ok(long.length < 300 && long.startsWith("aaaa"), `truncated: ${long.length}`);
  const wide = await sanitised(ctx, `${"é".repeat(300)}.step`);
  assert.ok(wide.startsWith("éé") && !wide.includes("\uFFFD"), "cut between characters");
  assert.equal(await sanitised(ctx, "ab\u0000cd.step"), "abcd.step");
  for (const encoded of ["ab%00cd.step", "invoice%E2%80%AEgpj.step", "a%0D%0AX-Evil%3A%201.step"]) {
    const part = await cncPart(ctx);
    const { body: form, contentType } = multipart([{
      name: "file",
      disposition: `filename*=UTF-8''${encoded}`,
      data: await fixture("cube.stp"),
    }]);
    const answer = await expectUpload(
      await postRaw(ctx.target, `/api/parts/${part.id}/upload`, form, contentType),
    );
    assert.ok(!/[\p{Cc}\p{Cf}]/u.test(answer.filename), JSON.stringify(answer.filename));
    assert.match(answer.filename, /\.step$/);
    const cd = (await get(ctx.target, `/api/parts/${part.id}/download`)).headers.get(
      "content-disposition",
    );
    assert.doesNotMatch(cd ?? "", /[\r\n]|X-Evil: /, "no header injection");
  }
  const rtl = await sanitised(ctx, "invoice\u202Egpj.step");
  assert.ok(!rtl.includes("\u202E"), "no right-to-left override");
  assert.equal(rtl, "invoicegpj.step");
  assert.equal(await sanitised(ctx, "\u200Bbracket\u2066.step"), "bracket.step");
});

filesTest("names with nothing usable left: 400, nothing written", async (ctx) => {
  const part = await cncPart(ctx);
  const before = await snapshot(ctx, part.id);
  const cube = await fixture("cube.stp");
  for (const name of ["../..", "\u202E", "...", "dir/", ".step"]) {
    await expectRefused(
      ctx,
      before,
      await upload(ctx.target, part.id, name, cube),
      400,
      "validation_failed",
    );
  }
});

filesTest("broken multipart bodies and other content types: 400, nothing written", async (
  ctx,
) => {
  const part = await cncPart(ctx);
  const before = await snapshot(ctx, part.id);
  const path = `/api/parts/${part.id}/upload`;
  const cube = await fixture("cube.stp");
  const good = multipart([{ name: "file", filename: "cube.stp", data: cube }], "RealBoundary");
  const text = new TextDecoder().decode(good.body);

  const bodies: [string, BodyInit, string][] = [
    ["other boundary", good.body, "multipart/form-data; boundary=SomethingElse"],
    ["no boundary", good.body, "multipart/form-data"],
    ["cut off", good.body.slice(0, good.body.byteLength - 200), good.contentType],
    ["no closing boundary", text.replace("--RealBoundary--\r\n", ""), good.contentType],
    ["garbage", "hello world", good.contentType],
    ["empty body", "", good.contentType],
    [
      "part without headers",
      "--RealBoundary\r\n\r\nISO-10303-21;\r\n--RealBoundary--\r\n",
      good.contentType,
    ],
  ];
  for (const [label, data, type] of bodies) {
    const res = await postRaw(ctx.target, path, data, type);
    assert.equal(res.status, 400, `${label}: ${res.status} ${await res.clone().text()}`);
    await expectRefused(ctx, before, res, 400, "validation_failed");
  }

  for (const type of ["application/json", "text/plain", "application/octet-stream"]) {
    const res = await postRaw(
      ctx.target,
      path,
      type === "application/json" ? '{"file":"x"}' : cube.slice(),
      type,
    );
    assert.ok([400, 415].includes(res.status), `${type}: ${res.status}`);
    await expectRefused(
      ctx,
      before,
      res,
      res.status,
      res.status === 400 ? "validation_failed" : "unsupported_media_type",
    );
  }
  const bare = await ctx.target.fetch(path, { method: "POST", headers: { "X-API-Key": KEY } });
  assert.ok([400, 415].includes(bare.status), `no body at all: ${bare.status}`);
  await assertNothingWritten(ctx, before);
});

filesTest("unknown part: 404 and nothing stored; no key: 401; viewer key: 403", async (ctx) => {
  const cube = await fixture("cube.stp");
  for (const id of ["999999999", "abc", "-1"]) {
    await expectError(await upload(ctx.target, id, "cube.stp", cube), 404, "not_found");
  }
  if (ctx.target.store) assert.deepEqual(await storedKeys(ctx.target.store), []);

  const part = await cncPart(ctx);
  const before = await snapshot(ctx, part.id);
  await expectRefused(
    ctx,
    before,
    await upload(ctx.target, part.id, "cube.stp", cube, { key: null }),
    401,
    "unauthorized",
  );
  const viewer = await keyWithRole(ctx.call, "viewer");
  await expectRefused(
    ctx,
    before,
    await upload(ctx.target, part.id, "cube.stp", cube, { key: viewer }),
    403,
    "forbidden",
  );
  // Writing a file takes the role that edits the part.
  const member = await keyWithRole(ctx.call, "member");
  const answer = await uploadOk(ctx.target, part.id, "cube.stp", cube, { key: member });
  const { files } = await listFiles(ctx.call, part.id);
  assert.equal(files[0].sha256, answer.sha256);
  assert.match(files[0].uploadedBy, /^Files member/, "the member's key name is the uploader");
});

const MiB = 1024 * 1024;

filesTest("MAX_UPLOAD_BYTES: at the limit 201, one byte over 413 and nothing written", async (
  ctx,
) => {
  const part = await cncPart(ctx);
  const cube = await fixture("cube.stp");
  const sized = (size: number) => {
    const out = new Uint8Array(size).fill(0x20);
    out.set(cube.subarray(0, 13)); // ISO-10303-21;
    return out;
  };
  const atLimit = await uploadOk(ctx.target, part.id, "limit.step", sized(MiB));
  assert.equal(atLimit.size, MiB);
  const before = await snapshot(ctx, part.id);
  const over = await expectRefused(
    ctx,
    before,
    await upload(ctx.target, part.id, "over.step", sized(MiB + 1)),
    413,
    "payload_too_large",
  );
  assert.match(`${over.error} ${over.details ?? ""}`, /MAX_UPLOAD_BYTES|1048576/);
  await expectRefused(
    ctx,
    before,
    await upload(ctx.target, part.id, "big.pdf", sized(3 * MiB)),
    413,
    "payload_too_large",
  );
}, { env: { MAX_UPLOAD_BYTES: String(MiB) } });

const GiB = 1024 * MiB;

/** A 1 GiB multipart upload as a stream that counts how much of it was read. */
function hugeUpload() {
  const boundary = "StreamBoundary";
  const head = bytes(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.step"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\nISO-10303-21;\n`,
  );
  const chunk = new Uint8Array(64 * 1024).fill(0x41);
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head);
      pulled += head.byteLength;
    },
    pull(controller) {
      if (pulled >= GiB) {
        controller.close();
        return;
      }
      controller.enqueue(chunk);
      pulled += chunk.byteLength;
    },
  }, { highWaterMark: 0 });
  return {
    init: {
      method: "POST",
      headers: { "X-API-Key": KEY, "Content-Type": `multipart/form-data; boundary=${boundary}` },
      body: stream,
      duplex: "half",
    } as RequestInit,
    pulled: () => pulled,
  };
}

filesTest("a 1 GiB body without Content-Length: 413 at the limit, the rest never read", async (
  ctx,
) => {
  const part = await cncPart(ctx);
  const before = await snapshot(ctx, part.id);
  const huge = hugeUpload();
  const res = await ctx.target.fetch(`/api/parts/${part.id}/upload`, huge.init);
  await expectRefused(ctx, before, res, 413, "payload_too_large");
  const pulled = huge.pulled();
  assert.ok(pulled < 16 * MiB, `stopped at the limit: ${pulled} of ${GiB} bytes read`);
  assert.ok(pulled > MiB, "it read up to the limit");
}, { env: { MAX_UPLOAD_BYTES: String(MiB) } });

filesTest("a 1 GiB body to a real server: 413 at its limit, not after reading it all", async (
  ctx,
) => {
  const part = await cncPart(ctx);
  const before = await snapshot(ctx, part.id);
  const huge = hugeUpload();
  let res: Response;
  try {
    res = await ctx.target.fetch(`/api/parts/${part.id}/upload`, huge.init);
  } catch (error) {
    // Miniflare in front of workerd may reset the connection right after the Worker's 413,
    // before the client reads the answer: still a refusal while the body was arriving.
    if (
      Deno.env.get("TEST_RUNTIME") !== "workerd" || !/reset/i.test(String((error as Error)?.cause))
    ) {
      throw error;
    }
    const pulled = huge.pulled();
    assert.ok(pulled < GiB / 2, `refused while arriving: ${pulled} of ${GiB} bytes sent`);
    await assertNothingWritten(ctx, before);
    return;
  }
  const err = await expectRefused(ctx, before, res, 413, "payload_too_large");
  const pulled = huge.pulled();
  assert.ok(pulled < GiB / 2, `refused while arriving: ${pulled} of ${GiB} bytes sent`);
  // The limit is not published, but the answer names it; socket buffers add a little.
  const limit = Number(/\b(\d{4,})\b/.exec(`${err.error} ${err.details ?? ""}`)?.[1]);
  if (Number.isFinite(limit)) {
    assert.ok(pulled <= limit + 64 * MiB, `${pulled} bytes sent for a limit of ${limit}`);
  }
}, { ignore: BASE_URL === undefined });

filesTest("a declared Content-Length over the limit: 413 before reading", async (ctx) => {
  const part = await cncPart(ctx);
  const before = await snapshot(ctx, part.id);
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 1;
      controller.enqueue(new Uint8Array(1024));
    },
  }, { highWaterMark: 0 });
  const res = await ctx.target.fetch(`/api/parts/${part.id}/upload`, {
    method: "POST",
    headers: {
      "X-API-Key": KEY,
      "Content-Type": "multipart/form-data; boundary=x",
      "Content-Length": String(100 * MiB),
    },
    body: stream,
    duplex: "half",
  } as RequestInit);
  await expectRefused(ctx, before, res, 413, "payload_too_large");
  assert.equal(pulled, 0, "not a byte was read");
}, { env: { MAX_UPLOAD_BYTES: String(MiB) } });

/** A STEP header (from the shared cube) followed by `data` and the end of the file. */
async function stepWith(data: Uint8Array | string): Promise<Uint8Array> {
  const cube = new TextDecoder().decode(await fixture("cube.stp"));
  const header = cube.slice(0, cube.indexOf("DATA;") + "DATA;".length);
  return concat(
    bytes(`${header}\n`),
    typeof data === "string" ? bytes(data) : data,
    bytes("\nENDSEC;\nEND-ISO-10303-21;\n"),
  );
}

filesTest(
  "a 50 MB STEP of valid header and garbage fails its conversion alone; the server keeps answering",
  async (ctx) => {
    const part = await cncPart(ctx);
    const garbage = new Uint8Array(50 * 1000 * 1000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = 0x41 + ((i * 7919) % 26);
    for (let i = 80; i < garbage.length; i += 81) garbage[i] = 0x0a;
    const up = await uploadOk(ctx.target, part.id, "garbage.step", await stepWith(garbage));
    assert.ok(up.size > 50 * 1000 * 1000);

    let answered = false;
    const model = getModel(ctx.target, part.id).finally(() => (answered = true));
    // While the worker chews on it, the API answers: reads of the part and of other parts'
    // files, and new uploads.
    let whileRunning = 0;
    while (!answered) {
      const state = (await listFiles(ctx.call, part.id)).files[0].conversion?.status;
      const res = await get(ctx.target, `/api/parts/${part.id}`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      if (state === "running" && !answered) whileRunning++;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(whileRunning >= 3, `the part answered during the conversion (${whileRunning}×)`);
    const err = await expectError(await model, 422, "unprocessable", {
      error: "Model conversion failed",
    });
    assert.ok(err.details);

    const other = await cncPart(ctx);
    await uploadOk(ctx.target, other.id, "cube.stp", await fixture("cube.stp"));
    assert.equal((await getModel(ctx.target, other.id)).status, 200, "the next file converts");
  },
  {
    converter: true,
    env: { MAX_UPLOAD_BYTES: String(60 * 1000 * 1000), CONVERSION_TIMEOUT_SECONDS: "10" },
    ignore: BASE_URL !== undefined,
  },
);

filesTest("deeply nested STEP-ish text: upload 201, model 422, server fine", async (ctx) => {
  const part = await cncPart(ctx);
  const depth = 200_000;
  const nested = await stepWith(`#1=A(${"(".repeat(depth)}${")".repeat(depth)});\n`);
  await uploadOk(ctx.target, part.id, "nested.step", nested);
  await expectError(await getModel(ctx.target, part.id), 422, "unprocessable", {
    error: "Model conversion failed",
  });
  const lists = await stepWith(`#1=B(${"(1,".repeat(depth)}1${")".repeat(depth)});\n`);
  const other = await cncPart(ctx);
  await uploadOk(ctx.target, other.id, "lists.step", lists);
  await expectError(await getModel(ctx.target, other.id), 422, "unprocessable");
  assert.equal((await settledConversion(ctx.call, other.id)).conversion?.status, "failed");
  assert.equal((await get(ctx.target, `/api/parts/${part.id}`)).status, 200);
  const third = await cncPart(ctx);
  await uploadOk(ctx.target, third.id, "cube.stp", await fixture("cube.stp"));
  assert.equal((await getModel(ctx.target, third.id)).status, 200, "the converter still works");
}, { converter: true });
