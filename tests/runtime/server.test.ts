/**
 * What each runtime's entry and database add to the app, checked on a real server (TEST_BASE_URL,
 * started by `deno task test:runtimes`): Swagger UI's files for the docs page, STATIC_DIR, and
 * racing claims decided by this database (tests/contract/concurrency.test.ts races in-process on
 * a libSQL file only). Without TEST_BASE_URL this file registers nothing.
 */
import assert from "node:assert/strict";
import { api, BASE_URL, newPart, target } from "../helpers.ts";
import { PartSchema } from "../../src/schemas/parts.ts";

/** deno, node or workerd: which entry the server at TEST_BASE_URL runs. */
const RUNTIME = Deno.env.get("TEST_RUNTIME") ?? "unknown";

if (BASE_URL) {
  Deno.test(`runtime ${RUNTIME}: the docs page serves Swagger UI from this deployment`, async () => {
    const t = await target();
    const page = await t.fetch("/api/docs");
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.ok(html.includes("/api/docs/assets/swagger-ui-bundle.js"), "the page loads the bundle");
    assert.ok(!/(src|href)="https?:/.test(html), "nothing from a CDN");
    const js = await t.fetch("/api/docs/assets/swagger-ui-bundle.js");
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
    assert.ok((await js.arrayBuffer()).byteLength > 100_000, "the real Swagger UI bundle");
    const css = await t.fetch("/api/docs/assets/swagger-ui.css");
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/);
    await css.body?.cancel();
    const outside = await t.fetch("/api/docs/assets/..%2F..%2Fpackage.json");
    assert.equal(outside.status, 404);
    await outside.body?.cancel();
  });

  const staticName = `runtime ${RUNTIME}: STATIC_DIR serves the built frontend at /`;
  if (RUNTIME === "workerd") {
    Deno.test({
      name: `${staticName} (not supported on Cloudflare Workers: no file system, and the Worker ` +
        "refuses STATIC_DIR; serve the frontend with Workers Static Assets or Cloudflare Pages)",
      ignore: true,
      fn() {},
    });
  } else {
    // The runner puts index.html ("parts-frontend-shell") and app.js in STATIC_DIR.
    Deno.test(staticName, async () => {
      const t = await target();
      for (const path of ["/", "/parts/42"]) {
        const res = await t.fetch(path);
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
        assert.match(await res.text(), /parts-frontend-shell/, `${path} is the page shell`);
      }
      const js = await t.fetch("/app.js");
      assert.equal(js.status, 200);
      assert.match(js.headers.get("content-type") ?? "", /javascript/);
      await js.body?.cancel();
      const missing = await t.fetch("/missing.js");
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const api = await t.fetch("/api/no-such-route");
      assert.equal(api.status, 404, "the frontend never shadows the API");
      assert.equal((await api.json()).code, "not_found");
    });
  }

  Deno.test(`runtime ${RUNTIME}: 25 concurrent claims of one part, exactly one wins`, async () => {
    const call = api(await target());
    const created = PartSchema.parse(
      await (await call("POST", "/api/parts", newPart({ type: "hand" }))).json(),
    );
    assert.equal((await call("POST", `/api/parts/${created.id}/approve`)).status, 200);
    const names = Array.from({ length: 25 }, (_, i) => `Racer ${String(i).padStart(2, "0")}`);
    const responses = await Promise.all(
      names.map((assigned) => call("POST", `/api/parts/${created.id}/assign`, { assigned })),
    );
    const statuses = await Promise.all(
      responses.map(async (res) => {
        await res.body?.cancel();
        return res.status;
      }),
    );
    assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses: ${statuses}`);
    assert.equal(statuses.filter((s) => s === 409).length, 24, `statuses: ${statuses}`);
    const part = PartSchema.parse(await (await call("GET", `/api/parts/${created.id}`)).json());
    const winner = names[statuses.indexOf(200)];
    assert.equal(part.assigned, winner);
    const workers = (part.miscInfo?.handWorkers ?? []) as { name: string }[];
    assert.deepEqual(workers.map((w) => w.name), [winner], "only the winner is a hand worker");
  });
}
