/**
 * The failed-auth rate limit keys on the client address that each runtime reports (the Deno
 * socket, @hono/node-server's conninfo, Cloudflare's cf-connecting-ip). Run against a real
 * server (TEST_BASE_URL), last: it blocks 127.0.0.1 for a minute. The second address is
 * 127.0.0.2 through curl's --interface, since fetch cannot choose its source address.
 */
import assert from "node:assert/strict";
import { BASE_URL, KEY } from "../helpers.ts";

const LIMIT = Number(Deno.env.get("TEST_AUTH_FAILURE_LIMIT") ?? "20");
const RUNTIME = Deno.env.get("TEST_RUNTIME") ?? "unknown";

async function statusFrom(source: string, key: string): Promise<number> {
  const { stdout, success } = await new Deno.Command("curl", {
    args: [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--interface",
      source,
      "-H",
      `X-API-Key: ${key}`,
      new URL("/api/parts/auth/check", BASE_URL).href,
    ],
    stdout: "piped",
  }).output();
  assert.ok(success, `curl from ${source} failed`);
  return Number(new TextDecoder().decode(stdout));
}

if (BASE_URL) {
  Deno.test(`runtime ${RUNTIME}: wrong keys are limited per client address`, async () => {
    const url = new URL("/api/parts/auth/check", BASE_URL);
    const wrong = { "X-API-Key": "pm_wrong-key-for-the-rate-limit-test-0000" };
    let last = 0;
    for (let i = 0; i <= LIMIT; i++) {
      const res = await fetch(url, { headers: wrong });
      last = res.status;
      await res.body?.cancel();
      if (last === 429) break;
    }
    assert.equal(last, 429, `no 429 after ${LIMIT + 1} wrong keys`);
    const blocked = await fetch(url, { headers: wrong });
    assert.equal(blocked.status, 429);
    assert.match(blocked.headers.get("retry-after") ?? "", /^\d+$/);
    await blocked.body?.cancel();

    const ok = await fetch(url, { headers: { "X-API-Key": KEY } });
    assert.equal(ok.status, 200, "a valid key is never throttled");
    await ok.body?.cancel();
    assert.equal(
      await statusFrom("127.0.0.2", "pm_wrong-key-for-the-rate-limit-test-0000"),
      401,
      "another client address is not blocked (the runtime reports the real address)",
    );
  });
}
