/**
 * The life of a key, from outside over HTTP: created (optionally expiring), given another role
 * or name with PATCH, revoked; every step an event in the activity feed (`kind=key`, admins
 * only) with who did it; every key-management answer `Cache-Control: no-store`. Runs against
 * TEST_BASE_URL when set. The CLI's part needs a database file, so it runs in-process only.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ErrorSchema } from "../../src/schemas/common.ts";
import { ActivitySchema, FeedSchema, KeyEventSchema } from "../../src/schemas/events.ts";
import { CreatedKeySchema, KeySchema } from "../../src/schemas/keys.ts";
import { AuthCheckSchema } from "../../src/routes/system.ts";
import { createApp } from "../../src/app.ts";
import { openLibsql } from "../../src/db/client.ts";
import { api, BASE_URL, KEY, MIGRATIONS, type Target, target, testConfig } from "../helpers.ts";
import { serve, SseClient } from "../history/_sse.ts";

type KeyEvent = z.infer<typeof KeyEventSchema>;
const SHARED = "shared key";
/** A year a few years ahead, within the 10 years an expiry may lie ahead. */
const YEAR = new Date().getUTCFullYear() + 2;

async function json<T>(res: Response, schema: { parse(v: unknown): T }, status = 200) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get("cache-control"), "no-store", `${res.url}: no-store`);
  return schema.parse(JSON.parse(text));
}

async function create(t: Target, body: Record<string, unknown>) {
  return await json(await api(t)("POST", "/api/keys", body), CreatedKeySchema, 201);
}

async function checkAs(t: Target, key: string): Promise<Response> {
  return await t.fetch("/api/parts/auth/check", { headers: { "X-API-Key": key } });
}

/** The key events of one key, oldest first, from the feed. */
async function keyEvents(t: Target, keyId: number): Promise<KeyEvent[]> {
  const res = await api(t)("GET", "/api/activity?kind=key&order=asc&limit=500");
  const feed = FeedSchema.parse(await res.json());
  return feed.events.map((e) => KeyEventSchema.parse(e)).filter((e) => e.key.id === keyId);
}

Deno.test("PATCH /api/keys/{id}: a new role or name, each an event with its actor", async () => {
  const t = await target();
  try {
    const call = api(t);
    const created = await create(t, { name: "Jordan Park", role: "member" });
    assert.equal(created.expiresAt, null);

    const promoted = await json(
      await call("PATCH", `/api/keys/${created.id}`, { role: "lead" }),
      KeySchema,
    );
    assert.equal(promoted.role, "lead");
    assert.equal(promoted.name, "Jordan Park");
    const check = AuthCheckSchema.parse(await (await checkAs(t, created.key)).json());
    assert.deepEqual(check, { status: "authenticated", name: "Jordan Park", role: "lead" });
    // The new role takes effect on the very next request.
    const approve = await t.fetch("/api/parts/auth/check", {
      headers: { "X-API-Key": created.key },
    });
    assert.equal(approve.status, 200);
    await approve.body?.cancel();

    const both = await json(
      await call("PATCH", `/api/keys/${created.id}`, { role: "viewer", name: " J. Park " }),
      KeySchema,
    );
    assert.equal(both.role, "viewer");
    assert.equal(both.name, "J. Park");
    // Unchanged values: 200, no event.
    await json(await call("PATCH", `/api/keys/${created.id}`, { role: "viewer" }), KeySchema);

    const events = await keyEvents(t, created.id);
    assert.deepEqual(events.map((e) => [e.action, e.actor]), [
      ["key_created", SHARED],
      ["key_role_changed", SHARED],
      ["key_role_changed", SHARED],
      ["key_renamed", SHARED],
    ]);
    assert.deepEqual(events[0].changes, {
      name: { from: null, to: "Jordan Park" },
      role: { from: null, to: "member" },
    });
    assert.deepEqual(events[1].changes, { role: { from: "member", to: "lead" } });
    assert.deepEqual(events[3].changes, { name: { from: "Jordan Park", to: "J. Park" } });
    assert.deepEqual(events[3].key, {
      id: created.id,
      name: "J. Park",
      prefix: created.prefix,
      role: "viewer",
    });
    const ids = events.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.ok(!JSON.stringify(events).includes(created.key), "never the key itself");

    // An admin's personal key is recorded by its holder's name.
    const admin = await create(t, { name: "Casey Admin", role: "admin" });
    const byAdmin = await t.fetch(`/api/keys/${created.id}`, {
      method: "PATCH",
      headers: { "X-API-Key": admin.key, "Content-Type": "application/json" },
      body: JSON.stringify({ role: "member" }),
    });
    await json(byAdmin, KeySchema);
    assert.equal((await keyEvents(t, created.id)).at(-1)?.actor, "Casey Admin");
  } finally {
    t.close();
  }
});

Deno.test("PATCH /api/keys/{id}: validation, unknown and revoked keys", async () => {
  const t = await target();
  try {
    const call = api(t);
    const created = await create(t, { name: "Riley", role: "viewer" });
    for (
      const [body, field] of [
        [{}, undefined],
        [{ role: "owner" }, "role"],
        [{ name: " " }, "name"],
        [{ name: "x".repeat(101) }, "name"],
        [{ role: 3 }, "role"],
      ] as const
    ) {
      const err = await json(
        await call("PATCH", `/api/keys/${created.id}`, body),
        ErrorSchema,
        400,
      );
      assert.equal(err.code, "validation_failed");
      assert.equal(err.field, field, JSON.stringify(body));
    }
    assert.match(
      (await json(await call("PATCH", `/api/keys/${created.id}`, {}), ErrorSchema, 400)).error,
      /Nothing to change/,
    );
    assert.equal((await keyEvents(t, created.id)).length, 1, "no event for a refused change");

    const missing = await json(
      await call("PATCH", "/api/keys/99999999", { role: "lead" }),
      ErrorSchema,
      404,
    );
    assert.equal(missing.error, "Key not found");
    const notAnId = await json(
      await call("PATCH", "/api/keys/abc", { role: "lead" }),
      ErrorSchema,
      404,
    );
    assert.equal(notAnId.error, "Key not found");

    await json(await call("DELETE", `/api/keys/${created.id}`), KeySchema);
    const revoked = await json(
      await call("PATCH", `/api/keys/${created.id}`, { role: "admin" }),
      ErrorSchema,
      409,
    );
    assert.equal(revoked.code, "conflict");
    assert.match(revoked.error, /revoked/);
    assert.equal((await checkAs(t, created.key)).status, 401, "revoked stays revoked");
    // Revoking twice is one event.
    await json(await call("DELETE", `/api/keys/${created.id}`), KeySchema);
    assert.deepEqual((await keyEvents(t, created.id)).map((e) => e.action), [
      "key_created",
      "key_revoked",
    ]);
  } finally {
    t.close();
  }
});

Deno.test("expiresAt: a key works until then, and is refused like a revoked one after", async () => {
  const t = await target();
  try {
    const call = api(t);
    const now = Date.now();
    for (
      const expiresAt of [
        new Date(now - 60_000).toISOString(),
        "tomorrow",
        "2026-13-01T00:00:00Z",
        new Date(now + 11 * 366 * 86_400_000).toISOString(),
        12345,
      ]
    ) {
      const err = await json(
        await call("POST", "/api/keys", { name: "Temp", role: "viewer", expiresAt }),
        ErrorSchema,
        400,
      );
      assert.equal(err.field, "expiresAt", String(expiresAt));
    }

    const later = new Date(now + 30 * 86_400_000).toISOString();
    const month = await create(t, { name: "Visiting mentor", role: "lead", expiresAt: later });
    assert.equal(month.expiresAt, later);
    const offset = await create(t, {
      name: "Offset",
      role: "viewer",
      expiresAt: `${YEAR}-01-01T09:00:00+02:00`,
    });
    assert.equal(offset.expiresAt, `${YEAR}-01-01T07:00:00.000Z`, "stored in UTC");
    assert.deepEqual((await keyEvents(t, month.id))[0].changes?.expiresAt, {
      from: null,
      to: later,
    });

    const soon = new Date(Date.now() + 1200).toISOString();
    const short = await create(t, { name: "Demo day", role: "member", expiresAt: soon });
    const before = await checkAs(t, short.key);
    assert.equal(before.status, 200);
    await before.body?.cancel();
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(soon) + 100 - Date.now())));
    const after = await checkAs(t, short.key);
    assert.equal(after.status, 401);
    const err = ErrorSchema.parse(await after.json());
    assert.equal(err.error, "Invalid API key", "the same answer as a revoked key");
    const listed = (await (await call("GET", "/api/keys")).json()).keys as { id: number }[];
    const entry = KeySchema.parse(listed.find((k) => k.id === short.id));
    assert.equal(entry.expiresAt, soon, "expired keys stay listed");
    assert.equal(entry.revokedAt, null);
  } finally {
    t.close();
  }
});

Deno.test("key events: admins only, never in the default feed, filterable", async () => {
  const t = await target();
  try {
    const call = api(t);
    const viewer = await create(t, { name: "Screen", role: "viewer" });
    const lead = await create(t, { name: "Lead person", role: "lead" });
    const as = (key: string, path: string) => t.fetch(path, { headers: { "X-API-Key": key } });

    const plain = ActivitySchema.parse(await (await call("GET", "/api/activity?limit=500")).json());
    assert.ok(plain.events.every((e) => !("kind" in e)), "the default feed is part events");

    for (const key of [viewer.key, lead.key]) {
      for (const path of ["/api/activity?kind=key", "/api/activity?kind=all"]) {
        const res = await as(key, path);
        assert.equal(res.status, 403);
        const err = ErrorSchema.parse(await res.json());
        assert.match(err.error, /admin role/);
      }
      const stream = await as(key, "/api/activity/stream?kind=key");
      assert.equal(stream.status, 403);
      await stream.body?.cancel();
    }
    const bad = await call("GET", "/api/activity?action=key_created");
    assert.equal(bad.status, 400);
    assert.equal(ErrorSchema.parse(await bad.json()).field, "kind");
    const badKind = await call("GET", "/api/activity?kind=keys");
    assert.equal(ErrorSchema.parse(await badKind.json()).field, "kind");

    const created = FeedSchema.parse(
      await (await call("GET", "/api/activity?kind=key&action=key_created&limit=500")).json(),
    );
    const mine = created.events.map((e) => KeyEventSchema.parse(e))
      .filter((e) => e.key.id === viewer.id || e.key.id === lead.id);
    assert.equal(mine.length, 2);
    const all = FeedSchema.parse(await (await call("GET", "/api/activity?kind=all")).json());
    assert.ok(all.events.some((e) => "kind" in e), "kind=all mixes both");
    const byActor = FeedSchema.parse(
      await (await call("GET", `/api/activity?kind=key&actor=${encodeURIComponent(SHARED)}`))
        .json(),
    );
    assert.ok(byActor.events.length >= 2);
  } finally {
    t.close();
  }
});

Deno.test("key events arrive live on an admin's stream with kind=key", async () => {
  let base = BASE_URL?.replace(/\/$/, "");
  let local: { shutdown(): Promise<void> } | undefined;
  let close = () => {};
  if (!base) {
    const database = await openLibsql({ url: ":memory:", migrationsFolder: MIGRATIONS });
    const app = createApp({ config: testConfig(), db: database.db, logError: () => {} });
    const server = serve(app.fetch);
    base = server.base;
    local = server;
    close = () => database.close();
  }
  const stream = await SseClient.open(base, { key: KEY, query: "?kind=key" });
  try {
    await stream.next(3000); // greeting
    const res = await fetch(`${base}/api/keys`, {
      method: "POST",
      headers: { "X-API-Key": KEY, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Live key", role: "viewer" }),
    });
    const key = CreatedKeySchema.parse(await res.json());
    const message = await stream.next(5000);
    assert.ok(message?.data, `an event, got: ${stream.raw}`);
    const event = KeyEventSchema.parse(JSON.parse(message.data));
    assert.equal(message.id, String(event.id));
    assert.equal(event.action, "key_created");
    assert.equal(event.key.id, key.id);
    assert.equal(event.actor, SHARED);
  } finally {
    await stream.close();
    await local?.shutdown();
    close();
  }
});

Deno.test("Cache-Control: no-store on every key-management answer, errors included", async () => {
  const t = await target();
  try {
    const call = api(t);
    const viewer = await create(t, { name: "No store", role: "viewer" });
    const answers: [string, Response][] = [
      ["list", await call("GET", "/api/keys")],
      ["create 400", await call("POST", "/api/keys", { name: "" })],
      ["patch", await call("PATCH", `/api/keys/${viewer.id}`, { name: "No store 2" })],
      ["patch 404", await call("PATCH", "/api/keys/99999999", { name: "x" })],
      ["revoke", await call("DELETE", `/api/keys/${viewer.id}`)],
      ["no key 401", await t.fetch("/api/keys")],
      ["viewer 403", await t.fetch("/api/keys", { headers: { "X-API-Key": viewer.key } })],
    ];
    for (const [what, res] of answers) {
      assert.equal(res.headers.get("cache-control"), "no-store", what);
      await res.body?.cancel();
    }
  } finally {
    t.close();
  }
});

if (!BASE_URL) {
  Deno.test("CLI: keys expire, change role and name; each change is a key event", async () => {
    const dir = await Deno.makeTempDir();
    const url = `file:${dir}/parts.db`;
    const script = fileURLToPath(new URL("../../scripts/keys.ts", import.meta.url));
    const cli = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, ...args],
        env: { DATABASE_URL: url, APP_ENV: "development", NO_COLOR: "1", USER: "mentor" },
      }).output();
      return {
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
      };
    };
    try {
      const made = await cli("create", "--name", "Alex", "--role", "member", "--expires", "90d");
      assert.equal(made.code, 0, made.stderr);
      const plain = made.stdout;
      assert.match(plain, /valid until 20\d\d-/);
      const created = await cli(
        "create",
        "--name",
        "Bo",
        "--role",
        "viewer",
        "--json",
        "--expires",
        `${YEAR}-06-30`,
      );
      assert.equal(created.code, 0, created.stderr);
      const bo = CreatedKeySchema.parse(JSON.parse(created.stdout));
      assert.equal(bo.expiresAt, `${YEAR}-06-30T23:59:59.999Z`);

      const updated = await cli(
        "update",
        String(bo.id),
        "--role",
        "lead",
        "--name",
        "Bo K",
        "--json",
      );
      assert.equal(updated.code, 0, updated.stderr);
      const after = KeySchema.parse(JSON.parse(updated.stdout));
      assert.equal(after.role, "lead");
      assert.equal(after.name, "Bo K");

      for (
        const [args, pattern] of [
          [["create", "--name", "C", "--role", "viewer", "--expires", "2001-01-01"], /future/],
          [["create", "--name", "C", "--role", "viewer", "--expires", "soon"], /expiresAt/],
          [["update", String(bo.id)], /Nothing to change/],
          [["update", "x", "--role", "lead"], /numeric key id/],
          [["update", "999", "--role", "lead"], /No key with id 999/],
        ] as const
      ) {
        const res = await cli(...args);
        assert.equal(res.code, 2, args.join(" "));
        assert.match(res.stderr, pattern);
      }
      assert.equal((await cli("revoke", String(bo.id))).code, 0);
      const again = await cli("update", String(bo.id), "--role", "viewer");
      assert.equal(again.code, 2);
      assert.match(again.stderr, /revoked/);

      const database = await openLibsql({ url, migrationsFolder: MIGRATIONS });
      try {
        const app = createApp({ config: testConfig(), db: database.db, logError: () => {} });
        const res = await app.request("/api/activity?kind=key&order=asc", {
          headers: { "X-API-Key": KEY },
        });
        const events = FeedSchema.parse(await res.json()).events.map((e) =>
          KeyEventSchema.parse(e)
        );
        assert.deepEqual(events.map((e) => [e.action, e.key.name, e.actor]), [
          ["key_created", "Alex", "command line (mentor)"],
          ["key_created", "Bo", "command line (mentor)"],
          // One update changed both: each event shows the key as the update left it.
          ["key_role_changed", "Bo K", "command line (mentor)"],
          ["key_renamed", "Bo K", "command line (mentor)"],
          ["key_revoked", "Bo K", "command line (mentor)"],
        ]);
      } finally {
        database.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
