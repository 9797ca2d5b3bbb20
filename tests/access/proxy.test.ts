/**
 * The failed-key budget behind reverse proxies: a client that forges X-Forwarded-For entries
 * gets no fresh budget. Each request here carries the header exactly as the trusted proxy
 * forwards it (nginx's `$proxy_add_x_forwarded_for`: what the client sent, then the address
 * the proxy saw). In-process the app is told its socket peer; against a real server
 * (TEST_BASE_URL, started with TRUST_PROXY=true by `deno task test:runtimes`) the peer is this
 * test's loopback connection, standing in for the proxy.
 */
import assert from "node:assert/strict";
import { createApp } from "../../src/app.ts";
import { openLibsql } from "../../src/db/client.ts";
import { ErrorSchema } from "../../src/schemas/common.ts";
import { BASE_URL, KEY, MIGRATIONS, testConfig } from "../helpers.ts";

const WRONG = "pm_forged-forwarded-for-0000000000000";

type Send = (forwardedFor: string | null, key?: string) => Promise<number>;

/** The app in-process, with a fixed socket peer (the proxy, or a client connecting directly). */
async function inProcess(env: Record<string, string>, peer: string) {
  const database = await openLibsql({ url: ":memory:", migrationsFolder: MIGRATIONS });
  const app = createApp({
    config: testConfig({ AUTH_FAILURE_LIMIT: "20", ...env }),
    db: database.db,
    clientAddress: () => peer,
    logError: () => {},
  });
  const send: Send = async (forwardedFor, key = WRONG) => {
    const headers: Record<string, string> = { "X-API-Key": key };
    if (forwardedFor !== null) headers["X-Forwarded-For"] = forwardedFor;
    const res = await app.request("/api/parts/auth/check", { headers });
    await res.body?.cancel();
    return res.status;
  };
  return { send, close: () => database.close() };
}

/** A TEST-NET-3 address no other run of this file used recently (remote budgets persist). */
function clientAddress(): string {
  return `203.0.113.${1 + Math.floor(Math.random() * 250)}`;
}

/**
 * 100 wrong keys, each with another forged entry in front of the real client's: they all draw
 * on the real client's budget, so the first `limit` are 401s and every later one a 429.
 */
async function forgedHundred(send: Send, forwarded: (n: number) => string, limit: number) {
  const statuses: number[] = [];
  for (let n = 0; n < 100; n++) statuses.push(await send(forwarded(n)));
  const expected = statuses.map((_, i) => (i < limit ? 401 : 429));
  assert.deepEqual(statuses, expected, `statuses: ${statuses.join(",")}`);
}

Deno.test("one trusted hop: 100 forged X-Forwarded-For share one failed-key budget", async () => {
  const app = await inProcess({ TRUST_PROXY: "true" }, "10.0.0.2");
  try {
    const client = "203.0.113.9";
    await forgedHundred(app.send, (n) => `1.2.3.${n}, ${client}`, 20);
    assert.equal(await app.send(`9.9.9.9, ${client}`), 429, "still blocked");
    // A valid key from the blocked client is never throttled.
    assert.equal(await app.send(`1.2.3.4, ${client}`, KEY), 200);
    // Another client behind the same proxy has its own budget.
    assert.equal(await app.send(`1.2.3.4, 198.51.100.7`), 401);
    // Many entries, spaces and ports: still the proxy's entry.
    assert.equal(await app.send(`a, b,,c , ${client}:50312`), 429);
  } finally {
    app.close();
  }
});

Deno.test("no trusted proxy: X-Forwarded-For is ignored, the socket's budget is shared", async () => {
  const app = await inProcess({}, "198.51.100.20");
  try {
    await forgedHundred(app.send, (n) => `1.2.3.${n}`, 20);
  } finally {
    app.close();
  }
});

Deno.test("two trusted hops (CDN → nginx → app): the address the CDN saw", async () => {
  const app = await inProcess({ TRUST_PROXY: "true", TRUSTED_PROXY_HOPS: "2" }, "10.0.0.2");
  try {
    const cdn = "198.51.100.1";
    await forgedHundred(app.send, (n) => `1.2.3.${n}, 203.0.113.9, ${cdn}`, 20);
    assert.equal(await app.send(`203.0.113.10, ${cdn}`), 401, "another client of the CDN");
  } finally {
    app.close();
  }
});

Deno.test("proxies listed by address: the right-most address that is not one of them", async (t) => {
  const env = { TRUST_PROXY: "true", TRUSTED_PROXIES: "10.0.0.0/8, fd00::/8" };
  await t.step("through the proxy", async () => {
    const app = await inProcess(env, "10.0.0.2");
    try {
      // An inner proxy (10.0.0.3) between the edge and the app is skipped as well.
      await forgedHundred(app.send, (n) => `1.2.3.${n}, 203.0.113.9, 10.0.0.3`, 20);
      assert.equal(await app.send(`1.2.3.4, 203.0.113.10, 10.0.0.3`), 401);
    } finally {
      app.close();
    }
  });
  await t.step("a client reaching the app directly cannot forge its way out", async () => {
    const app = await inProcess(env, "203.0.113.66");
    try {
      await forgedHundred(app.send, (n) => `1.2.3.${n}, 10.0.0.3`, 20);
    } finally {
      app.close();
    }
  });
  await t.step("an IPv6 client draws on its /64's budget", async () => {
    const app = await inProcess(env, "fd00::2");
    try {
      await forgedHundred(app.send, (n) => `2001:db8:1:2::${n.toString(16)}`, 20);
      assert.equal(await app.send("2001:db8:1:3::1"), 401, "another /64");
    } finally {
      app.close();
    }
  });
});

const REMOTE_TRUST = Deno.env.get("TEST_TRUST_PROXY");
const REMOTE_NAME = "a real server behind one trusted hop: forged X-Forwarded-For share a budget";
if (BASE_URL && REMOTE_TRUST === "hops:1") {
  Deno.test(REMOTE_NAME, async () => {
    const limit = Number(Deno.env.get("TEST_AUTH_FAILURE_LIMIT") ?? "20");
    const client = clientAddress();
    const send: Send = async (forwardedFor, key = WRONG) => {
      const headers: Record<string, string> = { "X-API-Key": key };
      if (forwardedFor !== null) headers["X-Forwarded-For"] = forwardedFor;
      const res = await fetch(new URL("/api/parts/auth/check", BASE_URL), { headers });
      if (res.status === 429) {
        assert.match(res.headers.get("retry-after") ?? "", /^\d+$/);
        assert.equal(ErrorSchema.parse(await res.json()).code, "rate_limited");
      } else await res.body?.cancel();
      return res.status;
    };
    await forgedHundred(send, (n) => `1.2.3.${n}, ${client}`, limit);
    assert.equal(await send(`1.2.3.4, ${client}`, KEY), 200, "a valid key is never throttled");
  });
} else if (BASE_URL) {
  Deno.test({
    name: `${REMOTE_NAME} (skipped: the server was not started with TRUST_PROXY=true, ` +
      "TEST_TRUST_PROXY=hops:1)",
    ignore: true,
    fn() {},
  });
}
