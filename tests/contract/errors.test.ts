import assert from "node:assert/strict";
import { MessageSchema } from "../../src/schemas/common.ts";
import { PartListSchema } from "../../src/schemas/parts.ts";
import { HealthSchema } from "../../src/routes/system.ts";
import { KEY, newPart } from "../helpers.ts";
import {
  ACTIONS,
  assertUnchanged,
  contract,
  createPart,
  expectError,
  expectList,
  expectOk,
  expectPart,
  list,
  token,
} from "./_support.ts";

/** Every route under /api/parts, with a body where it takes one. */
function routes(id: number): [string, string, unknown?][] {
  return [
    ["GET", "/api/parts"],
    ["GET", "/api/parts/"],
    ["POST", "/api/parts", newPart()],
    ["GET", `/api/parts/${id}`],
    ["PUT", `/api/parts/${id}`, { name: "no key" }],
    ["DELETE", `/api/parts/${id}`],
    ...ACTIONS.map((a): [string, string, unknown] => ["POST", `/api/parts/${id}/${a}`, {
      assigned: "x",
    }]),
    ["GET", "/api/parts/categories/review"],
    ["GET", "/api/parts/stats"],
    ["GET", "/api/parts/leaderboard"],
    ["GET", "/api/parts/auth/check"],
  ];
}

function send(
  fetch: (path: string, init?: RequestInit) => Promise<Response>,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
) {
  const h: Record<string, string> = { ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  return fetch(path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

contract(
  "a missing key is 401 'API key required' on every /api/parts route",
  async ({ call, target, t }) => {
    const tok = token("NOKEY");
    const part = await createPart(call, { notes: tok });
    for (const [method, path, body] of routes(part.id)) {
      await t.step(`${method} ${path.replace(String(part.id), "{id}")}`, async () => {
        const variants: Record<string, string>[] = [
          {},
          { "X-API-Key": "" },
          { Authorization: `Basic ${btoa(KEY)}` },
        ];
        for (const headers of variants) {
          const res = await send(target.fetch, method, path, body, headers);
          const err = await expectError(res, 401, "unauthorized", { error: "API key required" });
          assert.equal(typeof err.details, "string", "details tells how to send a key");
        }
      });
    }
    await assertUnchanged(call, part);
    assert.equal((await list(call, { search: tok })).total, 1, "nothing was created");
  },
);

contract("a wrong key is 401 'Invalid API key'; Bearer works", async ({ call, target }) => {
  const part = await createPart(call);
  const wrong: Record<string, string>[] = [
    { "X-API-Key": `${KEY}x` },
    { Authorization: "Bearer not-the-key" },
  ];
  for (const headers of wrong) {
    const res = await target.fetch(`/api/parts/${part.id}`, { headers });
    await expectError(res, 401, "unauthorized", { error: "Invalid API key" });
  }
  const del = await target.fetch(`/api/parts/${part.id}`, {
    method: "DELETE",
    headers: { "X-API-Key": "wrong" },
  });
  await expectError(del, 401, "unauthorized", { error: "Invalid API key" });
  await assertUnchanged(call, part);

  const bearer = { Authorization: `Bearer ${KEY}` };
  const got = await expectPart(await target.fetch(`/api/parts/${part.id}`, { headers: bearer }));
  assert.deepEqual(got, part);
  const created = await expectPart(
    await target.fetch("/api/parts", {
      method: "POST",
      headers: { ...bearer, "Content-Type": "application/json" },
      body: JSON.stringify(newPart()),
    }),
    201,
  );
  assert.equal(created.category, "review");
});

contract("keys in the query string or the body are not accepted", async ({ call, target }) => {
  for (const param of ["api_key", "apiKey", "key", "X-API-Key", "token", "access_token"]) {
    const res = await target.fetch(`/api/parts?${param}=${encodeURIComponent(KEY)}`);
    await expectError(res, 401, "unauthorized", { error: "API key required" });
  }
  const tok = token("BODYKEY");
  const res = await target.fetch("/api/parts", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(newPart({ partId: tok, apiKey: KEY, api_key: KEY, key: KEY })),
  });
  await expectError(res, 401, "unauthorized", { error: "API key required" });
  assert.equal((await list(call, { search: tok })).total, 0);
});

contract(
  "X-Request-Id: a valid one is echoed, otherwise one is generated",
  async ({ call, target, t }) => {
    await t.step("echoed on success and on errors", async () => {
      const id = `req-${crypto.randomUUID()}_A=`;
      const ok = await call("GET", "/api/parts/stats", undefined, { "X-Request-Id": id });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("x-request-id"), id);
      await ok.body?.cancel();
      const missing = await call("GET", "/api/parts/999999999", undefined, { "X-Request-Id": id });
      const err = await expectError(missing, 404, "not_found");
      assert.equal(err.requestId, id);
      const noKey = await target.fetch("/api/parts", { headers: { "X-Request-Id": id } });
      assert.equal((await expectError(noKey, 401, "unauthorized")).requestId, id);
      const health = await target.fetch("/health", { headers: { "X-Request-Id": id } });
      assert.equal(health.headers.get("x-request-id"), id);
      await expectOk(health, HealthSchema);
    });
    await t.step("generated when absent, and unique", async () => {
      const a = await call("GET", "/api/parts/999999999");
      const b = await call("GET", "/api/parts/999999999");
      const ea = await expectError(a, 404, "not_found");
      const eb = await expectError(b, 404, "not_found");
      assert.notEqual(ea.requestId, eb.requestId);
      const ok = await call("GET", "/api/parts/leaderboard");
      assert.ok(ok.headers.get("x-request-id"));
      await ok.body?.cancel();
    });
    await t.step("replaced when invalid", async () => {
      for (const bad of ["has space", "semi;colon", "<script>", "a/b", "x".repeat(256)]) {
        const res = await call("GET", "/api/parts/999999999", undefined, { "X-Request-Id": bad });
        const err = await expectError(res, 404, "not_found");
        assert.notEqual(err.requestId, bad);
        assert.ok(err.requestId && err.requestId.length > 0 && err.requestId.length <= 255);
      }
    });
  },
);

contract(
  "GET and DELETE with Content-Type: application/json and no body work",
  async ({ call }) => {
    const json = { "Content-Type": "application/json" };
    const part = await createPart(call);
    await expectList(await call("GET", "/api/parts", undefined, json));
    await expectList(await call("GET", "/api/parts/categories/review", undefined, json));
    assert.deepEqual(
      await expectPart(await call("GET", `/api/parts/${part.id}`, undefined, json)),
      part,
    );
    const del = await call("DELETE", `/api/parts/${part.id}`, undefined, json);
    const deleted = await expectOk(del, MessageSchema);
    assert.deepEqual(deleted, { message: "Part deleted successfully" });
    await expectError(await call("GET", `/api/parts/${part.id}`), 404, "not_found");
  },
);

const BAD_IDS = [
  "999999999",
  "0",
  "abc",
  "1.5",
  "-1",
  "1e3",
  "0x10",
  "%20",
  "1%20OR%201=1",
  "..%2f",
  "%00",
  "9".repeat(16),
  "99999999999999999999999",
];

contract("an unknown or non-numeric id is 404 on every id route", async ({ call, t }) => {
  const part = await createPart(call);
  for (const id of BAD_IDS) {
    await t.step(id, async () => {
      const attempts: [string, string, unknown?][] = [
        ["GET", `/api/parts/${id}`],
        ["PUT", `/api/parts/${id}`, { name: "x" }],
        ["DELETE", `/api/parts/${id}`],
        ...ACTIONS.map((a): [string, string, unknown] => [
          "POST",
          `/api/parts/${id}/${a}`,
          a === "assign" ? { assigned: "x" } : {},
        ]),
      ];
      for (const [method, path, body] of attempts) {
        const res = await call(method, path, body);
        await expectError(res, 404, "not_found");
      }
    });
  }
  await assertUnchanged(call, part);
});

contract("unknown routes are JSON 404s", async ({ call, target }) => {
  await expectError(await target.fetch("/api/nothing-here"), 404, "not_found");
  await expectError(await call("GET", "/api/parts/1/bogus"), 404, "not_found");
  await expectError(await call("POST", "/api/parts/1/approve/extra"), 404, "not_found");
});

contract("a non-JSON content type on a body route is 415", async ({ call, t }) => {
  const tok = token("MEDIA");
  const part = await createPart(call, { type: "hand" });
  const types: [string, string][] = [
    ["text/plain", JSON.stringify(newPart({ partId: tok }))],
    ["application/x-www-form-urlencoded", `partId=${tok}&material=m&subsystem=s`],
    ["text/xml", "<part/>"],
    ["application/javascript", "({})"],
  ];
  for (const [type, body] of types) {
    await t.step(type, async () => {
      const create = await call("POST", "/api/parts", body, { "Content-Type": type });
      await expectError(create, 415, "unsupported_media_type", { error: /JSON/ });
      const put = await call("PUT", `/api/parts/${part.id}`, body, { "Content-Type": type });
      await expectError(put, 415, "unsupported_media_type");
      for (const action of ACTIONS) {
        const res = await call("POST", `/api/parts/${part.id}/${action}`, body, {
          "Content-Type": type,
        });
        await expectError(res, 415, "unsupported_media_type");
      }
    });
  }
  await t.step("multipart/form-data", async () => {
    const body =
      `--XyZ\r\nContent-Disposition: form-data; name="partId"\r\n\r\n${tok}\r\n--XyZ--\r\n`;
    const res = await call("POST", "/api/parts", body, {
      "Content-Type": "multipart/form-data; boundary=XyZ",
    });
    await expectError(res, 415, "unsupported_media_type");
  });
  await assertUnchanged(call, part);
  assert.equal((await list(call, { search: tok })).total, 0, "nothing was created");
});

contract("the default body limit (256 KiB) is enforced", async ({ call }) => {
  const tok = token("BIG");
  const part = await createPart(call);
  const huge = JSON.stringify(newPart({ partId: tok, pad: "x".repeat(300 * 1024) }));
  await expectError(await call("POST", "/api/parts", huge), 413, "payload_too_large");
  const put = JSON.stringify({ name: "big", pad: "x".repeat(300 * 1024) });
  await expectError(await call("PUT", `/api/parts/${part.id}`, put), 413, "payload_too_large");
  await assertUnchanged(call, part);
  assert.equal((await list(call, { search: tok })).total, 0);
  // Just under the limit is fine (unknown keys are ignored).
  const fits = JSON.stringify(newPart({ partId: tok, pad: "x".repeat(250 * 1024) }));
  await expectPart(await call("POST", "/api/parts", fits), 201);
});

contract("MAX_BODY_BYTES=2048: larger bodies are 413 and change nothing", async ({ call }) => {
  const tok = token("SMALL");
  const part = await createPart(call, { type: "cnc" });
  const over = JSON.stringify(newPart({ partId: tok, notes: "n".repeat(2100) }));
  assert.ok(new TextEncoder().encode(over).length > 2048);
  await expectError(await call("POST", "/api/parts", over), 413, "payload_too_large", {
    error: "2048",
  });
  const put = JSON.stringify({ notes: "n".repeat(2100) });
  await expectError(await call("PUT", `/api/parts/${part.id}`, put), 413, "payload_too_large");
  const approve = JSON.stringify({ miscInfo: { pad: "p".repeat(2100) } });
  const res = await call("POST", `/api/parts/${part.id}/approve`, approve);
  await expectError(res, 413, "payload_too_large");
  // Multi-byte characters count as bytes, not characters.
  const euros = JSON.stringify({ notes: "€".repeat(800) });
  assert.ok(euros.length < 2048);
  await expectError(await call("PUT", `/api/parts/${part.id}`, euros), 413, "payload_too_large");
  await assertUnchanged(call, part);
  assert.equal((await list(call, { search: tok })).total, 0);
  const under = JSON.stringify(newPart({ partId: tok, notes: "n".repeat(1500) }));
  await expectPart(await call("POST", "/api/parts", under), 201);
  const listed = await expectOk(await call("GET", `/api/parts?search=${tok}`), PartListSchema);
  assert.equal(listed.total, 1);
}, { MAX_BODY_BYTES: "2048" });
