/** The OpenAPI document: valid OpenAPI 3.1 by a real validator, and complete for clients. */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
// The package root module also loads the whole UI bundle; only the path helper is needed.
import getAbsoluteFSPath from "swagger-ui-dist/absolute-path.js";
import { createApp } from "../../src/app.ts";
import { openLibsql } from "../../src/db/client.ts";
import { directorySource } from "../../src/entry/fs-assets.ts";
import { MIGRATIONS, target, testConfig } from "../helpers.ts";

interface Operation {
  operationId?: string;
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; schema?: { type?: string } }[];
  responses: Record<string, unknown>;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, Record<string, unknown>> };
}

type Spec = Record<string, unknown>;

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

function operations(doc: Document): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]) => ({ method, path, op }))
  );
}

async function fetchDocument(path = "/api/openapi.json", env: Record<string, string> = {}) {
  const t = await target(env);
  try {
    const res = await t.fetch(path);
    assert.equal(res.status, 200, `GET ${path}`);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    return (await res.json()) as Document;
  } finally {
    t.close();
  }
}

Deno.test("openapi: the document is valid OpenAPI 3.1 for a real validator", async () => {
  const doc = await fetchDocument();
  assert.match(doc.openapi, /^3\.1\./);
  const validator = new Validator();
  // The validator keeps a reference; hand it a copy so later assertions see the original.
  const result = await validator.validate(structuredClone(doc) as unknown as Spec);
  assert.ok(
    result.valid,
    `OpenAPI document is invalid:\n${JSON.stringify(result.errors, null, 2)}`,
  );
  assert.equal(validator.version, "3.1");
});

Deno.test("openapi: the validator does reject a broken document (guards the check above)", async () => {
  const doc = await fetchDocument();
  const broken = structuredClone(doc) as unknown as Spec;
  const firstPath = Object.keys(doc.paths)[0];
  (broken.paths as Record<string, unknown>)[firstPath] = { get: { responses: "nope" } };
  const result = await new Validator().validate(broken);
  assert.equal(result.valid, false);
});

Deno.test("openapi: every route has a unique operationId", async () => {
  const doc = await fetchDocument();
  const ops = operations(doc);
  assert.ok(ops.length >= 15, `only ${ops.length} operations documented`);
  const ids = new Set<string>();
  for (const { method, path, op } of ops) {
    assert.ok(op.operationId, `${method.toUpperCase()} ${path} has no operationId`);
    assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
    ids.add(op.operationId);
    assert.ok(op.summary, `${method.toUpperCase()} ${path} has no summary`);
  }
});

Deno.test("openapi: every contract endpoint is documented", async () => {
  const doc = await fetchDocument();
  const documented = new Set(operations(doc).map(({ method, path }) => `${method} ${path}`));
  for (
    const route of [
      "get /health",
      "get /api/parts",
      "post /api/parts",
      "get /api/parts/{id}",
      "put /api/parts/{id}",
      "delete /api/parts/{id}",
      "post /api/parts/{id}/approve",
      "post /api/parts/{id}/assign",
      "post /api/parts/{id}/unclaim",
      "post /api/parts/{id}/complete",
      "post /api/parts/{id}/revert",
      "get /api/parts/categories/{category}",
      "get /api/parts/stats",
      "get /api/parts/leaderboard",
      "get /api/parts/auth/check",
    ]
  ) {
    assert.ok(documented.has(route), `${route} is not in the document`);
  }
});

Deno.test("openapi: every /api/parts route declares key security and a 401", async () => {
  const doc = await fetchDocument();
  const guarded = operations(doc).filter(({ path }) => path.startsWith("/api/parts"));
  assert.ok(guarded.length >= 14);
  for (const { method, path, op } of guarded) {
    const name = `${method.toUpperCase()} ${path}`;
    assert.ok(op.security && op.security.length > 0, `${name} declares no security`);
    const schemes = op.security.flatMap((requirement) => Object.keys(requirement));
    assert.ok(schemes.includes("ApiKeyAuth"), `${name} does not accept X-API-Key`);
    assert.ok(schemes.includes("BearerAuth"), `${name} does not accept a bearer key`);
    assert.ok("401" in op.responses, `${name} declares no 401 response`);
  }
});

Deno.test("openapi: /health needs no key", async () => {
  const doc = await fetchDocument();
  const health = doc.paths["/health"]?.get;
  assert.ok(health);
  assert.ok(!health.security || health.security.length === 0);
});

Deno.test("openapi: ApiKeyAuth and BearerAuth security schemes exist", async () => {
  const doc = await fetchDocument();
  const schemes = doc.components?.securitySchemes ?? {};
  assert.deepEqual(schemes.ApiKeyAuth, { type: "apiKey", in: "header", name: "X-API-Key" });
  assert.equal(schemes.BearerAuth?.type, "http");
  assert.equal(schemes.BearerAuth?.scheme, "bearer");
  // Every scheme an operation names must be defined.
  for (const { op } of operations(doc)) {
    for (const requirement of op.security ?? []) {
      for (const scheme of Object.keys(requirement)) assert.ok(scheme in schemes, scheme);
    }
  }
});

Deno.test("openapi: path templates are declared, and every id is an integer", async () => {
  const doc = await fetchDocument();
  let ids = 0;
  for (const { method, path, op } of operations(doc)) {
    const name = `${method.toUpperCase()} ${path}`;
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const declared = (op.parameters ?? []).filter((p) => p.in === "path");
    assert.deepEqual(
      declared.map((p) => p.name).sort(),
      [...templated].sort(),
      `${name}: path parameters`,
    );
    for (const param of declared) {
      assert.equal(param.required, true, `${name}: {${param.name}} must be required`);
      if (param.name === "id") {
        ids++;
        assert.equal(param.schema?.type, "integer", `${name}: {id} must be an integer`);
      }
    }
  }
  assert.ok(ids >= 8, `only ${ids} {id} parameters seen`);
});

Deno.test("openapi: under BASE_PATH the document's paths carry the base path", async () => {
  const doc = await fetchDocument("/parts-app/api/openapi.json", { BASE_PATH: "/parts-app" });
  const paths = Object.keys(doc.paths);
  assert.ok(paths.length >= 10);
  for (const path of paths) assert.ok(path.startsWith("/parts-app/"), path);
  assert.ok(paths.includes("/parts-app/api/parts/{id}/assign"));
  const result = await new Validator().validate(structuredClone(doc) as unknown as Spec);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
});

Deno.test("openapi: under BASE_PATH the docs are served there and not at the root", async () => {
  const config = testConfig({ BASE_PATH: "/parts-app/" });
  const database = await openLibsql({ url: config.databaseUrl, migrationsFolder: MIGRATIONS });
  try {
    const app = createApp({
      config,
      db: database.db,
      docsAssets: directorySource(getAbsoluteFSPath()),
      logError: () => {},
    });
    const page = await app.request("/parts-app/api/docs");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    const html = await page.text();
    assert.match(html, /data-spec-url="\/parts-app\/api\/openapi\.json"/);
    for (const asset of ["swagger-ui.css", "swagger-ui-bundle.js", "init.js"]) {
      const href = `/parts-app/api/docs/assets/${asset}`;
      assert.ok(html.includes(`"${href}"`), `page links ${href}`);
      const res = await app.request(href);
      assert.equal(res.status, 200, href);
      await res.body?.cancel();
    }
    const spec = await app.request("/parts-app/api/openapi.json");
    assert.equal(spec.status, 200);
    const doc = (await spec.json()) as Document;
    assert.ok(Object.keys(doc.paths).every((p) => p.startsWith("/parts-app/")));

    for (const path of ["/api/docs", "/api/openapi.json"]) {
      const outside = await app.request(path);
      assert.equal(outside.status, 404, `${path} is not served outside the base path`);
      await outside.body?.cancel();
    }
  } finally {
    database.close();
  }
});
