/**
 * The Onshape drawing client against a local stand-in that checks signatures the way Onshape
 * documents them: the happy path, bad keys and clocks, failed, stuck and hanging exports,
 * wrong answers, and redirects (followed and re-signed on the same host, refused elsewhere).
 */
import assert from "node:assert/strict";
import {
  createOnshapeClient,
  type DrawingPdfResult,
  type OnshapeClientOptions,
  type OnshapeRef,
  parseOnshapeUrl,
} from "../../src/files/onshape.ts";
import {
  type OnshapeStandIn,
  STAND_IN_ACCESS_KEY,
  STAND_IN_SECRET_KEY,
  type StandInMode,
  startOnshapeStandIn,
} from "./onshape-stand-in.ts";

const HEX = "0123456789abcdef01234567";
const HEX2 = "89abcdef0123456789abcdef";
const HEX3 = "fedcba9876543210fedcba98";

Deno.test("parseOnshapeUrl: element links of any Onshape stack", () => {
  const cases: [string, OnshapeRef][] = [
    [
      `https://cad.onshape.com/documents/${HEX}/w/${HEX2}/e/${HEX3}`,
      { documentId: HEX, wvm: "w", wvmId: HEX2, elementId: HEX3 },
    ],
    [
      `https://cad.onshape.com/documents/${HEX}/v/${HEX2}/e/${HEX3}?renderMode=0&uiState=1#x`,
      { documentId: HEX, wvm: "v", wvmId: HEX2, elementId: HEX3 },
    ],
    [
      `https://frc3322.onshape.com/documents/${HEX}/m/${HEX2}/e/${HEX3}/`,
      { documentId: HEX, wvm: "m", wvmId: HEX2, elementId: HEX3 },
    ],
    [
      `  https://CAD.onshape.com/documents/${HEX.toUpperCase()}/W/${HEX2}/e/${HEX3}  `,
      { documentId: HEX, wvm: "w", wvmId: HEX2, elementId: HEX3 },
    ],
  ];
  for (const [url, ref] of cases) assert.deepEqual(parseOnshapeUrl(url), ref, url);
});

Deno.test("parseOnshapeUrl: anything else is refused", () => {
  const path = `/documents/${HEX}/w/${HEX2}/e/${HEX3}`;
  const refused = [
    "",
    "not a url",
    `javascript:alert(1)//${path}`,
    `ftp://cad.onshape.com${path}`,
    `http://cad.onshape.com${path}`, // Onshape is https-only
    `https://evil.example${path}`,
    `https://cad.onshape.com.evil.example${path}`,
    `https://evilonshape.com${path}`,
    `https://user:pw@cad.onshape.com${path}`,
    `https://cad.onshape.com/documents/${HEX}/w/${HEX2}`,
    `https://cad.onshape.com/documents/${HEX}/x/${HEX2}/e/${HEX3}`,
    `https://cad.onshape.com/documents/${HEX.slice(1)}/w/${HEX2}/e/${HEX3}`,
    `https://cad.onshape.com/documents/${HEX}/w/${HEX2}/e/${HEX3}/extra`,
    `https://cad.onshape.com/documents/${HEX}/w/${HEX2}/e/${HEX3.replace("f", "g")}`,
    `https://cad.onshape.com/documents/${HEX}/w/../e/${HEX3}`,
  ];
  for (const url of refused) assert.equal(parseOnshapeUrl(url), null, url);
});

Deno.test("parseOnshapeUrl: a configured extra host (private stack, stand-in) is accepted", () => {
  const url = `http://127.0.0.1:4567/documents/${HEX}/w/${HEX2}/e/${HEX3}`;
  assert.equal(parseOnshapeUrl(url), null);
  assert.equal(parseOnshapeUrl(url, ["127.0.0.1:4567"])?.elementId, HEX3);
  assert.equal(parseOnshapeUrl(url, ["127.0.0.1:9999"]), null);
});

Deno.test("createOnshapeClient: the base URL must be a bare origin", () => {
  const keys = { accessKey: "a", secretKey: "s" };
  for (
    const baseUrl of [
      "cad.onshape.com",
      "ftp://x",
      "https://u:p@x",
      "https://x/api",
      "https://x/?a",
    ]
  ) {
    assert.throws(() => createOnshapeClient({ ...keys, baseUrl }), /ONSHAPE_BASE_URL/, baseUrl);
  }
  assert.equal(
    createOnshapeClient({ ...keys, baseUrl: "https://cad.onshape.com/" }).origin,
    "https://cad.onshape.com",
  );
});

/** Runs one export against a fresh stand-in; the stand-in is closed afterwards. */
async function withStandIn(
  mode: StandInMode,
  run: (
    s: OnshapeStandIn,
    client: (o?: Partial<OnshapeClientOptions>) => ReturnType<
      typeof createOnshapeClient
    >,
  ) => Promise<void>,
  standIn: Parameters<typeof startOnshapeStandIn>[0] = {},
) {
  const s = startOnshapeStandIn({ mode, ...standIn });
  try {
    await run(s, (o = {}) =>
      createOnshapeClient({
        accessKey: STAND_IN_ACCESS_KEY,
        secretKey: STAND_IN_SECRET_KEY,
        baseUrl: s.url,
        pollMs: 1,
        timeoutMs: 10_000,
        ...o,
      }));
  } finally {
    await s.close();
  }
}

const drawingRef = (s: OnshapeStandIn, wvm: "w" | "v" = "w"): OnshapeRef => ({
  documentId: s.drawing.documentId,
  wvm,
  wvmId: wvm === "w" ? s.drawing.workspaceId : s.drawing.versionId,
  elementId: s.drawing.elementId,
});

function assertFailure(
  result: DrawingPdfResult,
  status: number,
  pattern: RegExp,
): asserts result is Extract<DrawingPdfResult, { ok: false }> {
  assert.equal(result.ok, false, "expected a failure");
  if (result.ok) return;
  assert.equal(result.status, status, result.message);
  assert.match(result.message, pattern);
  assert.ok(!result.message.includes(STAND_IN_SECRET_KEY), "no secret in the message");
  assert.ok(!result.message.includes("HmacSHA256"), "no signature in the message");
}

Deno.test("onshape: a signed export is started, polled and downloaded as the PDF", async () => {
  await withStandIn("ok", async (s, client) => {
    const result = await client().fetchDrawingPdf(drawingRef(s));
    assert.ok(result.ok, result.ok ? "" : result.message);
    assert.deepEqual(result.pdf, s.pdf);
    const { documentId: did, workspaceId: wid, elementId: eid } = s.drawing;
    assert.deepEqual(
      s.requests.map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{24}/g, "<id>")}`),
      [
        "POST /api/v6/drawings/d/<id>/w/<id>/e/<id>/translations",
        "GET /api/v6/translations/<id>",
        "GET /api/v6/translations/<id>",
        "GET /api/v6/documents/d/<id>/externaldata/<id>",
      ],
    );
    assert.equal(s.requests[0].path, `/api/v6/drawings/d/${did}/w/${wid}/e/${eid}/translations`);
    assert.ok(s.requests.every((r) => r.authorized), "every request carried a valid signature");
    const nonces = new Set(s.requests.map((r) => r.nonce));
    assert.equal(nonces.size, s.requests.length, "a fresh nonce for every request");
    assert.deepEqual(s.requests[0].body, {
      formatName: "PDF",
      storeInDocument: false,
      notifyUser: false,
    });
  });
});

Deno.test("onshape: a drawing linked at a version exports from that version", async () => {
  await withStandIn("ok", async (s, client) => {
    const result = await client().fetchDrawingPdf(drawingRef(s, "v"));
    assert.ok(result.ok);
    assert.match(s.requests[0].path, new RegExp(`/v/${s.drawing.versionId}/`));
  });
});

Deno.test("onshape: microversion links and malformed ids are refused up front", async () => {
  await withStandIn("ok", async (s, client) => {
    const c = client();
    const micro = await c.fetchDrawingPdf({ ...drawingRef(s), wvm: "m" });
    assertFailure(micro, 422, /microversion/);
    const bad = await c.fetchDrawingPdf({ ...drawingRef(s), elementId: "../../../users" });
    assertFailure(bad, 422, /Not a valid Onshape drawing link/);
    assert.equal(s.requests.length, 0);
  });
});

Deno.test("onshape: a wrong secret is a 502 naming the keys, never the secret", async () => {
  await withStandIn("ok", async (s, client) => {
    const result = await client({ secretKey: "not-the-secret-0123456789" }).fetchDrawingPdf(
      drawingRef(s),
    );
    assertFailure(result, 502, /rejected the API key \(401\).*ONSHAPE_SECRET_KEY/);
    assert.ok(!result.message.includes("not-the-secret-0123456789"));
    assert.equal(s.requests.length, 1);
    assert.equal(s.requests[0].authorized, false);
    assert.equal(s.requests[0].hasAuthorization, true);
  });
});

Deno.test("onshape: a wrong access key and a clock an hour off are rejected too", async () => {
  await withStandIn("ok", async (s, client) => {
    const wrongKey = await client({ accessKey: "someoneElse0123456" }).fetchDrawingPdf(
      drawingRef(s),
    );
    assertFailure(wrongKey, 502, /401/);
    const skewed = await client({ now: () => Date.now() - 3_600_000 }).fetchDrawingPdf(
      drawingRef(s),
    );
    assertFailure(skewed, 502, /clock/);
    assert.ok(s.requests.every((r) => !r.authorized));
  });
});

Deno.test("onshape: a FAILED translation is a 422 with Onshape's reason", async () => {
  await withStandIn("failed", async (s, client) => {
    const result = await client().fetchDrawingPdf(drawingRef(s));
    assertFailure(result, 422, /could not export the drawing as PDF: Drawing has no sheets/);
    assert.ok(!s.requests.some((r) => r.path.includes("externaldata")));
  });
});

Deno.test("onshape: a missing document or element is 404; a Part Studio is 422", async () => {
  await withStandIn("ok", async (s, client) => {
    const c = client();
    const noElement = await c.fetchDrawingPdf({ ...drawingRef(s), elementId: HEX3 });
    assertFailure(noElement, 404, new RegExp(`no drawing ${HEX3}`));
    const noDocument = await c.fetchDrawingPdf({ ...drawingRef(s), documentId: HEX2 });
    assertFailure(noDocument, 404, /or the API key's account cannot see it/);
    const partStudio = await c.fetchDrawingPdf({
      ...drawingRef(s),
      elementId: s.partStudioElementId,
    });
    assertFailure(partStudio, 422, /cannot export element .* as a PDF.*Element is not a drawing/);
  });
  await withStandIn("not-found", async (s, client) => {
    assertFailure(await client().fetchDrawingPdf(drawingRef(s)), 404, /no drawing/);
  });
});

Deno.test("onshape: an export that never answers ends at the overall timeout (504)", async () => {
  await withStandIn("hang", async (s, client) => {
    const result = await client({ timeoutMs: 200 }).fetchDrawingPdf(drawingRef(s));
    assertFailure(result, 504, /did not deliver the drawing PDF within 200 ms/);
    assert.equal(s.requests.length, 1);
  });
});

Deno.test("onshape: an export stuck in ACTIVE stops after the poll limit (504)", async () => {
  await withStandIn("stuck", async (s, client) => {
    const result = await client({ maxPolls: 3 }).fetchDrawingPdf(drawingRef(s));
    assertFailure(result, 504, /still running after 3 status checks/);
    assert.equal(s.requests.filter((r) => r.path.includes("/translations/")).length, 3);
  });
});

Deno.test("onshape: an answer that is not a PDF is refused (502)", async () => {
  await withStandIn("not-pdf", async (s, client) => {
    assertFailure(await client().fetchDrawingPdf(drawingRef(s)), 502, /is not a PDF/);
  });
});

Deno.test("onshape: a PDF over the size limit is refused (502)", async () => {
  await withStandIn("ok", async (s, client) => {
    const small = await client({ maxBytes: s.pdf.length }).fetchDrawingPdf(drawingRef(s));
    assert.ok(small.ok, "exactly at the limit is fine");
    const big = await client({ maxBytes: s.pdf.length - 1 }).fetchDrawingPdf(drawingRef(s));
    assertFailure(big, 502, /larger than/);
  }, { pdf: new Uint8Array([...new TextEncoder().encode("%PDF-1.7\n"), ...new Uint8Array(5000)]) });
});

Deno.test("onshape: a redirect to another host is not followed; the key never leaves", async () => {
  const elsewhere = startOnshapeStandIn();
  try {
    await withStandIn("redirect", async (s, client) => {
      const result = await client().fetchDrawingPdf(drawingRef(s));
      assertFailure(result, 502, /redirected to another host \(127\.0\.0\.1:\d+\).*not followed/);
      assert.equal(elsewhere.requests.length, 0, "the other host saw no request at all");
    }, { redirectTo: `${elsewhere.url}/api/v6/documents/d/x/externaldata/y` });
  } finally {
    await elsewhere.close();
  }
});

Deno.test("onshape: a same-host redirect is followed, signed for its new path", async () => {
  await withStandIn("redirect-same-host", async (s, client) => {
    const result = await client().fetchDrawingPdf(drawingRef(s));
    assert.ok(result.ok, result.ok ? "" : result.message);
    assert.deepEqual(result.pdf, s.pdf);
    const last = s.requests.at(-1)!;
    assert.match(last.path, /^\/api\/v6\/blobs\//);
    assert.equal(last.query, "region=test&part=1");
    assert.equal(last.authorized, true);
  });
});

Deno.test("onshape: an unreachable stack is a 502 naming the host", async () => {
  const s = startOnshapeStandIn();
  const url = s.url;
  await s.close();
  const client = createOnshapeClient({
    accessKey: STAND_IN_ACCESS_KEY,
    secretKey: STAND_IN_SECRET_KEY,
    baseUrl: url,
  });
  const ref = { documentId: HEX, wvm: "w" as const, wvmId: HEX2, elementId: HEX3 };
  assertFailure(await client.fetchDrawingPdf(ref), 502, /Could not reach Onshape at 127\.0\.0\.1/);
});

Deno.test("onshape: an injected fetch is the only way out and sees only the base URL", async () => {
  const seen: string[] = [];
  const client = createOnshapeClient({
    accessKey: "ak",
    secretKey: "sk",
    baseUrl: "https://company.onshape.com",
    fetch: (input) => {
      seen.push(String(input));
      return Promise.resolve(Response.json({ message: "Too many" }, { status: 429 }));
    },
  });
  const ref = { documentId: HEX, wvm: "w" as const, wvmId: HEX2, elementId: HEX3 };
  assertFailure(await client.fetchDrawingPdf(ref), 503, /rate limiting/);
  assert.deepEqual(seen, [
    `https://company.onshape.com/api/v6/drawings/d/${HEX}/w/${HEX2}/e/${HEX3}/translations`,
  ]);
});
