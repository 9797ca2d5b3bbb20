/**
 * The access matrix: every route × every role (and no key, wrong key, revoked key, expired key),
 * with the expected status. The README's role table is this matrix in prose.
 */
import assert from "node:assert/strict";
import { api, KEY, newPart, type Target, target } from "../helpers.ts";
import { ErrorSchema } from "../../src/schemas/common.ts";
import { CreatedKeySchema } from "../../src/schemas/keys.ts";
import { PartSchema } from "../../src/schemas/parts.ts";
import { type Role, ROLES } from "../../src/domain/roles.ts";

type Caller = Role | "shared" | "none" | "wrong" | "revoked" | "expired";
const CALLERS: Caller[] = [...ROLES, "shared", "none", "wrong", "revoked", "expired"];
const REFUSED: Caller[] = ["none", "wrong", "revoked", "expired"];

/** The holder a caller claims parts as: a personal key's own name (members claim only so). */
function holderOf(caller: Caller): string {
  return (ROLES as readonly string[]).includes(caller) ? `Matrix ${caller}` : "Alex";
}

/** A JSON body, a multipart form, or raw bytes of a content type. */
type Req = {
  path: string;
  body?: unknown;
  form?: FormData;
  raw?: { bytes: Uint8Array; type: string };
};

interface RouteCase {
  operationId: string;
  method: string;
  /** Prepares state and returns the path (and body) for one request by a key of `holder`. */
  prepare: (t: Target, holder: string) => Promise<Req> | Req;
  role: Role;
  ok: number;
}

async function partIn(t: Target, stage: "review" | "cnc" | "completed", assigned?: string) {
  const call = api(t);
  const part = PartSchema.parse(
    await (await call("POST", "/api/parts", newPart({ type: "cnc" }))).json(),
  );
  if (stage !== "review") await call("POST", `/api/parts/${part.id}/approve`);
  if (assigned) await call("POST", `/api/parts/${part.id}/assign`, { assigned });
  if (stage === "completed") await call("POST", `/api/parts/${part.id}/complete`);
  return part.id;
}

/** A binary STL of one triangle (84 + 50 bytes). */
function tinyStl(): Uint8Array {
  const bytes = new Uint8Array(134);
  const view = new DataView(bytes.buffer);
  view.setUint32(80, 1, true);
  const coords = [0, 0, 1, 0, 0, 0, 10, 0, 0, 0, 10, 0];
  coords.forEach((v, i) => view.setFloat32(84 + i * 4, v, true));
  return bytes;
}

/** A 1×1 PNG: signature, IHDR, IDAT and IEND (CRCs are not checked by the server). */
function tinyPng(): Uint8Array {
  return Uint8Array.from([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    0,
    0,
    0,
    13,
    0x49,
    0x48,
    0x44,
    0x52,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    1,
    8,
    6,
    0,
    0,
    0,
    0x1f,
    0x15,
    0xc4,
    0x89,
    0,
    0,
    0,
    13,
    0x49,
    0x44,
    0x41,
    0x54,
    0x78,
    0x9c,
    0x63,
    0x60,
    0,
    0,
    0,
    2,
    0,
    1,
    0xe5,
    0x27,
    0xde,
    0xfc,
    0,
    0,
    0,
    0,
    0x49,
    0x45,
    0x4e,
    0x44,
    0xae,
    0x42,
    0x60,
    0x82,
  ]);
}

const PDF = new TextEncoder().encode("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");

/** A minimal binary glTF 2.0: header and one JSON chunk. */
function tinyGlb(): Uint8Array {
  const json = new TextEncoder().encode('{"asset":{"version":"2.0"}}  '.padEnd(28, " "));
  const bytes = new Uint8Array(12 + 8 + json.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x46546c67, true);
  view.setUint32(4, 2, true);
  view.setUint32(8, bytes.length, true);
  view.setUint32(12, json.length, true);
  view.setUint32(16, 0x4e4f534a, true);
  bytes.set(json, 20);
  return bytes;
}

function fileForm(field: string, bytes: Uint8Array, name: string): FormData {
  const form = new FormData();
  form.append(field, new File([bytes as Uint8Array<ArrayBuffer>], name));
  return form;
}

/** A part (CNC unless `type` says otherwise) with an STL uploaded. */
async function partWithFile(t: Target, type: "cnc" | "hand" = "cnc") {
  const call = api(t);
  const part = PartSchema.parse(await (await call("POST", "/api/parts", newPart({ type }))).json());
  const res = await t.fetch(`/api/parts/${part.id}/upload`, {
    method: "POST",
    headers: { "X-API-Key": KEY },
    body: fileForm("file", tinyStl(), "bracket.stl"),
  });
  assert.equal(res.status, 201, await res.text());
  return part.id;
}

/** The SHA-256 of a waiting conversion (a fresh STL, so a new source each time). */
async function queuedConversion(t: Target): Promise<string> {
  const call = api(t);
  const part = PartSchema.parse(await (await call("POST", "/api/parts", newPart())).json());
  const stl = tinyStl();
  new DataView(stl.buffer).setFloat32(84 + 4 * 11, Math.random() * 100, true);
  const res = await t.fetch(`/api/parts/${part.id}/upload`, {
    method: "POST",
    headers: { "X-API-Key": KEY },
    body: fileForm("file", stl, "random.stl"),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.sha256;
}

const FILE_ROUTES: RouteCase[] = [
  {
    operationId: "uploadPartFile",
    method: "POST",
    role: "member",
    ok: 201,
    prepare: async (t) => ({
      path: `/api/parts/${await partIn(t, "review")}/upload`,
      form: fileForm("file", tinyStl(), "plate.stl"),
    }),
  },
  {
    operationId: "listPartFiles",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partWithFile(t)}/files` }),
  },
  {
    operationId: "downloadPartFile",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partWithFile(t)}/download` }),
  },
  {
    operationId: "viewPartFile",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partWithFile(t)}/file` }),
  },
  {
    operationId: "getPartModel",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partWithFile(t)}/model` }),
  },
  {
    operationId: "putPartViews",
    method: "POST",
    role: "member",
    ok: 200,
    prepare: async (t) => ({
      path: `/api/parts/${await partWithFile(t)}/views`,
      form: fileForm("view_0", tinyPng(), "view_0.png"),
    }),
  },
  {
    operationId: "getPartViews",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partWithFile(t)}/views` }),
  },
  {
    operationId: "getPartView",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: async (t) => {
      const id = await partWithFile(t);
      const res = await t.fetch(`/api/parts/${id}/views`, {
        method: "POST",
        headers: { "X-API-Key": KEY },
        body: fileForm("view_2", tinyPng(), "view_2.png"),
      });
      assert.equal(res.status, 200, await res.text());
      return { path: `/api/parts/${id}/views/2` };
    },
  },
  {
    operationId: "uploadPartDrawing",
    method: "POST",
    role: "member",
    ok: 201,
    prepare: async (t) => ({
      path: `/api/parts/${await partWithFile(t, "hand")}/drawing`,
      form: fileForm("file", PDF, "drawing.pdf"),
    }),
  },
  {
    operationId: "getPartDrawing",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: async (t) => {
      const id = await partWithFile(t, "hand");
      const res = await t.fetch(`/api/parts/${id}/drawing`, {
        method: "POST",
        headers: { "X-API-Key": KEY },
        body: fileForm("file", PDF, "drawing.pdf"),
      });
      assert.equal(res.status, 201, await res.text());
      return { path: `/api/parts/${id}/drawing` };
    },
  },
  {
    operationId: "claimConversion",
    method: "POST",
    role: "admin",
    ok: 200,
    prepare: () => ({ path: "/api/conversions/claim" }),
  },
  {
    operationId: "getConversionSource",
    method: "GET",
    role: "admin",
    ok: 200,
    prepare: async (t) => ({ path: `/api/conversions/${await queuedConversion(t)}/source` }),
  },
  {
    operationId: "putConversionResult",
    method: "PUT",
    role: "admin",
    ok: 200,
    prepare: async (t) => ({
      path: `/api/conversions/${await queuedConversion(t)}/result`,
      raw: { bytes: tinyGlb(), type: "model/gltf-binary" },
    }),
  },
  {
    operationId: "putConversionFailure",
    method: "POST",
    role: "admin",
    ok: 200,
    prepare: async (t) => ({
      path: `/api/conversions/${await queuedConversion(t)}/failure`,
      body: { error: "cannot read this file" },
    }),
  },
];

const ROUTES: RouteCase[] = [
  {
    operationId: "listParts",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: () => ({ path: "/api/parts" }),
  },
  {
    operationId: "listPartsInCategory",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: () => ({ path: "/api/parts/categories/cnc" }),
  },
  {
    operationId: "getPart",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partIn(t, "review")}` }),
  },
  {
    operationId: "getStats",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: () => ({ path: "/api/parts/stats" }),
  },
  {
    operationId: "getLeaderboard",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: () => ({ path: "/api/parts/leaderboard" }),
  },
  {
    operationId: "checkAuth",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: () => ({ path: "/api/parts/auth/check" }),
  },
  {
    operationId: "createPart",
    method: "POST",
    role: "member",
    ok: 201,
    prepare: () => ({ path: "/api/parts", body: newPart() }),
  },
  {
    operationId: "updatePart",
    method: "PUT",
    role: "member",
    ok: 200,
    prepare: async (t) => ({
      path: `/api/parts/${await partIn(t, "review")}`,
      body: { notes: "edited" },
    }),
  },
  {
    operationId: "assignPart",
    method: "POST",
    role: "member",
    ok: 200,
    prepare: async (t, holder) => ({
      path: `/api/parts/${await partIn(t, "cnc")}/assign`,
      body: { assigned: holder },
    }),
  },
  {
    operationId: "unclaimPart",
    method: "POST",
    role: "member",
    ok: 200,
    prepare: async (t, holder) => ({
      path: `/api/parts/${await partIn(t, "cnc", holder)}/unclaim`,
    }),
  },
  {
    operationId: "completePart",
    method: "POST",
    role: "member",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partIn(t, "cnc", "Alex")}/complete` }),
  },
  {
    operationId: "approvePart",
    method: "POST",
    role: "lead",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partIn(t, "review")}/approve` }),
  },
  {
    operationId: "revertPart",
    method: "POST",
    role: "lead",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partIn(t, "completed")}/revert` }),
  },
  {
    operationId: "deletePart",
    method: "DELETE",
    role: "lead",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partIn(t, "review")}` }),
  },
  {
    operationId: "getPartHistory",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partIn(t, "review")}/history` }),
  },
  {
    operationId: "getActivity",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: () => ({ path: "/api/activity?limit=5" }),
  },
  {
    operationId: "streamActivity",
    method: "GET",
    role: "viewer",
    ok: 200,
    prepare: () => ({ path: "/api/activity/stream" }),
  },
  {
    operationId: "listKeys",
    method: "GET",
    role: "admin",
    ok: 200,
    prepare: () => ({ path: "/api/keys" }),
  },
  {
    operationId: "createKey",
    method: "POST",
    role: "admin",
    ok: 201,
    prepare: () => ({ path: "/api/keys", body: { name: "New person", role: "viewer" } }),
  },
  {
    operationId: "updateKey",
    method: "PATCH",
    role: "admin",
    ok: 200,
    prepare: async (t) => {
      const created = CreatedKeySchema.parse(
        await (await api(t)("POST", "/api/keys", { name: "Temp", role: "viewer" })).json(),
      );
      return { path: `/api/keys/${created.id}`, body: { role: "member", name: "Temp two" } };
    },
  },
  {
    operationId: "revokeKey",
    method: "DELETE",
    role: "admin",
    ok: 200,
    prepare: async (t) => {
      const created = CreatedKeySchema.parse(
        await (await api(t)("POST", "/api/keys", { name: "Temp", role: "viewer" })).json(),
      );
      return { path: `/api/keys/${created.id}` };
    },
  },
];

ROUTES.push(...FILE_ROUTES);

function expected(route: RouteCase, caller: Caller): number {
  if (REFUSED.includes(caller)) return 401;
  const held = caller === "shared" ? "admin" : caller as Role;
  return ROLES.indexOf(held) >= ROLES.indexOf(route.role) ? route.ok : 403;
}

/** An admin key that worked until a moment ago: created to expire shortly, then waited out. */
async function expiredKey(t: Target): Promise<string> {
  const call = api(t);
  const expiresAt = new Date(Date.now() + 1500).toISOString();
  const res = await call("POST", "/api/keys", { name: "Matrix expired", role: "admin", expiresAt });
  assert.equal(res.status, 201, await res.clone().text());
  const created = CreatedKeySchema.parse(await res.json());
  assert.equal(created.expiresAt, expiresAt);
  const check = await t.fetch("/api/parts/auth/check", { headers: { "X-API-Key": created.key } });
  assert.equal(check.status, 200, "valid until it expires");
  await check.body?.cancel();
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) + 100 - Date.now())));
  return created.key;
}

async function keysFor(t: Target): Promise<Record<Caller, string | null>> {
  const call = api(t);
  const keys = {} as Record<Caller, string | null>;
  for (const role of ROLES) {
    const res = await call("POST", "/api/keys", { name: `Matrix ${role}`, role });
    assert.equal(res.status, 201);
    keys[role] = CreatedKeySchema.parse(await res.json()).key;
  }
  const revoked = CreatedKeySchema.parse(
    await (await call("POST", "/api/keys", { name: "Matrix revoked", role: "admin" })).json(),
  );
  assert.equal((await call("DELETE", `/api/keys/${revoked.id}`)).status, 200);
  keys.revoked = revoked.key;
  keys.expired = await expiredKey(t);
  keys.shared = KEY;
  keys.none = null;
  keys.wrong = "pm_this-key-was-never-issued-000000000";
  return keys;
}

Deno.test("access matrix: every route × every role", async (t) => {
  const target_ = await target({ AUTH_FAILURE_LIMIT: "100000" });
  try {
    const keys = await keysFor(target_);
    for (const route of ROUTES) {
      await t.step(`${route.method} ${route.operationId}`, async () => {
        for (const caller of CALLERS) {
          const { path, body, form, raw } = await route.prepare(target_, holderOf(caller));
          const headers: Record<string, string> = {};
          if (keys[caller]) headers["X-API-Key"] = keys[caller]!;
          if (body !== undefined) headers["Content-Type"] = "application/json";
          if (raw) headers["Content-Type"] = raw.type;
          const res = await target_.fetch(path, {
            method: route.method,
            headers,
            body: form ?? (raw?.bytes as Uint8Array<ArrayBuffer> | undefined) ??
              (body === undefined ? undefined : JSON.stringify(body)),
          });
          const want = expected(route, caller);
          if (res.status === 200 && route.operationId === "streamActivity") {
            // A live stream never ends by itself: check the type, then hang up.
            assert.equal(want, 200, `${caller} → ${route.operationId}`);
            assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
            await res.body?.cancel();
            continue;
          }
          const text = await res.text();
          assert.equal(res.status, want, `${caller} → ${route.operationId}: ${text}`);
          if (want === 403) {
            const err = ErrorSchema.parse(JSON.parse(text));
            assert.equal(err.code, "forbidden");
            assert.match(err.error, new RegExp(`needs the ${route.role} role`));
          }
          if (want === 401) {
            const err = ErrorSchema.parse(JSON.parse(text));
            assert.equal(err.code, "unauthorized");
            // Revoked and expired keys get the same answer as a key that never existed.
            assert.equal(err.error, caller === "none" ? "API key required" : "Invalid API key");
          }
        }
      });
    }
  } finally {
    target_.close();
  }
});

Deno.test("the matrix covers every protected route in the OpenAPI document", async () => {
  const t = await target();
  try {
    const doc = await (await t.fetch("/api/openapi.json")).json();
    const protectedOps: string[] = [];
    for (const methods of Object.values(doc.paths) as Record<string, unknown>[]) {
      for (const op of Object.values(methods) as { operationId: string; security?: unknown }[]) {
        if (op.security) protectedOps.push(op.operationId);
      }
    }
    assert.deepEqual(protectedOps.sort(), ROUTES.map((r) => r.operationId).sort());
    for (const methods of Object.values(doc.paths) as Record<string, unknown>[]) {
      for (const op of Object.values(methods) as Record<string, unknown>[]) {
        if (op.security) {
          const route = ROUTES.find((r) => r.operationId === op.operationId)!;
          assert.equal(op["x-required-role"], route.role, `${op.operationId} documents its role`);
        }
      }
    }
  } finally {
    t.close();
  }
});
