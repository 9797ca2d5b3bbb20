import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createApp } from "../../src/app.ts";
import { openLibsql } from "../../src/db/client.ts";
import { ErrorSchema } from "../../src/schemas/common.ts";
import { CreatedKeySchema, KeyListSchema, KeySchema } from "../../src/schemas/keys.ts";
import { PartSchema } from "../../src/schemas/parts.ts";
import { AuthCheckSchema } from "../../src/routes/system.ts";
import { KEY, MIGRATIONS, newPart, testConfig } from "../helpers.ts";

async function app(env: Record<string, string> = {}, url = ":memory:") {
  const database = await openLibsql({ url, migrationsFolder: MIGRATIONS });
  const a = createApp({ config: testConfig(env), db: database.db, logError: () => {} });
  const call = (method: string, path: string, key: string | null, body?: unknown, h = {}) =>
    a.request(path, {
      method,
      headers: {
        ...(key ? { "X-API-Key": key } : {}),
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...h,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return { database, call };
}

Deno.test("a student key: created by an admin, used, listed, revoked", async () => {
  const { database, call } = await app();
  try {
    const res = await call("POST", "/api/keys", KEY, { name: "  Sam Rivera ", role: "member" });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const created = CreatedKeySchema.parse(await res.json());
    assert.equal(created.name, "Sam Rivera");
    assert.equal(created.role, "member");
    assert.ok(created.key.startsWith(created.prefix));
    // ≥ 128 bits of randomness: 24 random bytes, base64url after the "pm_" marker.
    assert.match(created.key, /^pm_[A-Za-z0-9_-]{32}$/);

    const check = AuthCheckSchema.parse(
      await (await call("GET", "/api/parts/auth/check", created.key)).json(),
    );
    assert.deepEqual(check, { status: "authenticated", name: "Sam Rivera", role: "member" });

    // A member may create and claim; assign without a name claims for the key's holder.
    const part = PartSchema.parse(
      await (await call("POST", "/api/parts", created.key, newPart({ type: "hand" }))).json(),
    );
    assert.equal((await call("POST", `/api/parts/${part.id}/approve`, created.key)).status, 403);
    assert.equal((await call("POST", `/api/parts/${part.id}/approve`, KEY)).status, 200);
    const claimed = PartSchema.parse(
      await (await call("POST", `/api/parts/${part.id}/assign`, created.key)).json(),
    );
    assert.equal(claimed.assigned, "Sam Rivera");
    assert.equal(
      (claimed.miscInfo?.handWorkers as { name: string }[])[0].name,
      "Sam Rivera",
    );

    // The shared key has no holder name, so it must say who claims.
    const other = PartSchema.parse(
      await (await call("POST", "/api/parts", KEY, newPart({ type: "cnc" }))).json(),
    );
    await call("POST", `/api/parts/${other.id}/approve`, KEY);
    const noName = await call("POST", `/api/parts/${other.id}/assign`, KEY, {});
    assert.equal(noName.status, 400);
    assert.equal(ErrorSchema.parse(await noName.json()).field, "assigned");

    const list = KeyListSchema.parse(await (await call("GET", "/api/keys", KEY)).json());
    const listed = list.keys.find((k) => k.id === created.id)!;
    assert.ok(listed.lastUsedAt, "use is recorded");
    assert.equal(listed.revokedAt, null);
    assert.ok(!JSON.stringify(list).includes(created.key), "the key is never listed");
    assert.ok(!("keyHash" in listed));

    // Members cannot manage keys.
    assert.equal((await call("GET", "/api/keys", created.key)).status, 403);

    const revoked = KeySchema.parse(
      await (await call("DELETE", `/api/keys/${created.id}`, KEY)).json(),
    );
    assert.ok(revoked.revokedAt);
    const after = await call("GET", "/api/parts", created.key);
    assert.equal(after.status, 401);
    assert.equal(ErrorSchema.parse(await after.json()).error, "Invalid API key");
    assert.equal((await call("DELETE", "/api/keys/99999", KEY)).status, 404);
    assert.equal((await call("DELETE", "/api/keys/abc", KEY)).status, 404);
  } finally {
    database.close();
  }
});

Deno.test("keys are stored only as SHA-256 hashes", async () => {
  const { database, call } = await app();
  try {
    const created = CreatedKeySchema.parse(
      await (await call("POST", "/api/keys", KEY, { name: "Priya", role: "viewer" })).json(),
    );
    const rows = (await database.client.execute("SELECT * FROM api_keys")).rows;
    assert.equal(rows.length, 1);
    const stored = JSON.stringify(rows[0]);
    assert.ok(!stored.includes(created.key), "the key itself is not in the table");
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(created.key)),
    );
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(rows[0].key_hash, hex);
    assert.equal(rows[0].prefix, created.key.slice(0, 10));
  } finally {
    database.close();
  }
});

Deno.test("key creation validates name and role", async () => {
  const { database, call } = await app();
  try {
    for (
      const [body, field] of [
        [{ role: "member" }, "name"],
        [{ name: " ", role: "member" }, "name"],
        [{ name: "x".repeat(101), role: "member" }, "name"],
        [{ name: "Alex" }, "role"],
        [{ name: "Alex", role: "owner" }, "role"],
      ] as const
    ) {
      const res = await call("POST", "/api/keys", KEY, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(ErrorSchema.parse(await res.json()).field, field);
    }
    assert.equal((await database.client.execute("SELECT count(*) n FROM api_keys")).rows[0].n, 0);
  } finally {
    database.close();
  }
});

Deno.test("failed-authentication rate limit", async (t) => {
  const { database, call } = await app({ TRUST_PROXY: "true", AUTH_FAILURE_LIMIT: "20" });
  const from = (ip: string) => ({ "X-Forwarded-For": ip });
  try {
    await t.step("20 wrong keys per minute, then 429 with Retry-After", async () => {
      for (let i = 0; i < 20; i++) {
        const res = await call("GET", "/api/parts", `wrong-${i}`, undefined, from("203.0.113.7"));
        assert.equal(res.status, 401);
        await res.body?.cancel();
      }
      const blocked = await call("GET", "/api/parts", "wrong-x", undefined, from("203.0.113.7"));
      assert.equal(blocked.status, 429);
      const retry = Number(blocked.headers.get("retry-after"));
      assert.ok(retry > 0 && retry <= 60, `Retry-After ${retry}`);
      assert.equal(ErrorSchema.parse(await blocked.json()).code, "rate_limited");
    });
    await t.step("a valid key from the same address is never throttled", async () => {
      for (let i = 0; i < 30; i++) {
        const res = await call("GET", "/api/parts/stats", KEY, undefined, from("203.0.113.7"));
        assert.equal(res.status, 200);
        await res.body?.cancel();
      }
    });
    await t.step("other addresses are unaffected", async () => {
      const res = await call("GET", "/api/parts", "wrong", undefined, from("198.51.100.1"));
      assert.equal(res.status, 401);
      await res.body?.cancel();
    });
    await t.step("requests without any key are not counted as guesses", async () => {
      for (let i = 0; i < 40; i++) {
        const res = await call("GET", "/api/parts", null, undefined, from("198.51.100.2"));
        assert.equal(res.status, 401);
        await res.body?.cancel();
      }
      const res = await call("GET", "/api/parts", "wrong", undefined, from("198.51.100.2"));
      assert.equal(res.status, 401);
      await res.body?.cancel();
    });
  } finally {
    database.close();
  }
});

Deno.test("CLI: create, list and revoke keys against the configured database", async () => {
  const dir = await Deno.makeTempDir();
  const url = `file:${dir}/parts.db`;
  const script = fileURLToPath(new URL("../../scripts/keys.ts", import.meta.url));
  const cli = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, ...args],
      env: { DATABASE_URL: url, APP_ENV: "development", NO_COLOR: "1" },
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  try {
    const created = await cli("create", "--name", "Alex Chen", "--role", "member", "--json");
    assert.equal(created.code, 0, created.stderr);
    const key = CreatedKeySchema.parse(JSON.parse(created.stdout));
    assert.equal(key.role, "member");

    const { database, call } = await app({}, url);
    try {
      const check = await call("GET", "/api/parts/auth/check", key.key);
      assert.equal(check.status, 200);
      assert.equal(AuthCheckSchema.parse(await check.json()).name, "Alex Chen");

      const listed = await cli("list", "--json");
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(!listed.stdout.includes(key.key), "list never prints keys");
      assert.equal(JSON.parse(listed.stdout)[0].prefix, key.prefix);

      const revoked = await cli("revoke", String(key.id));
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, /revoked/);
      const denied = await call("GET", "/api/parts/auth/check", key.key);
      assert.equal(denied.status, 401);
      await denied.body?.cancel();

      const bad = await cli("create", "--name", "Alex", "--role", "owner");
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /role must be one of/);
    } finally {
      database.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
