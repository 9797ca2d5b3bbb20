/** parseConfig against the Configuration table of API.md. */
import assert from "node:assert/strict";
import { type Config, DEV_KEY, parseConfig } from "../../src/config.ts";

const DEV_ORIGINS = ["http://localhost:5173", "http://localhost:3000", "http://localhost:5000"];
/** A random-looking key of exactly 32 characters. */
const PROD_KEY = "k7Qp2xVb9LmZ4rTn8wYc3HsJ6dFg1AeR";
const PROD = { APP_ENV: "production", SECRET_KEY: PROD_KEY, DATABASE_URL: "file:/srv/parts.db" };

function ok(env: Record<string, string | undefined>): Config {
  const result = parseConfig(env);
  if (!result.ok) assert.fail(`expected a valid config, got:\n${result.errors.join("\n")}`);
  return result.config;
}

function errors(env: Record<string, string | undefined>): string[] {
  const result = parseConfig(env);
  if (result.ok) assert.fail(`expected errors for ${JSON.stringify(env)}`);
  return result.errors;
}

/** Exactly one error line, and it names `variable`. */
function oneErrorNaming(env: Record<string, string | undefined>, variable: string): string {
  const lines = errors(env);
  assert.equal(lines.length, 1, `one line for ${JSON.stringify(env)}, got ${lines.join(" | ")}`);
  assert.ok(lines[0].includes(variable), `"${lines[0]}" should name ${variable}`);
  return lines[0];
}

Deno.test("config: development defaults", () => {
  const config = ok({});
  assert.equal(config.appEnv, "development");
  assert.equal(config.port, 5000);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.databaseUrl, "file:./data/parts.db");
  assert.equal(config.databaseAuthToken, undefined);
  assert.equal(config.secretKey, DEV_KEY);
  assert.equal(DEV_KEY, "dev-key");
  assert.equal(config.usingDevKey, true);
  assert.deepEqual(config.corsOrigins, DEV_ORIGINS);
  assert.equal(config.seedSampleData, undefined, "undefined = seed an empty dev database");
  assert.equal(config.basePath, "");
  assert.equal(config.staticDir, undefined);
  assert.deepEqual(ok({ APP_ENV: "development" }), config);
});

Deno.test("config: test defaults use an in-memory database", () => {
  const config = ok({ APP_ENV: "test" });
  assert.equal(config.appEnv, "test");
  assert.equal(config.databaseUrl, ":memory:");
  assert.equal(config.port, 5000);
  assert.equal(config.host, "127.0.0.1");
  assert.deepEqual(config.corsOrigins, DEV_ORIGINS);
});

Deno.test("config: a set SECRET_KEY is used and is not the dev key", () => {
  const config = ok({ SECRET_KEY: "team-key" });
  assert.equal(config.secretKey, "team-key");
  assert.equal(config.usingDevKey, false);
});

Deno.test("config: production defaults", () => {
  const config = ok(PROD);
  assert.equal(config.appEnv, "production");
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.port, 5000);
  assert.equal(config.databaseUrl, "file:/srv/parts.db");
  assert.equal(config.secretKey, PROD_KEY);
  assert.equal(config.usingDevKey, false);
  assert.deepEqual(config.corsOrigins, [], "no default CORS origins in production");
});

Deno.test("config: explicit PORT, HOST, DATABASE_URL, token and STATIC_DIR are taken", () => {
  const config = ok({
    ...PROD,
    PORT: "8080",
    HOST: "10.0.0.5",
    DATABASE_URL: "libsql://parts-team.turso.io",
    DATABASE_AUTH_TOKEN: "tok",
    STATIC_DIR: "./dist",
    CORS_ORIGINS: "https://parts.example.org, https://team.example.org:8443/",
  });
  assert.equal(config.port, 8080);
  assert.equal(config.host, "10.0.0.5");
  assert.equal(config.databaseUrl, "libsql://parts-team.turso.io");
  assert.equal(config.databaseAuthToken, "tok");
  assert.equal(config.staticDir, "./dist");
  assert.deepEqual(config.corsOrigins, [
    "https://parts.example.org",
    "https://team.example.org:8443",
  ]);
});

Deno.test("config: every libSQL URL form is accepted", () => {
  for (
    const url of [
      ":memory:",
      "file:./data/parts.db",
      "file:/var/lib/parts.db",
      "libsql://db.turso.io",
      "http://127.0.0.1:8080",
      "https://db.example.org",
    ]
  ) {
    assert.equal(ok({ DATABASE_URL: url }).databaseUrl, url);
  }
});

Deno.test("config: production requires SECRET_KEY", () => {
  const line = oneErrorNaming(
    { APP_ENV: "production", DATABASE_URL: PROD.DATABASE_URL },
    "SECRET_KEY",
  );
  assert.match(line, /required/);
});

Deno.test("config: production SECRET_KEY must be at least 32 characters", () => {
  const line = oneErrorNaming({ ...PROD, SECRET_KEY: PROD_KEY.slice(0, 31) }, "SECRET_KEY");
  assert.match(line, /32/);
  assert.equal(ok({ ...PROD, SECRET_KEY: PROD_KEY }).secretKey.length, 32);
});

Deno.test("config: production refuses sample and low-entropy keys whatever their length", () => {
  for (
    const key of [
      "replace-with-a-long-random-secret-key",
      "REPLACE-WITH-A-LONG-RANDOM-SECRET-KEY",
      "a".repeat(40),
      "abababababababababababababababababab",
      "0123456012345601234560123456012345",
    ]
  ) {
    oneErrorNaming({ ...PROD, SECRET_KEY: key }, "SECRET_KEY");
  }
});

Deno.test("config: production never falls back to the dev key", () => {
  oneErrorNaming({ ...PROD, SECRET_KEY: DEV_KEY }, "SECRET_KEY");
  oneErrorNaming({ ...PROD, SECRET_KEY: undefined }, "SECRET_KEY");
});

Deno.test("config: production requires DATABASE_URL", () => {
  oneErrorNaming({ ...PROD, DATABASE_URL: undefined }, "DATABASE_URL");
});

Deno.test("config: '*' is refused as a CORS origin in every environment", () => {
  for (const env of [{}, { APP_ENV: "test" }, PROD]) {
    const line = oneErrorNaming({ ...env, CORS_ORIGINS: "*" }, "CORS_ORIGINS");
    assert.match(line, /\*/);
    oneErrorNaming({ ...env, CORS_ORIGINS: "https://a.example.org,*" }, "CORS_ORIGINS");
  }
});

Deno.test("config: an invalid value gives one line naming its variable", () => {
  const rows: [Record<string, string>, string][] = [
    [{ PORT: "abc" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ PORT: "65536" }, "PORT"],
    [{ PORT: "-1" }, "PORT"],
    [{ PORT: "-1.5" }, "PORT"],
    [{ PORT: "80.5" }, "PORT"],
    [{ APP_ENV: "prod" }, "APP_ENV"],
    [{ APP_ENV: "staging" }, "APP_ENV"],
    [{ DATABASE_URL: "postgres://db/parts" }, "DATABASE_URL"],
    [{ DATABASE_URL: "./data/parts.db" }, "DATABASE_URL"],
    [{ BASE_PATH: "parts-app" }, "BASE_PATH"],
    [{ BASE_PATH: "/parts app" }, "BASE_PATH"],
    [{ BASE_PATH: "/parts-app?x=1" }, "BASE_PATH"],
    [{ BASE_PATH: "//evil.example.org" }, "BASE_PATH"],
    [{ SEED_SAMPLE_DATA: "maybe" }, "SEED_SAMPLE_DATA"],
    [{ SEED_SAMPLE_DATA: "2" }, "SEED_SAMPLE_DATA"],
    [{ CORS_ORIGINS: "ftp://files.example.org" }, "CORS_ORIGINS"],
    [{ CORS_ORIGINS: "not a url" }, "CORS_ORIGINS"],
    [{ CORS_ORIGINS: "http://localhost:5173,localhost:3000" }, "CORS_ORIGINS"],
  ];
  for (const [env, variable] of rows) oneErrorNaming(env, variable);
});

Deno.test("config: PORT accepts 0 (any free port) through 65535", () => {
  assert.equal(ok({ PORT: "0" }).port, 0);
  assert.equal(ok({ PORT: "65535" }).port, 65535);
  assert.equal(ok({ PORT: " 8080 " }).port, 8080);
});

Deno.test("config: several problems give several lines, one per variable", () => {
  const lines = errors({
    APP_ENV: "nope",
    PORT: "x",
    BASE_PATH: "x",
    SEED_SAMPLE_DATA: "perhaps",
    DATABASE_URL: "mysql://x",
  });
  assert.equal(lines.length, 5, lines.join("\n"));
  for (const variable of ["APP_ENV", "PORT", "BASE_PATH", "SEED_SAMPLE_DATA", "DATABASE_URL"]) {
    assert.equal(lines.filter((l) => l.startsWith(`${variable} `)).length, 1, variable);
  }
});

Deno.test("config: a bad value does not hide the production checks", () => {
  const lines = errors({ APP_ENV: "production", PORT: "x", CORS_ORIGINS: "*" });
  assert.equal(lines.length, 4, lines.join("\n"));
  for (const variable of ["PORT", "SECRET_KEY", "DATABASE_URL", "CORS_ORIGINS"]) {
    assert.equal(lines.filter((l) => l.startsWith(variable)).length, 1, variable);
  }
});

Deno.test("config: an invalid DATABASE_URL in production is reported once", () => {
  oneErrorNaming({ ...PROD, DATABASE_URL: "postgres://x" }, "DATABASE_URL");
});

Deno.test("config: several bad CORS origins give a line each", () => {
  const lines = errors({ CORS_ORIGINS: "ftp://a, *, https://ok.example.org, nope" });
  assert.equal(lines.length, 3, lines.join("\n"));
  for (const line of lines) assert.ok(line.startsWith("CORS_ORIGINS"), line);
});

Deno.test("config: BASE_PATH trailing slash is trimmed", () => {
  assert.equal(ok({ BASE_PATH: "/parts-app/" }).basePath, "/parts-app");
  assert.equal(ok({ BASE_PATH: "/parts-app" }).basePath, "/parts-app");
  assert.equal(ok({ BASE_PATH: "/team/parts.v2/" }).basePath, "/team/parts.v2");
});

Deno.test("config: SEED_SAMPLE_DATA reads the usual spellings of true and false", () => {
  for (const v of ["1", "true", "TRUE", "yes", "on", " On "]) {
    assert.equal(ok({ SEED_SAMPLE_DATA: v }).seedSampleData, true, v);
  }
  for (const v of ["0", "false", "no", "off", "False"]) {
    assert.equal(ok({ SEED_SAMPLE_DATA: v }).seedSampleData, false, v);
  }
});

Deno.test("config: blank values are treated as unset", () => {
  const blanks = [
    "APP_ENV",
    "PORT",
    "HOST",
    "DATABASE_URL",
    "DATABASE_AUTH_TOKEN",
    "SECRET_KEY",
    "CORS_ORIGINS",
    "SEED_SAMPLE_DATA",
    "BASE_PATH",
    "STATIC_DIR",
  ];
  for (const blank of ["", "   "]) {
    const env = Object.fromEntries(blanks.map((k) => [k, blank]));
    assert.deepEqual(ok(env), ok({}), `all variables set to ${JSON.stringify(blank)}`);
  }
  const prod = ok({ ...PROD, PORT: "", HOST: " ", CORS_ORIGINS: "" });
  assert.equal(prod.host, "0.0.0.0");
  assert.deepEqual(prod.corsOrigins, []);
  oneErrorNaming({ ...PROD, SECRET_KEY: "   " }, "SECRET_KEY");
  oneErrorNaming({ ...PROD, DATABASE_URL: "" }, "DATABASE_URL");
});

Deno.test("config: unrelated environment variables are ignored", () => {
  assert.deepEqual(ok({ PATH: "/usr/bin", HOME: "/root", TERM: "xterm" }), ok({}));
});

Deno.test("config: proxies are trusted only when told, by hops (default 1) or by address", () => {
  assert.deepEqual(ok({}).proxyTrust, { mode: "direct" });
  assert.deepEqual(ok({ TRUST_PROXY: "true" }).proxyTrust, { mode: "hops", hops: 1 });
  assert.deepEqual(ok({ TRUST_PROXY: "true", TRUSTED_PROXY_HOPS: "2" }).proxyTrust, {
    mode: "hops",
    hops: 2,
  });
  const listed = ok({ TRUST_PROXY: "yes", TRUSTED_PROXIES: "10.0.0.0/8, 2001:db8::1" }).proxyTrust;
  assert.equal(listed.mode, "addresses");
  assert.equal(listed.mode === "addresses" && listed.ranges.length, 2);
  assert.deepEqual(ok({ TRUST_PROXY: "true", TRUSTED_PROXY_HOPS: "" }).proxyTrust, {
    mode: "hops",
    hops: 1,
  });
});

Deno.test("config: proxy settings are validated with a line naming the variable", () => {
  oneErrorNaming({ TRUST_PROXY: "true", TRUSTED_PROXY_HOPS: "0" }, "TRUSTED_PROXY_HOPS");
  oneErrorNaming({ TRUST_PROXY: "true", TRUSTED_PROXY_HOPS: "two" }, "TRUSTED_PROXY_HOPS");
  oneErrorNaming({ TRUST_PROXY: "true", TRUSTED_PROXY_HOPS: "11" }, "TRUSTED_PROXY_HOPS");
  const needsTrust = oneErrorNaming({ TRUSTED_PROXY_HOPS: "2" }, "TRUSTED_PROXY_HOPS");
  assert.match(needsTrust, /TRUST_PROXY=true/);
  oneErrorNaming({ TRUSTED_PROXIES: "10.0.0.1" }, "TRUSTED_PROXIES");
  const bad = oneErrorNaming(
    { TRUST_PROXY: "true", TRUSTED_PROXIES: "10.0.0.0/8, nginx.local" },
    "TRUSTED_PROXIES",
  );
  assert.match(bad, /nginx\.local/);
  oneErrorNaming({ TRUST_PROXY: "true", TRUSTED_PROXIES: "10.0.0.0/40" }, "TRUSTED_PROXIES");
  oneErrorNaming({ TRUST_PROXY: "true", TRUSTED_PROXIES: " , " }, "TRUSTED_PROXIES");
  const both = oneErrorNaming(
    { TRUST_PROXY: "true", TRUSTED_PROXY_HOPS: "1", TRUSTED_PROXIES: "10.0.0.1" },
    "TRUSTED_PROXIES",
  );
  assert.match(both, /TRUSTED_PROXY_HOPS/);
});

Deno.test("config: STATIC_CSP replaces the frontend's policy, or turns it off", () => {
  assert.equal(ok({}).staticCsp, undefined);
  assert.equal(ok({ STATIC_CSP: "off" }).staticCsp, null);
  assert.equal(ok({ STATIC_CSP: " default-src 'self' " }).staticCsp, "default-src 'self'");
  oneErrorNaming({ STATIC_CSP: "default-src 'self'\nX-Evil: 1" }, "STATIC_CSP");
});
