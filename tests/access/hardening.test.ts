/**
 * Secure headers from outside: nosniff on every answer, a Content-Security-Policy on the docs
 * page and the served frontend, CORS by allowlist.
 */
import assert from "node:assert/strict";
// The package root module also loads the whole UI bundle; only the path helper is needed.
import getAbsoluteFSPath from "swagger-ui-dist/absolute-path.js";
import { createApp } from "../../src/app.ts";
import { openLibsql } from "../../src/db/client.ts";
import { directorySource } from "../../src/entry/fs-assets.ts";
import { BASE_URL, KEY, MIGRATIONS, target, testConfig } from "../helpers.ts";

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

/** A frontend folder like a team's build: an inline bootstrap script beside a module. */
async function frontendFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "parts-frontend-" });
  await Deno.writeTextFile(
    `${dir}/index.html`,
    "<!doctype html><title>Parts</title><script>window.boot = 1;</script>" +
      '<script type="module" src="/app.js"></script><p>parts-frontend-shell</p>',
  );
  await Deno.writeTextFile(`${dir}/app.js`, "console.log('parts');\n");
  await Deno.writeTextFile(`${dir}/logo.svg`, '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

/** The app in-process with a served frontend and CORS for one origin. */
async function withFrontend(env: Record<string, string> = {}) {
  const dir = await frontendFolder();
  const database = await openLibsql({ url: ":memory:", migrationsFolder: MIGRATIONS });
  const app = createApp({
    config: testConfig({ CORS_ORIGINS: "https://parts.example-team.org", ...env }),
    db: database.db,
    staticFiles: directorySource(dir),
    docsAssets: directorySource(getAbsoluteFSPath()),
    logError: () => {},
  });
  return {
    fetch: async (path: string, init?: RequestInit) => await app.request(path, init),
    async close() {
      database.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("X-Content-Type-Options: nosniff on every kind of answer", async () => {
  const t = await withFrontend();
  try {
    const key = { "X-API-Key": KEY };
    const list = await t.fetch("/api/parts", { headers: key });
    const etag = list.headers.get("etag")!;
    await list.body?.cancel();
    const cases: [string, string, RequestInit?][] = [
      ["health", "/health"],
      ["OpenAPI document", "/api/openapi.json"],
      ["docs page", "/api/docs"],
      ["docs asset", "/api/docs/assets/init.js"],
      ["list", "/api/parts", { headers: key }],
      ["304", "/api/parts", { headers: { ...key, "If-None-Match": etag } }],
      ["HEAD", "/api/parts", { method: "HEAD", headers: key }],
      ["no key 401", "/api/parts"],
      ["wrong key 401", "/api/parts", { headers: { "X-API-Key": "wrong" } }],
      ["unknown part 404", "/api/parts/999999", { headers: key }],
      ["unknown route 404", "/api/nothing-here"],
      ["validation 400", "/api/parts?limit=0", { headers: key }],
      ["415", "/api/parts", { method: "POST", headers: { ...key, "Content-Type": "text/csv" } }],
      [
        "413",
        "/api/parts",
        {
          method: "POST",
          headers: { ...key, "Content-Type": "application/json" },
          body: JSON.stringify({ notes: "x".repeat(300_000) }),
        },
      ],
      [
        "CORS preflight",
        "/api/parts",
        {
          method: "OPTIONS",
          headers: {
            Origin: "https://parts.example-team.org",
            "Access-Control-Request-Method": "PATCH",
          },
        },
      ],
      ["frontend page", "/"],
      ["frontend route", "/parts/42"],
      ["frontend file", "/app.js"],
      ["missing frontend file", "/missing.js"],
    ];
    const statuses: Record<string, number> = {};
    for (const [what, path, init] of cases) {
      const res = await t.fetch(path, init);
      await res.body?.cancel();
      statuses[what] = res.status;
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", `${what} (${path})`);
    }
    // The answers are really the kinds named.
    assert.deepEqual(
      [statuses["304"], statuses["415"], statuses["413"], statuses["missing frontend file"]],
      [304, 415, 413, 404],
    );
    assert.equal(statuses["CORS preflight"], 204);
    const stream = await t.fetch("/api/activity/stream", { headers: key });
    assert.equal(stream.headers.get("x-content-type-options"), "nosniff", "live stream");
    await stream.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("answers outside BASE_PATH carry the secure headers and a request id too", async () => {
  const t = await target({ BASE_PATH: "/parts-app" });
  try {
    const res = await t.fetch("/somewhere-else");
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const id = res.headers.get("x-request-id");
    assert.ok(id);
    assert.equal((await res.json()).requestId, id);
  } finally {
    t.close();
  }
});

Deno.test("CORS allows PATCH, for key management from an allowed origin", async () => {
  const t = await withFrontend();
  try {
    const pre = await t.fetch("/api/keys/1", {
      method: "OPTIONS",
      headers: {
        Origin: "https://parts.example-team.org",
        "Access-Control-Request-Method": "PATCH",
      },
    });
    await pre.body?.cancel();
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /\bPATCH\b/);
  } finally {
    await t.close();
  }
});

/** The directives of a Content-Security-Policy header. */
function directives(header: string | null): Map<string, string[]> {
  assert.ok(header, "a Content-Security-Policy header");
  return new Map(
    header.split(";").map((d) => d.trim().split(/\s+/)).filter((d) => d[0])
      .map(([name, ...values]) => [name, values]),
  );
}

Deno.test("the docs page has a CSP that allows only its own origin's scripts", async () => {
  // A real server serves Swagger UI's files; in-process they are given to the app.
  const t = BASE_URL ? await target() : await withFrontend();
  try {
    const res = await t.fetch("/api/docs");
    const html = await res.text();
    const csp = directives(res.headers.get("content-security-policy"));
    assert.deepEqual(csp.get("script-src"), ["'self'"], "no inline or foreign script");
    assert.deepEqual(csp.get("default-src"), ["'self'"]);
    assert.deepEqual(csp.get("connect-src"), ["'self'"]);
    assert.deepEqual(csp.get("object-src"), ["'none'"]);
    assert.deepEqual(csp.get("frame-ancestors"), ["'none'"]);
    // So the page has no inline script to be blocked: its init is a file of this server.
    assert.doesNotMatch(html, /<script>(?!<\/script>)/);
    assert.match(html, /<script src="[^"]*\/api\/docs\/assets\/init\.js"><\/script>/);
  } finally {
    await t.close();
  }
});

/** The base64 SHA-256 of a string, as CSP hash sources write it. */
async function cspHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
}

Deno.test("the served frontend has a CSP: this origin only, its own inline scripts by hash", async () => {
  const t = await withFrontend();
  try {
    for (const path of ["/", "/parts/42"]) {
      const res = await t.fetch(path);
      assert.match(await res.text(), /parts-frontend-shell/);
      const csp = directives(res.headers.get("content-security-policy"));
      assert.deepEqual(csp.get("default-src"), ["'self'"]);
      const scripts = csp.get("script-src")!;
      assert.ok(scripts.includes("'self'"));
      assert.ok(scripts.includes(await cspHash("window.boot = 1;")), scripts.join(" "));
      assert.ok(!scripts.includes("'unsafe-inline'") && !scripts.includes("'unsafe-eval'"));
      assert.ok(!scripts.some((s) => /^https?:|^\*$/.test(s)), "nothing from elsewhere");
      assert.deepEqual(csp.get("object-src"), ["'none'"]);
      assert.deepEqual(csp.get("frame-ancestors"), ["'self'"]);
    }
    const svg = await t.fetch("/logo.svg");
    await svg.body?.cancel();
    assert.ok(svg.headers.get("content-security-policy"), "an SVG document gets it too");
    const js = await t.fetch("/app.js");
    await js.body?.cancel();
    assert.equal(js.headers.get("content-security-policy"), null, "scripts need none");
  } finally {
    await t.close();
  }
});

Deno.test("STATIC_CSP replaces the frontend's policy, or turns it off", async () => {
  const custom = await withFrontend({ STATIC_CSP: "default-src 'self' https://fonts.example" });
  try {
    const res = await custom.fetch("/");
    await res.body?.cancel();
    assert.equal(
      res.headers.get("content-security-policy"),
      "default-src 'self' https://fonts.example",
    );
  } finally {
    await custom.close();
  }
  const off = await withFrontend({ STATIC_CSP: "off" });
  try {
    const res = await off.fetch("/");
    await res.body?.cancel();
    assert.equal(res.headers.get("content-security-policy"), null);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  } finally {
    await off.close();
  }
});

if (BASE_URL && Deno.env.get("TEST_RUNTIME") !== "workerd") {
  // The runner serves a frontend from STATIC_DIR on Deno and Node (Workers have no disk).
  Deno.test("runtime: the served frontend has its CSP", async () => {
    const t = await target();
    const res = await t.fetch("/");
    assert.match(await res.text(), /parts-frontend-shell/);
    const csp = directives(res.headers.get("content-security-policy"));
    assert.deepEqual(csp.get("default-src"), ["'self'"]);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  });
}
