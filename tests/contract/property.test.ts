/**
 * Property-based hostile input: generated strings (any code point, control characters, lone
 * surrogates, invalid UTF-8 bytes, 10 000-character values) go into every text field, query
 * parameter and path segment. Whatever comes back is never a 5xx; a 2xx stored and returns the
 * value exactly (after the documented trim); a 4xx is the error envelope naming the field and
 * changed nothing.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { isSafeText } from "../../src/schemas/common.ts";
import { KeyListSchema } from "../../src/schemas/keys.ts";
import { newPart } from "../helpers.ts";
import {
  act,
  assertUnchanged,
  type Call,
  contract,
  createPart,
  expectClientError,
  expectError,
  expectOk,
  expectPart,
  getPart,
  type Part,
  partIn,
} from "./_support.ts";

/**
 * Properties run in-process even when TEST_BASE_URL names a server: they test the app's rules,
 * and a generated 120 KB URL is refused by each runtime's HTTP layer (Deno, Node, workerd close
 * the connection at different header sizes) before the app sees it.
 */
const IN_PROCESS = { SEED_SAMPLE_DATA: "false" };
const property = (name: string, fn: Parameters<typeof contract>[1]) =>
  contract(name, fn, IN_PROCESS);

const RUNS = { numRuns: 60 };

const char = (code: number) => String.fromCharCode(code);

/** Single code units that are hostile on their own. */
const hostileUnit = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).map(char),
  fc.integer({ min: 0x7f, max: 0x9f }).map(char),
  fc.integer({ min: 0xd800, max: 0xdfff }).map(char),
  fc.constantFrom("\uFEFF", "\uFFFE", "\uFFFF", "\u2028", "\u200B", "\u{10FFFF}", "🤖", '"', "\\"),
);

/** Strings of any kind: full unicode, hostile units mixed in, and very long ones. */
const hostile = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.array(fc.oneof(hostileUnit, fc.string({ maxLength: 4 })), { maxLength: 16 })
    .map((parts) => parts.join("")),
  fc.tuple(fc.string({ minLength: 12, maxLength: 12 }), hostileUnit).map(([s, u]) => s + u),
  fc.tuple(
    fc.constantFrom(99, 100, 101, 200, 201, 500, 5000, 5001, 10_000),
    fc.constantFrom("a", "é", "🤖", " "),
    fc.option(hostileUnit, { nil: "" }),
  ).map(([n, c, u]) => c.repeat(n) + u),
);

const hex = (b: number) => "%" + b.toString(16).toUpperCase().padStart(2, "0");

/**
 * Percent-encodes any string, lone surrogates included (as the bytes a lax encoder would send,
 * which are invalid UTF-8): encodeURIComponent would throw and URLSearchParams would replace
 * them with U+FFFD.
 */
function encode(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const pair = value.codePointAt(i)! > 0xffff;
    if (unit >= 0xd800 && unit <= 0xdfff && !pair) {
      out += hex(0xe0 | (unit >> 12)) + hex(0x80 | ((unit >> 6) & 0x3f)) +
        hex(0x80 | (unit & 0x3f));
      continue;
    }
    const text = pair ? value.slice(i, i + 2) : value[i];
    if (pair) i++;
    out += encodeURIComponent(text);
  }
  return out;
}

/** A query or path value: an encoded string, or raw bytes (overlong UTF-8, stray bytes). */
const queryValue = fc.oneof(
  hostile.map((s) => ({ raw: encode(s), text: s as string | null })),
  fc.oneof(
    fc.constantFrom([0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe0, 0x80, 0xaf], [0xff], [0x80]),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => [...a]),
  ).map((bytes) => ({ raw: "abc" + bytes.map(hex).join(""), text: null })),
);

/** Whether a percent-encoded value decodes as UTF-8. */
function decodable(raw: string): boolean {
  try {
    decodeURIComponent(raw);
    return true;
  } catch {
    return false;
  }
}

/** Field → how the API normalizes an accepted value (trim; blank optional text is null). */
const PART_TEXT: Record<string, (v: string) => string | null> = {
  partId: (v) => v.trim(),
  material: (v) => v.trim(),
  subsystem: (v) => v.trim(),
  name: (v) => v.trim() || null,
  assigned: (v) => v.trim() || null,
  file: (v) => v.trim() || null,
  notes: (v) => (v.trim() === "" ? null : v),
  onshapeUrl: (v) => v.trim() || null,
};

const textField = fc.constantFrom(...Object.keys(PART_TEXT));

/** Field values to try: onshapeUrl also gets the string inside a URL, so some are accepted. */
function fieldValue(field: string, value: string): string {
  return field === "onshapeUrl" && value.length % 2 === 0 ? `https://example.com/${value}` : value;
}

async function totalParts(call: Call): Promise<number> {
  const res = await call("GET", "/api/parts?limit=1");
  return (await expectOk(res, { parse: (v) => v as { total: number } })).total;
}

/**
 * Asserts a refusal: 400 validation_failed naming `field` (or one inside it), or 413 when the
 * whole body is over the size limit.
 */
async function expectRefused(res: Response, field: string) {
  if (res.status === 413) return void await expectError(res, 413, "payload_too_large");
  const body = await expectError(res, 400, "validation_failed");
  assert.ok(
    body.field === field || body.field?.startsWith(`${field}.`),
    `field ${JSON.stringify(body.field)} should be ${field}: ${body.error}`,
  );
  assert.ok(
    body.error.toLowerCase().includes(field.toLowerCase()),
    `error ${JSON.stringify(body.error)} names ${field}`,
  );
}

property("create: any text in any field is stored exactly or refused", async ({ call }) => {
  await fc.assert(
    fc.asyncProperty(textField, hostile, async (field, raw) => {
      const value = fieldValue(field, raw);
      const before = await totalParts(call);
      const res = await call("POST", "/api/parts", newPart({ [field]: value }));
      assert.ok(res.status < 500, `${res.status} ${await res.clone().text()}`);
      if (res.status === 201) {
        assert.ok(isSafeText(value), "unsafe text must never be accepted");
        const created = await expectPart(res, 201);
        const expected = PART_TEXT[field](value);
        assert.equal(created[field as keyof Part], expected);
        assert.equal((await getPart(call, created.id))[field as keyof Part], expected);
      } else {
        await expectRefused(res, field);
        assert.equal(await totalParts(call), before, "nothing created");
      }
    }),
    RUNS,
  );
});

property("miscInfo keys and values are stored exactly or refused", async ({ call }) => {
  const misc = fc.oneof(
    fc.tuple(hostile, hostile).map(([k, v]) => ({ [k]: v })),
    hostile.map((v) => ({ deep: [{ list: [1, v] }] })),
  );
  await fc.assert(
    fc.asyncProperty(misc, async (miscInfo) => {
      const before = await totalParts(call);
      const res = await call("POST", "/api/parts", newPart({ miscInfo }));
      assert.ok(res.status < 500, `${res.status} ${await res.clone().text()}`);
      if (res.status === 201) {
        const created = await expectPart(res, 201);
        assert.deepEqual(created.miscInfo, miscInfo);
        assert.deepEqual((await getPart(call, created.id)).miscInfo, miscInfo);
      } else {
        await expectRefused(res, "miscInfo");
        assert.equal(await totalParts(call), before, "nothing created");
      }
    }),
    RUNS,
  );
});

property("update: any text in any field is stored exactly or refused", async ({ call }) => {
  const part = await createPart(call, { type: "hand" });
  await fc.assert(
    fc.asyncProperty(textField, hostile, async (field, raw) => {
      const value = fieldValue(field, raw);
      const before = await getPart(call, part.id);
      const res = await call("PUT", `/api/parts/${part.id}`, { [field]: value });
      assert.ok(res.status < 500, `${res.status} ${await res.clone().text()}`);
      if (res.status === 200) {
        assert.ok(isSafeText(value), "unsafe text must never be accepted");
        const updated = await expectPart(res);
        assert.equal(updated[field as keyof Part], PART_TEXT[field](value));
        assert.deepEqual(await getPart(call, part.id), updated);
      } else {
        await expectRefused(res, field);
        await assertUnchanged(call, before);
      }
    }),
    RUNS,
  );
});

property("workflow bodies: stored exactly or refused, the part unchanged", async ({ call }) => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("approve-reviewer", "approve-misc", "assign", "complete-misc"),
      hostile,
      async (kind, value) => {
        const stage = kind.startsWith("approve") ? "review" : "cnc";
        const part = await partIn(call, stage, { type: stage === "review" ? "cnc" : undefined });
        const [action, body, field] = kind === "approve-reviewer"
          ? ["approve", { reviewer: value }, "reviewer"]
          : kind === "approve-misc"
          ? ["approve", { miscInfo: { [value]: value } }, "miscInfo"]
          : kind === "assign"
          ? ["assign", { assigned: value }, "assigned"]
          : ["complete", { miscInfo: { note: value } }, "miscInfo"];
        const res = await call("POST", `/api/parts/${part.id}/${action}`, body);
        assert.ok(res.status < 500, `${res.status} ${await res.clone().text()}`);
        if (res.status === 200) {
          assert.ok(isSafeText(value), "unsafe text must never be accepted");
          const after = await expectPart(res);
          assert.deepEqual(await getPart(call, part.id), after);
          if (field === "reviewer") {
            assert.equal(after.miscInfo?.reviewer ?? null, value.trim() || null);
          }
          if (field === "assigned") assert.equal(after.assigned, value.trim());
          if (kind === "approve-misc") assert.equal(after.miscInfo?.[value], value);
          if (kind === "complete-misc") assert.equal(after.miscInfo?.note, value);
        } else {
          await expectRefused(res, field);
          await assertUnchanged(call, part);
        }
      },
    ),
    RUNS,
  );
});

property("keys: names are stored exactly or refused", async ({ call }) => {
  const names = async () =>
    (await expectOk(await call("GET", "/api/keys"), KeyListSchema)).keys.map((k) => k.name);
  const existing = await expectOk(
    await call("POST", "/api/keys", { name: "Property", role: "viewer" }),
    { parse: (v) => v as { id: number } },
    201,
  );
  await fc.assert(
    fc.asyncProperty(fc.boolean(), hostile, async (create, value) => {
      const before = await names();
      const res = create
        ? await call("POST", "/api/keys", { name: value, role: "viewer" })
        : await call("PATCH", `/api/keys/${existing.id}`, { name: value });
      assert.ok(res.status < 500, `${res.status} ${await res.clone().text()}`);
      if (res.status < 300) {
        assert.ok(isSafeText(value), "unsafe text must never be accepted");
        const key = await expectOk(res, { parse: (v) => v as { name: string } }, res.status);
        assert.equal(key.name, value.trim());
        assert.ok((await names()).includes(value.trim()));
      } else {
        await expectRefused(res, "name");
        assert.deepEqual(await names(), before);
      }
    }),
    RUNS,
  );
});

const PART_QUERY = ["search", "sort_by", "sort_order", "category", "limit", "offset"];
const ACTIVITY_QUERY = ["actor", "partId", "action", "kind", "since", "after", "part", "order"];

property("query parameters: a list or a 400 naming the parameter", async ({ call }) => {
  const part = await partIn(call, "cnc", { assigned: "Query Person" });
  const routes = [
    ...PART_QUERY.map((p) => ({ path: "/api/parts", param: p })),
    ...PART_QUERY.filter((p) => p !== "category")
      .map((p) => ({ path: "/api/parts/categories/cnc", param: p })),
    ...[...ACTIVITY_QUERY, "limit"].map((p) => ({ path: "/api/activity", param: p })),
    ...["limit", "offset"].map((p) => ({ path: `/api/parts/${part.id}/history`, param: p })),
  ];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...routes), queryValue, async ({ path, param }, value) => {
      const res = await call("GET", `${path}?${param}=${value.raw}`);
      assert.ok(res.status < 500, `${res.status} ${await res.clone().text()}`);
      if (res.status === 200) {
        assert.ok(decodable(value.raw), "undecodable input must never be accepted");
        assert.ok(value.text === null || isSafeText(value.text), "unsafe text is refused");
        await expectOk(res, { parse: (v) => v });
      } else {
        await expectRefused(res, param);
      }
    }),
    { numRuns: 150 },
  );
  await assertUnchanged(call, part);
});

property("NUL after 12 characters of search is a 400, not a 500", async ({ call }) => {
  const res = await call("GET", "/api/parts?search=abcdefghijkl%00");
  await expectRefused(res, "search");
});

property("path segments: 404 for ids, 400 for stages, never a 5xx", async ({ call }) => {
  const part = await partIn(call, "hand");
  await fc.assert(
    fc.asyncProperty(queryValue, async (value) => {
      const segment = value.raw;
      const decoded = decodable(segment) ? decodeURIComponent(segment) : segment;
      const res = await call("GET", `/api/parts/categories/${segment}`);
      assert.ok(res.status < 500, `${res.status} ${await res.clone().text()}`);
      if (res.status === 200) await expectOk(res, { parse: (v) => v });
      else if (res.status === 400) await expectRefused(res, "category");
      else await expectClientError(res);
      for (const [method, suffix] of [["GET", ""], ["PUT", ""], ["POST", "/assign"]]) {
        const r = await call(
          method,
          `/api/parts/${segment}${suffix}`,
          method === "GET" ? undefined : { assigned: "x", name: "x" },
        );
        assert.ok(r.status < 500, `${r.status} ${await r.clone().text()}`);
        // `.` and `..` are resolved by the URL parser before routing; the part's own id is found.
        const reachable = (/^[0-9]+$/.test(decoded) && Number(decoded) === part.id) ||
          /^\.{0,2}$/.test(decoded);
        if (reachable) await r.body?.cancel();
        else await expectClientError(r);
      }
    }),
    RUNS,
  );
  assert.equal((await getPart(call, part.id)).category, "hand");
});

property("a 10 000-character value is a clean 400 wherever a limit applies", async ({ call }) => {
  const long = "x".repeat(10_000);
  const part = await partIn(call, "cnc");
  for (const field of Object.keys(PART_TEXT)) {
    await expectRefused(await call("POST", "/api/parts", newPart({ [field]: long })), field);
    await expectRefused(await call("PUT", `/api/parts/${part.id}`, { [field]: long }), field);
  }
  await expectRefused(await call("GET", `/api/parts?search=${long}`), "search");
  await expectRefused(await call("GET", `/api/activity?actor=${long}`), "actor");
  await expectRefused(await call("POST", "/api/keys", { name: long, role: "viewer" }), "name");
  await expectRefused(
    await call("POST", `/api/parts/${part.id}/assign`, { assigned: long }),
    "assigned",
  );
  await assertUnchanged(call, part);
  await act(call, part.id, "assign", { assigned: "still works" });
});
