/**
 * Hostile and malformed input: every case must be a 4xx JSON error envelope (never a 500) and
 * must leave the data exactly as it was.
 */
import assert from "node:assert/strict";
import { KEY, newPart } from "../helpers.ts";
import {
  act,
  assertUnchanged,
  type Call,
  contract,
  createPart,
  expectClientError,
  expectError,
  expectPart,
  getPart,
  list,
  type Part,
  partIn,
  token,
} from "./_support.ts";

/** Asserts that nothing with `tok` in partId/notes exists. */
async function noneCreated(call: Call, tok: string) {
  assert.equal((await list(call, { search: tok })).total, 0, "nothing was created");
}

/** A create attempt whose partId carries `tok`, so a wrongly created part would be found. */
function createBody(tok: string, extra: Record<string, unknown>) {
  return newPart({ partId: tok, notes: tok, ...extra });
}

const MALFORMED = [
  "{",
  '{"partId":}',
  "{'partId':'x'}",
  '{"partId":"x",}',
  "{} trailing",
  '{"a":1}{"b":2}',
  "NaN",
  "undefined",
  '{"partId":"\\u12"}',
  "\u0000",
  "[",
];

contract("malformed JSON is a 400 on every body route", async ({ call, t }) => {
  const part = await partIn(call, "cnc");
  for (const text of MALFORMED) {
    await t.step(JSON.stringify(text), async () => {
      const create = await call("POST", "/api/parts", text);
      await expectError(create, 400, "validation_failed", { error: /JSON/ });
      await expectError(await call("PUT", `/api/parts/${part.id}`, text), 400, "validation_failed");
      for (const action of ["approve", "assign", "unclaim", "complete", "revert"]) {
        const res = await call("POST", `/api/parts/${part.id}/${action}`, text);
        await expectError(res, 400, "validation_failed");
      }
    });
  }
  await assertUnchanged(call, part);
});

contract("a body that is not an object is a 400", async ({ call, t }) => {
  const part = await partIn(call, "hand");
  for (const text of ["[]", '[{"partId":"x"}]', '"a string"', "null", "42", "true", "false"]) {
    await t.step(text, async () => {
      await expectError(await call("POST", "/api/parts", text), 400, "validation_failed", {
        error: /object/,
      });
      await expectError(await call("PUT", `/api/parts/${part.id}`, text), 400, "validation_failed");
      for (const action of ["approve", "assign", "complete", "unclaim", "revert"]) {
        const res = await call("POST", `/api/parts/${part.id}/${action}`, text);
        await expectError(res, 400, "validation_failed");
      }
    });
  }
  await assertUnchanged(call, part);
});

/** Wrong values per field; each must be a 400 naming the field. */
const WRONG: Record<string, unknown[]> = {
  partId: [1, true, null, [], {}, ["x"]],
  name: [1, false, [], { a: 1 }],
  type: [1, true, "CNC", "laser", "Hand", [], {}],
  material: [1, null, [], {}],
  subsystem: [2, false, null, ["Arm"]],
  amount: ["5", "one", true, null, [], {}, 1.5, 0, -1, 10001, 1e21, -0.5],
  assigned: [5, true, [], { name: "x" }],
  status: [1, null, "Done", "pending", "In progress", "", []],
  notes: [5, [], {}, true],
  file: [5, [], {}],
  onshapeUrl: [
    5,
    [],
    "not a url",
    "ftp://example.com/x",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "//example.com",
  ],
  claimedDate: [
    123,
    true,
    "yesterday",
    "2026-13-01T00:00:00Z",
    "2026-02-31T00:00:00Z",
    "2026-01-01",
    "2026-01-01 10:00:00",
    [],
  ],
  miscInfo: ["text", [1, 2], 5, true, []],
  category: ["shipping", 1, null, "REVIEW", []],
};

contract("wrong types and unknown enum values are 400s naming the field", async ({ call, t }) => {
  const part = await createPart(call, { type: "cnc", miscInfo: { keep: true } });
  for (const [field, values] of Object.entries(WRONG)) {
    for (const value of values) {
      await t.step(`${field} = ${JSON.stringify(value)}`, async () => {
        const tok = token("WRONG");
        const create = await call("POST", "/api/parts", createBody(tok, { [field]: value }));
        await expectError(create, 400, "validation_failed", { field, error: field });
        await noneCreated(call, tok);
        const put = await call("PUT", `/api/parts/${part.id}`, { [field]: value });
        await expectError(put, 400, "validation_failed", { field, error: field });
      });
    }
  }
  await assertUnchanged(call, part);
});

contract("huge and out-of-range numbers in raw JSON are 400s", async ({ call, t }) => {
  const part = await createPart(call);
  for (const raw of ["1e400", "-1e400", "10001", "0", "-1", "1.5", "1e21", "9007199254740993"]) {
    await t.step(`amount ${raw}`, async () => {
      const tok = token("NUM");
      const body = `{"partId":"${tok}","material":"m","subsystem":"s","amount":${raw}}`;
      await expectError(await call("POST", "/api/parts", body), 400, "validation_failed", {
        field: "amount",
        error: "amount",
      });
      await noneCreated(call, tok);
      const put = await call("PUT", `/api/parts/${part.id}`, `{"amount":${raw}}`);
      await expectError(put, 400, "validation_failed", { field: "amount" });
    });
  }
  await t.step("the bounds themselves are fine", async () => {
    assert.equal((await createPart(call, { amount: 1 })).amount, 1);
    assert.equal((await createPart(call, { amount: 10000 })).amount, 10000);
  });
  await assertUnchanged(call, part);
});

const LIMITS: [string, number, (n: number) => string][] = [
  ["partId", 100, (n) => "P".repeat(n)],
  ["name", 200, (n) => "n".repeat(n)],
  ["material", 200, (n) => "m".repeat(n)],
  ["subsystem", 100, (n) => "s".repeat(n)],
  ["assigned", 100, (n) => "a".repeat(n)],
  ["notes", 5000, (n) => "o".repeat(n)],
  ["file", 200, (n) => "f".repeat(n)],
  ["onshapeUrl", 500, (n) => "https://e.com/" + "u".repeat(n - 14)],
];

contract("overlong strings are 400s; the maximum length is fine", async ({ call, t }) => {
  const part = await createPart(call);
  for (const [field, max, make] of LIMITS) {
    await t.step(`${field} ${max + 1}`, async () => {
      const tok = token("LONG");
      const over = make(max + 1);
      // partId and notes both carry the token, so overriding either one still finds a leak.
      const create = await call("POST", "/api/parts", createBody(tok, { [field]: over }));
      await expectError(create, 400, "validation_failed", { field, error: String(max) });
      await noneCreated(call, tok);
      const put = await call("PUT", `/api/parts/${part.id}`, { [field]: over });
      await expectError(put, 400, "validation_failed", { field, error: String(max) });
    });
    await t.step(`${field} ${max}`, async () => {
      const exact = make(max);
      assert.equal(exact.length, max);
      const created = await createPart(call, { [field]: exact });
      assert.equal(created[field as keyof Part], exact);
    });
  }
  await t.step("assign and approve bodies are limited too", async () => {
    const fab = await partIn(call, "hand");
    const assign = await call("POST", `/api/parts/${fab.id}/assign`, { assigned: "a".repeat(101) });
    await expectError(assign, 400, "validation_failed", { field: "assigned", error: "100" });
    await assertUnchanged(call, fab);
    const review = await createPart(call);
    const approve = await call("POST", `/api/parts/${review.id}/approve`, {
      reviewer: "r".repeat(101),
    });
    await expectError(approve, 400, "validation_failed", { field: "reviewer", error: "100" });
    await assertUnchanged(call, review);
  });
  await assertUnchanged(call, part);
});

const MISC_LIMIT = 16 * 1024;

/** A miscInfo whose JSON serialization is exactly `bytes` bytes long. */
function miscOfBytes(bytes: number): Record<string, unknown> {
  const misc = { pad: "x".repeat(bytes - '{"pad":""}'.length) };
  assert.equal(new TextEncoder().encode(JSON.stringify(misc)).length, bytes);
  return misc;
}

contract(
  "miscInfo is limited to 16 KiB serialized, on every route that takes it",
  async ({ call, t }) => {
    const part = await createPart(call, { type: "cnc", miscInfo: { keep: 1 } });
    const oversized: [string, Record<string, unknown>][] = [
      ["one byte over", miscOfBytes(MISC_LIMIT + 1)],
      ["far over", { pad: "x".repeat(100_000) }],
      ["multi-byte characters count as bytes", { pad: "€".repeat(6000) }],
      ["many keys", Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i]))],
    ];
    for (const [label, misc] of oversized) {
      await t.step(label, async () => {
        const tok = token("MISC");
        const create = await call("POST", "/api/parts", createBody(tok, { miscInfo: misc }));
        await expectError(create, 400, "validation_failed", { field: "miscInfo", error: "16384" });
        await noneCreated(call, tok);
        const alias = await call("POST", "/api/parts", createBody(tok, { misc_info: misc }));
        await expectError(alias, 400, "validation_failed", { field: "miscInfo" });
        await noneCreated(call, tok);
        const put = await call("PUT", `/api/parts/${part.id}`, { miscInfo: misc });
        await expectError(put, 400, "validation_failed", { field: "miscInfo" });
        const approve = await call("POST", `/api/parts/${part.id}/approve`, { miscInfo: misc });
        await expectError(approve, 400, "validation_failed", { field: "miscInfo" });
        await assertUnchanged(call, part);
      });
    }
    await t.step("exactly 16 KiB is fine", async () => {
      const misc = miscOfBytes(MISC_LIMIT);
      const created = await createPart(call, { miscInfo: misc });
      assert.deepEqual(created.miscInfo, misc);
    });
    await t.step("complete with an oversized miscInfo changes nothing", async () => {
      const fab = await partIn(call, "cnc", { assigned: "Holder" });
      const res = await call("POST", `/api/parts/${fab.id}/complete`, {
        miscInfo: miscOfBytes(MISC_LIMIT + 1),
      });
      await expectError(res, 400, "validation_failed", { field: "miscInfo" });
      await assertUnchanged(call, fab);
    });
  },
);

contract("miscInfo merged by approve and complete cannot grow past 16 KiB", async ({ call }) => {
  const half = { a: "x".repeat(9000) };
  const part = await createPart(call, { type: "cnc", miscInfo: half });
  const approve = await call("POST", `/api/parts/${part.id}/approve`, {
    miscInfo: { b: "y".repeat(9000) },
  });
  await expectError(approve, 400, "validation_failed", { field: "miscInfo", error: "16384" });
  await assertUnchanged(call, part);
  const approved = await act(call, part.id, "approve", { miscInfo: { b: "small" } });
  const complete = await call("POST", `/api/parts/${part.id}/complete`, {
    miscInfo: { c: "z".repeat(9000) },
  });
  await expectError(complete, 400, "validation_failed", { field: "miscInfo" });
  await assertUnchanged(call, approved);
  // Replacing a key with a same-sized value keeps the size: fine.
  const done = await act(call, part.id, "complete", { miscInfo: { a: "w".repeat(9000) } });
  assert.equal(done.category, "completed");
  assert.equal(done.miscInfo?.a, "w".repeat(9000));
});

contract(
  "deeply nested miscInfo within the limit is accepted and round-trips",
  async ({ call, t }) => {
    await t.step("2000 nested objects", async () => {
      let misc: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 2000; i++) misc = { a: misc };
      assert.ok(JSON.stringify(misc).length <= MISC_LIMIT);
      const part = await createPart(call, { miscInfo: misc });
      // Compared as text: assert.deepEqual itself recurses too deep for this.
      assert.equal(JSON.stringify(part.miscInfo), JSON.stringify(misc));
      assert.equal(JSON.stringify((await getPart(call, part.id)).miscInfo), JSON.stringify(misc));
    });
    await t.step("5000 nested arrays", async () => {
      const raw = `{"d":${"[".repeat(5000)}1${"]".repeat(5000)}}`;
      const part = await createPart(call);
      const updated = await expectPart(
        await call("PUT", `/api/parts/${part.id}`, `{"miscInfo":${raw}}`),
      );
      assert.equal(JSON.stringify(updated.miscInfo), raw);
    });
    await t.step("nesting far past the limit is a 400, not a crash", async () => {
      const part = await createPart(call);
      const deep = `{"miscInfo":{"d":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`;
      const res = await call("PUT", `/api/parts/${part.id}`, deep);
      await expectError(res, 400, "validation_failed", { field: "miscInfo" });
      const deepUnknown = `{"zzz":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
      // An unknown key is ignored, however deep: nothing changes.
      const res2 = await call("PUT", `/api/parts/${part.id}`, deepUnknown);
      assert.deepEqual(await expectPart(res2), part);
      await assertUnchanged(call, part);
    });
  },
);

contract("__proto__ keys neither pollute nor sneak through", async ({ call, target, t }) => {
  await t.step("top level of a create body is an ignored unknown key", async () => {
    const tok = token("PROTO");
    const raw = `{"__proto__":{"category":"completed","status":"Completed","amount":99},` +
      `"partId":"${tok}","material":"m","subsystem":"s"}`;
    const part = await expectPart(await call("POST", "/api/parts", raw), 201);
    assert.equal(part.category, "review");
    assert.equal(part.status, "Pending");
    assert.equal(part.amount, 1);
    assert.equal(({} as Record<string, unknown>).category, undefined, "no global pollution");
    const put = await expectPart(
      await call("PUT", `/api/parts/${part.id}`, '{"__proto__":{"category":"cnc","name":"x"}}'),
    );
    assert.deepEqual(put, part, "nothing changed");
    const approve = await act(
      call,
      part.id,
      "approve",
      JSON.parse('{"__proto__":{"reviewer":"evil","miscInfo":{"x":1}}}'),
    );
    assert.equal(approve.miscInfo, null);
  });
  await t.step("inside miscInfo it is refused", async () => {
    const part = await createPart(call, { miscInfo: { keep: true } });
    const tok = token("PROTO");
    for (
      const raw of [
        '{"__proto__":{"polluted":true}}',
        '{"a":{"__proto__":{"polluted":true}}}',
        '{"list":[{"__proto__":{"polluted":true}}]}',
      ]
    ) {
      const put = await call("PUT", `/api/parts/${part.id}`, `{"miscInfo":${raw}}`);
      await expectError(put, 400, "validation_failed", { field: "miscInfo", error: "__proto__" });
      const create = await call(
        "POST",
        "/api/parts",
        `{"partId":"${tok}","material":"m","subsystem":"s","miscInfo":${raw}}`,
      );
      await expectError(create, 400, "validation_failed", { field: "miscInfo" });
    }
    await noneCreated(call, tok);
    await assertUnchanged(call, part);
    if (!target.remote) {
      assert.equal(({} as Record<string, unknown>).polluted, undefined, "no global pollution");
    }
  });
  await t.step("constructor and prototype are ordinary keys", async () => {
    const misc = { constructor: { prototype: { polluted: true } }, prototype: 1 };
    const part = await createPart(call, { miscInfo: misc });
    assert.deepEqual(part.miscInfo, misc);
    assert.deepEqual((await getPart(call, part.id)).miscInfo, misc);
  });
});

contract("SQL injection attempts are inert", async ({ call, t }) => {
  const tok = token("SQLI");
  const injection = `${tok}' OR '1'='1`;
  const part = await createPart(call, { notes: injection, name: "Robert'); DROP TABLE parts;--" });
  await t.step("in search: matched literally", async () => {
    const hit = await list(call, { search: injection });
    assert.deepEqual(hit.parts.map((p) => p.id), [part.id]);
    for (
      const q of [
        `${tok}' OR 1=1 --`,
        `${tok}%' OR '%'='`,
        `${tok}"; DROP TABLE parts; --`,
        `${tok}') UNION SELECT * FROM sqlite_master --`,
      ]
    ) {
      const res = await list(call, { search: q });
      assert.equal(res.total, 0, q);
    }
  });
  await t.step("in sort_by, sort_order and category: 400 naming the param", async () => {
    const bad: [string, string][] = [
      ["sort_by", "name; DROP TABLE parts"],
      ["sort_by", "(SELECT 1)"],
      ["sort_by", "name COLLATE BINARY"],
      ["sort_order", "asc; DROP TABLE parts"],
      ["sort_order", "asc, id"],
      ["category", "review' OR '1'='1"],
      ["category", "review; DELETE FROM parts"],
    ];
    for (const [param, value] of bad) {
      const qs = new URLSearchParams({ search: tok, [param]: value });
      await expectError(await call("GET", `/api/parts?${qs}`), 400, "validation_failed", {
        field: param,
        error: param,
      });
    }
    const path = `/api/parts/categories/${encodeURIComponent("review' OR '1'='1")}`;
    await expectError(await call("GET", path), 400, "validation_failed", { field: "category" });
  });
  await t.step("in stored values: stored verbatim", async () => {
    assert.equal((await getPart(call, part.id)).name, "Robert'); DROP TABLE parts;--");
  });
  await assertUnchanged(call, part);
});

contract("path-traversal and injection ids are 404s and touch nothing", async ({ call, t }) => {
  const part = await partIn(call, "cnc");
  const ids = [
    `${part.id}%20OR%201=1`,
    `${part.id}'`,
    `${part.id};DROP%20TABLE%20parts`,
    "..%2f",
    "..%2f..%2fhealth",
    "%2e%2e%2fstats",
    `${part.id}%2f..%2f${part.id}`,
    `${part.id}%00`,
    `+${part.id}`,
    ` ${part.id}`,
    `${part.id}.0`,
  ];
  for (const id of ids) {
    await t.step(id, async () => {
      await expectError(await call("GET", `/api/parts/${id}`), 404, "not_found");
      await expectError(await call("DELETE", `/api/parts/${id}`), 404, "not_found");
      const put = await call("PUT", `/api/parts/${id}`, { name: "pwned" });
      await expectError(put, 404, "not_found");
      for (const action of ["assign", "complete", "approve"]) {
        const res = await call("POST", `/api/parts/${id}/${action}`, { assigned: "pwn" });
        await expectError(res, 404, "not_found");
      }
    });
  }
  await assertUnchanged(call, part);
});

contract("huge or negative paging values are 400s", async ({ call }) => {
  const tok = token("PAGEX");
  await createPart(call, { notes: tok });
  const cases: [string, string][] = [
    ["limit", "99999999999999999999"],
    ["limit", "1000000"],
    ["limit", "-5"],
    ["limit", "Infinity"],
    ["limit", "NaN"],
    ["limit", "0x10"],
    ["offset", "-1"],
    ["offset", "999999999999"],
    ["offset", "1e9"],
    ["offset", "Infinity"],
  ];
  for (const [param, value] of cases) {
    const qs = new URLSearchParams({ search: tok, [param]: value });
    await expectError(await call("GET", `/api/parts?${qs}`), 400, "validation_failed", {
      field: param,
      error: param,
    });
  }
  assert.equal((await list(call, { search: tok })).total, 1);
});

contract(
  "control characters and lone surrogates are 400s naming the field",
  async ({ call, t }) => {
    const part = await partIn(call, "cnc");
    await t.step("NUL inside a search term of 3+ characters", async () => {
      for (const search of ["abcdefghijkl\u0000", "abc\u0000def", "\u0000abc"]) {
        const qs = new URLSearchParams({ search });
        await expectError(await call("GET", `/api/parts?${qs}`), 400, "validation_failed", {
          field: "search",
          error: "search",
        });
      }
    });
    await t.step("invalid UTF-8 in a query value", async () => {
      for (const raw of ["abc%C0%80", "abc%ED%A0%80", "abc%FF"]) {
        await expectError(await call("GET", `/api/parts?search=${raw}`), 400, "validation_failed", {
          field: "search",
        });
        await expectError(
          await call("GET", `/api/activity?actor=${raw}`),
          400,
          "validation_failed",
          {
            field: "actor",
          },
        );
      }
    });
    await t.step("in body text: refused, never cut at the NUL", async () => {
      for (
        const value of ["ab\u0000cd", "a\u0007b", "x\u001b[31m", "\ud800", "a\udc00b", "\u0085"]
      ) {
        const tok = token("CTRL");
        const create = await call("POST", "/api/parts", createBody(tok, { name: value }));
        await expectError(create, 400, "validation_failed", { field: "name", error: "name" });
        await noneCreated(call, tok);
        const put = await call("PUT", `/api/parts/${part.id}`, { notes: value });
        await expectError(put, 400, "validation_failed", { field: "notes", error: "notes" });
        const misc = await call("PUT", `/api/parts/${part.id}`, { miscInfo: { a: [value] } });
        await expectError(misc, 400, "validation_failed", { field: "miscInfo.a.0" });
      }
    });
    await t.step("tab, LF and CR are kept exactly", async () => {
      const notes = "line 1\r\n\tline 2\n";
      const updated = await expectPart(await call("PUT", `/api/parts/${part.id}`, { notes }));
      assert.equal(updated.notes, notes);
      assert.equal((await getPart(call, part.id)).notes, notes);
    });
  },
);

contract("odd but harmless input never produces a 500", async ({ call, t }) => {
  const part = await partIn(call, "hand");
  const attempts: [string, string, string | undefined, Record<string, string>?][] = [
    ["POST", "/api/parts", "\uFEFF{}"],
    ["POST", "/api/parts", '{"partId":"\\ud800","material":"m","subsystem":"s"}'],
    ["PUT", `/api/parts/${part.id}`, '{"miscInfo":{"":1}}'],
    ["PUT", `/api/parts/${part.id}`, '{"notes":"\\u0000"}'],
    ["POST", `/api/parts/${part.id}/assign`, '{"assigned":"\\u0000"}'],
    ["GET", `/api/parts?search=${encodeURIComponent("\u0000")}`, undefined],
    ["GET", `/api/parts?search=${encodeURIComponent("\\")}`, undefined],
    ["GET", "/api/parts?search=%ZZ", undefined],
    ["GET", "/api/parts?sort_by[]=name", undefined],
    ["GET", "/api/parts?limit[$gt]=1", undefined],
    ["POST", "/api/parts", "{}", { "Content-Type": "application/json; charset=utf-16" }],
    ["POST", "/api/parts", "{}", { "Content-Type": "application/json;;" }],
  ];
  for (const [method, path, body, headers] of attempts) {
    await t.step(`${method} ${path} ${body ?? ""}`.slice(0, 60), async () => {
      const res = await call(method, path, body, headers);
      assert.ok(res.status < 500, `${res.status}: ${await res.clone().text()}`);
      if (res.status >= 400) await expectClientError(res);
      else await res.body?.cancel();
    });
  }
  const current = await getPart(call, part.id);
  assert.equal(current.category, "hand");
});

contract(
  "JSON bodies that are not valid UTF-8 are 400s, never silently repaired",
  async ({ call, target, t }) => {
    const part = await partIn(call, "cnc");
    const enc = new TextEncoder();
    const tok = token("UTF");
    const cases: Record<string, number[]> = {
      "a stray 0xFF byte": [0xff],
      "an overlong NUL (C0 80)": [0xc0, 0x80],
      "an encoded surrogate (ED A0 80)": [0xed, 0xa0, 0x80],
      "a cut-off sequence (E2 82)": [0xe2, 0x82],
    };
    for (const [label, bytes] of Object.entries(cases)) {
      await t.step(label, async () => {
        const body = new Uint8Array([
          ...enc.encode(
            `{"partId":"${tok}","notes":"${tok}","material":"Al","subsystem":"DT","name":"a`,
          ),
          ...bytes,
          ...enc.encode('"}'),
        ]);
        const send = (method: string, path: string) =>
          target.fetch(path, {
            method,
            headers: { "X-API-Key": KEY, "Content-Type": "application/json" },
            body,
          });
        await expectError(await send("POST", "/api/parts"), 400, "validation_failed", {
          error: /UTF-8/,
        });
        await expectError(await send("PUT", `/api/parts/${part.id}`), 400, "validation_failed", {
          error: /UTF-8/,
        });
      });
    }
    await noneCreated(call, tok);
    await assertUnchanged(call, part);
  },
);
