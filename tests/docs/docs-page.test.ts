/**
 * The docs page renders offline in a real headless Chromium: the app listens on a loopback
 * port, Chromium may resolve no other host, and the rendered DOM must hold Swagger UI's
 * rendering of our own document (title, every operation's path and summary). That proves the
 * bundle came from our server, ran under the page's CSP, and fetched the spec from it.
 *
 * Needs Debian's `chromium` (apt-get install -y chromium), or a browser at CHROMIUM_PATH. Without it the
 * browser tests are skipped, unless REQUIRE_BROWSER=1, which makes them fail instead (CI).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
// The package root module also loads the whole UI bundle; only the path helper is needed.
import getAbsoluteFSPath from "swagger-ui-dist/absolute-path.js";
import { createApp } from "../../src/app.ts";
import { openLibsql } from "../../src/db/client.ts";
import { directorySource } from "../../src/entry/fs-assets.ts";
import { MIGRATIONS, testConfig } from "../helpers.ts";

/** CHROMIUM_PATH, when set, is the only place looked at. */
const CANDIDATES = Deno.env.get("CHROMIUM_PATH")
  ? [Deno.env.get("CHROMIUM_PATH")!]
  : ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const CHROMIUM = CANDIDATES.find((p) => existsSync(p));
const REQUIRE_BROWSER = Deno.env.get("REQUIRE_BROWSER") === "1";
const SCREENSHOT = "/tmp/docs-page.png";
const SKIPPED = " (skipped: chromium not installed — apt-get install chromium)";

interface Served {
  url: string;
  seen: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

/** The app as src/entry/deno.ts builds it, on a real loopback socket. */
async function serve(basePath = ""): Promise<Served> {
  const config = testConfig(basePath ? { BASE_PATH: basePath } : {});
  const database = await openLibsql({ url: config.databaseUrl, migrationsFolder: MIGRATIONS });
  const app = createApp({
    config,
    db: database.db,
    docsAssets: directorySource(getAbsoluteFSPath()),
    logError: () => {},
  });
  const seen: Served["seen"] = [];
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (request) => {
      const response = await app.fetch(request);
      seen.push({
        method: request.method,
        path: new URL(request.url).pathname,
        status: response.status,
      });
      return response;
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}${config.basePath}`,
    seen,
    async close() {
      await server.shutdown();
      database.close();
    },
  };
}

/** Loads `url` in headless Chromium; returns the DOM after scripts ran, and a screenshot. */
async function render(url: string, screenshot: string): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "docs-chromium-" });
  try {
    const command = new Deno.Command(CHROMIUM!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        // Offline: every host but the loopback test server fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=10000",
        "--window-size=1280,2000",
        `--screenshot=${screenshot}`,
        "--dump-dom",
        url,
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal: AbortSignal.timeout(60_000),
    });
    const { code, stdout, stderr } = await command.output();
    const dom = new TextDecoder().decode(stdout);
    const log = new TextDecoder().decode(stderr).split("\n").slice(-20).join("\n");
    assert.equal(code, 0, `chromium exited with ${code}:\n${log}`);
    assert.ok(dom.length > 0, `chromium printed no DOM:\n${log}`);
    return dom;
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

const escapeHtml = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

interface Document {
  info: { title: string };
  paths: Record<string, Record<string, { summary?: string }>>;
}

async function checkRendersInBrowser(basePath: string, screenshot: string) {
  const server = await serve(basePath);
  try {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as Document;
    server.seen.length = 0;

    const dom = await render(`${server.url}/api/docs`, screenshot);

    // Swagger UI replaced the empty mount point with its rendering of our document.
    // (assert.ok with a message: a failing assert.match would print the whole DOM)
    assert.ok(
      /<div id="swagger-ui"[^>]*><div class="swagger-ui">/.test(dom),
      "Swagger UI mounted into #swagger-ui",
    );
    assert.ok(dom.includes('class="information-container'), "the info section is rendered");
    assert.ok(
      new RegExp(`class="title">${escapeHtml(doc.info.title)}<`).test(dom),
      "the API title is rendered as the page heading",
    );
    assert.ok(dom.includes(`data-path="${basePath}/api/parts/{id}/assign"`));
    let operations = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      assert.ok(dom.includes(`data-path="${path}"`), `operation block for ${path}`);
      for (const op of Object.values(item)) {
        if (!op.summary) continue;
        operations++;
        assert.ok(dom.includes(escapeHtml(op.summary)), `summary "${op.summary}" rendered`);
      }
    }
    assert.ok(operations >= 15, `only ${operations} operations rendered`);
    assert.ok(!/class="[^"]*\berrors-wrapper\b/.test(dom), "Swagger UI reports no errors");

    // Everything came from this server, and it answered each of those requests.
    const fetched = new Map(server.seen.map((r) => [r.path, r.status]));
    for (
      const path of [
        "/api/docs",
        "/api/docs/assets/swagger-ui.css",
        "/api/docs/assets/swagger-ui-bundle.js",
        "/api/docs/assets/init.js",
        "/api/openapi.json",
      ]
    ) {
      assert.equal(fetched.get(basePath + path), 200, `browser fetched ${basePath}${path}`);
    }

    const png = await Deno.readFile(screenshot);
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "screenshot is a PNG");
    assert.ok(png.length > 20_000, `screenshot is suspiciously small (${png.length} bytes)`);
  } finally {
    await server.close();
  }
}

if (CHROMIUM) {
  Deno.test("docs page renders Swagger UI offline in headless Chromium", async () => {
    await checkRendersInBrowser("", SCREENSHOT);
  });
  Deno.test("docs page renders under BASE_PATH in headless Chromium", async () => {
    const dir = await Deno.makeTempDir({ prefix: "docs-shot-" });
    try {
      await checkRendersInBrowser("/parts-app", `${dir}/docs-page.png`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
} else if (REQUIRE_BROWSER) {
  Deno.test("docs page renders in headless Chromium (REQUIRE_BROWSER=1)", () => {
    assert.fail(
      `REQUIRE_BROWSER=1 but no Chromium at ${CANDIDATES.join(", ")}: ` +
        "apt-get install -y chromium (or set CHROMIUM_PATH)",
    );
  });
} else {
  Deno.test({
    name: `docs page renders Swagger UI offline in headless Chromium${SKIPPED}`,
    ignore: true,
    fn() {},
  });
  Deno.test({
    name: `docs page renders under BASE_PATH in headless Chromium${SKIPPED}`,
    ignore: true,
    fn() {},
  });
}

// ---------------------------------------------------------------------------------------------
// Without a browser: the page and its assets as plain HTTP.

async function appWith(env: Record<string, string>, withAssets: boolean) {
  const config = testConfig(env);
  const database = await openLibsql({ url: config.databaseUrl, migrationsFolder: MIGRATIONS });
  const app = createApp({
    config,
    db: database.db,
    docsAssets: withAssets ? directorySource(getAbsoluteFSPath()) : undefined,
    logError: () => {},
  });
  return { app, close: () => database.close() };
}

Deno.test("docs page without bundled assets is still useful HTML linking the document", async () => {
  for (const base of ["", "/parts-app"]) {
    const { app, close } = await appWith(base ? { BASE_PATH: base } : {}, false);
    try {
      const res = await app.request(`${base}/api/docs`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      const html = await res.text();
      assert.ok(
        html.includes(`<a href="${base}/api/openapi.json">`),
        `links ${base}/api/openapi.json`,
      );
      assert.ok(!html.includes("<script"), "no script that would fetch a missing bundle");
      assert.ok(!/https?:\/\/(?!localhost)/.test(html), "nothing loaded from another host");
      const spec = await app.request(`${base}/api/openapi.json`);
      assert.equal(spec.status, 200, "the linked document is there");
      await spec.body?.cancel();
      const asset = await app.request(`${base}/api/docs/assets/swagger-ui-bundle.js`);
      assert.equal(asset.status, 404, "no bundle to serve");
      assert.equal((await asset.json()).code, "not_found");
    } finally {
      close();
    }
  }
});

Deno.test("docs page with assets: same-origin scripts, a CSP, a no-JS fallback", async () => {
  const { app, close } = await appWith({}, true);
  try {
    const res = await app.request("/api/docs");
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(!/(src|href)="https?:/.test(html), "no asset is loaded from a CDN");
    assert.match(html, /<noscript>[\s\S]*<a href="\/api\/openapi\.json">/);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);

    const js = await app.request("/api/docs/assets/swagger-ui-bundle.js");
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
    assert.ok((await js.arrayBuffer()).byteLength > 100_000, "the real Swagger UI bundle");
    const css = await app.request("/api/docs/assets/swagger-ui.css");
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/);
    await css.body?.cancel();
  } finally {
    close();
  }
});

Deno.test("docs assets: only the listed files, never a path outside the package", async () => {
  const { app, close } = await appWith({}, true);
  try {
    for (
      const path of [
        "/api/docs/assets/index.html",
        "/api/docs/assets/package.json",
        "/api/docs/assets/..%2Fpackage.json",
        "/api/docs/assets/..%2F..%2F..%2Fdeno.json",
        "/api/docs/assets/%2Fetc%2Fpasswd",
      ]
    ) {
      const res = await app.request(path);
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
  } finally {
    close();
  }
});
