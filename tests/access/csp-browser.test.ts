/**
 * The served frontend's Content-Security-Policy in a real headless Chromium, offline: a page
 * built like a team's SPA (an inline import map and bootstrap script, a module, same-origin
 * API calls, blob: images, WebAssembly) works under it, while a script injected into the page,
 * eval and requests to other origins are blocked and reported as violations. The DOM after the
 * page ran says what happened.
 *
 * Needs Debian's `chromium` (or CHROMIUM_PATH); skipped without it unless REQUIRE_BROWSER=1.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createApp } from "../../src/app.ts";
import { openLibsql } from "../../src/db/client.ts";
import { directorySource } from "../../src/entry/fs-assets.ts";
import { KEY, MIGRATIONS, testConfig } from "../helpers.ts";

const CANDIDATES = Deno.env.get("CHROMIUM_PATH")
  ? [Deno.env.get("CHROMIUM_PATH")!]
  : ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const CHROMIUM = CANDIDATES.find((p) => existsSync(p));
const REQUIRE_BROWSER = Deno.env.get("REQUIRE_BROWSER") === "1";

const INDEX = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parts</title>
  <link rel="icon" href="data:,">
  <script type="importmap">
  { "imports": { "greeting": "/lib/greeting.js" } }
  </script>
  <script>document.documentElement.dataset.inline = "ran";</script>
  <style>#out { color: #123; }</style>
</head>
<body>
  <p id="out">waiting</p>
  <script type="module" src="/app.js"></script>
</body>
</html>`;

const GREETING = `export const hello = () => "ok";\n`;

// A minimal WebAssembly module: the magic number and version.
const APP = `import { hello } from "greeting";
const out = [];
const violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  violations.push(e.effectiveDirective);
});
out.push("module:" + hello());
out.push("inline:" + (document.documentElement.dataset.inline ?? "blocked"));
const injected = document.createElement("script");
injected.textContent = "document.documentElement.dataset.injected = 'ran'";
document.head.append(injected);
out.push("injected:" + (document.documentElement.dataset.injected ?? "blocked"));
try {
  eval("1");
  out.push("eval:ran");
} catch {
  out.push("eval:blocked");
}
const key = new URLSearchParams(location.hash.slice(1)).get("key");
const res = await fetch("/api/parts/auth/check", { headers: { "X-API-Key": key } });
out.push("api:" + res.status);
try {
  await fetch("http://203.0.113.1/steal");
  out.push("foreign:ran");
} catch {
  out.push("foreign:blocked");
}
const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>';
const img = new Image();
img.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
await img.decode().then(() => out.push("blob-image:ok"), () => out.push("blob-image:blocked"));
await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))
  .then(() => out.push("wasm:ok"), () => out.push("wasm:blocked"));
await new Promise((r) => setTimeout(r, 50));
out.push("violations:" + [...new Set(violations)].sort().join(","));
document.getElementById("out").textContent = out.join(" ");
`;

async function serveFrontend() {
  const dir = await Deno.makeTempDir({ prefix: "parts-csp-" });
  await Deno.mkdir(`${dir}/lib`);
  await Deno.writeTextFile(`${dir}/index.html`, INDEX);
  await Deno.writeTextFile(`${dir}/app.js`, APP);
  await Deno.writeTextFile(`${dir}/lib/greeting.js`, GREETING);
  const database = await openLibsql({ url: ":memory:", migrationsFolder: MIGRATIONS });
  const app = createApp({
    config: testConfig(),
    db: database.db,
    staticFiles: directorySource(dir),
    logError: () => {},
  });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (request) => app.fetch(request),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await server.shutdown();
      database.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Loads `url` in headless Chromium that may resolve no host but the loopback; the DOM after. */
async function dumpDom(url: string): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "csp-chromium-" });
  try {
    const { code, stdout, stderr } = await new Deno.Command(CHROMIUM!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=10000",
        "--dump-dom",
        url,
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const log = new TextDecoder().decode(stderr).split("\n").slice(-20).join("\n");
    assert.equal(code, 0, `chromium exited with ${code}:\n${log}`);
    return new TextDecoder().decode(stdout);
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

const NAME = "the served frontend works offline under its CSP; injected scripts do not run";
if (CHROMIUM) {
  Deno.test(NAME, async () => {
    const served = await serveFrontend();
    try {
      const dom = await dumpDom(`${served.url}/#key=${encodeURIComponent(KEY)}`);
      const out = dom.match(/<p id="out">([^<]*)<\/p>/)?.[1];
      assert.ok(out && out !== "waiting", `the page's module did not finish:\n${dom}`);
      const results = Object.fromEntries(out.split(" ").map((r) => r.split(":", 2)));
      assert.deepEqual(results, {
        module: "ok",
        inline: "ran",
        injected: "blocked",
        eval: "blocked",
        api: "200",
        foreign: "blocked",
        "blob-image": "ok",
        wasm: "ok",
        violations: "connect-src,script-src,script-src-elem",
      });
    } finally {
      await served.close();
    }
  });
} else if (REQUIRE_BROWSER) {
  Deno.test(`${NAME} (REQUIRE_BROWSER=1)`, () => {
    assert.fail(`REQUIRE_BROWSER=1 but no Chromium at ${CANDIDATES.join(", ")}`);
  });
} else {
  Deno.test({ name: `${NAME} (skipped: chromium not installed)`, ignore: true, fn() {} });
}
