import assert from "node:assert/strict";
import { KEY, target } from "../helpers.ts";

Deno.test("responses carry secure headers", async () => {
  const t = await target();
  try {
    const res = await t.fetch("/api/parts", { headers: { "X-API-Key": KEY } });
    await res.body?.cancel();
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("x-frame-options"), "SAMEORIGIN");
    assert.match(res.headers.get("strict-transport-security") ?? "", /max-age=\d+/);
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
    assert.equal(res.headers.get("x-powered-by"), null);
  } finally {
    t.close();
  }
});

Deno.test("CORS answers only allowlisted origins", async (t) => {
  const app = await target({ CORS_ORIGINS: "https://parts.example-team.org" });
  try {
    await t.step("allowed origin: preflight and response are allowed", async () => {
      const pre = await app.fetch("/api/parts", {
        method: "OPTIONS",
        headers: {
          Origin: "https://parts.example-team.org",
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "x-api-key, content-type",
        },
      });
      await pre.body?.cancel();
      assert.equal(pre.status, 204);
      assert.equal(
        pre.headers.get("access-control-allow-origin"),
        "https://parts.example-team.org",
      );
      assert.match(pre.headers.get("access-control-allow-headers") ?? "", /X-API-Key/i);
      const res = await app.fetch("/api/parts", {
        headers: { Origin: "https://parts.example-team.org", "X-API-Key": KEY },
      });
      await res.body?.cancel();
      assert.equal(
        res.headers.get("access-control-allow-origin"),
        "https://parts.example-team.org",
      );
    });
    await t.step("other origins get no CORS grant", async () => {
      for (
        const origin of ["https://evil.example", "null", "https://parts.example-team.org.evil"]
      ) {
        const res = await app.fetch("/api/parts", {
          headers: { Origin: origin, "X-API-Key": KEY },
        });
        await res.body?.cancel();
        assert.equal(res.headers.get("access-control-allow-origin"), null, origin);
      }
    });
  } finally {
    app.close();
  }
});
