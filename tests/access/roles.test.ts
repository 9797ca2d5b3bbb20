/**
 * The access matrix: every route × every role (and no key, wrong key, revoked key), with the
 * expected status. The README's role table is this matrix in prose.
 */
import assert from "node:assert/strict";
import { api, KEY, newPart, type Target, target } from "../helpers.ts";
import { ErrorSchema } from "../../src/schemas/common.ts";
import { CreatedKeySchema } from "../../src/schemas/keys.ts";
import { PartSchema } from "../../src/schemas/parts.ts";
import { type Role, ROLES } from "../../src/domain/roles.ts";

type Caller = Role | "shared" | "none" | "wrong" | "revoked";
const CALLERS: Caller[] = [...ROLES, "shared", "none", "wrong", "revoked"];

type Req = { path: string; body?: unknown };

interface RouteCase {
  operationId: string;
  method: string;
  /** Prepares state and returns the path (and body) for one request. */
  prepare: (t: Target) => Promise<Req> | Req;
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
    prepare: async (t) => ({
      path: `/api/parts/${await partIn(t, "cnc")}/assign`,
      body: { assigned: "Alex" },
    }),
  },
  {
    operationId: "unclaimPart",
    method: "POST",
    role: "member",
    ok: 200,
    prepare: async (t) => ({ path: `/api/parts/${await partIn(t, "cnc", "Alex")}/unclaim` }),
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

function expected(route: RouteCase, caller: Caller): number {
  if (caller === "none" || caller === "wrong" || caller === "revoked") return 401;
  const held: Role = caller === "shared" ? "admin" : caller;
  return ROLES.indexOf(held) >= ROLES.indexOf(route.role) ? route.ok : 403;
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
          const { path, body } = await route.prepare(target_);
          const headers: Record<string, string> = {};
          if (keys[caller]) headers["X-API-Key"] = keys[caller]!;
          if (body !== undefined) headers["Content-Type"] = "application/json";
          const res = await target_.fetch(path, {
            method: route.method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
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
            // A revoked key and a key that never existed get the same answer.
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
