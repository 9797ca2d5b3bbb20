import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBlobStore, openBlobStore, parseFilesUrl } from "../../src/storage/open.ts";
import { openRemoteBlobStore } from "../../src/storage/open-remote.ts";
import { StorageError } from "../../src/storage/types.ts";
import { bundle } from "./_harness.ts";

const S3_ENV = {
  S3_ENDPOINT: "https://acct.r2.cloudflarestorage.com",
  S3_ACCESS_KEY_ID: "AKID",
  S3_SECRET_ACCESS_KEY: "SECRET",
};

function errorsOf(url: string, env: Record<string, string | undefined> = {}): string[] {
  const parsed = parseFilesUrl(url, env);
  assert.equal(parsed.ok, false, `${url} is refused`);
  return parsed.ok ? [] : parsed.errors;
}

Deno.test("FILES_URL file: gives a folder, relative or absolute", () => {
  for (
    const [url, root] of [
      ["file:./data/files", "./data/files"],
      ["file:data/files", "data/files"],
      ["file:/srv/files", "/srv/files"],
      ["file:///srv/part%20files", "/srv/part files"],
      ["file://localhost/srv/files", "/srv/files"],
      ["  file:./data/files  ", "./data/files"],
    ]
  ) {
    assert.deepEqual(parseFilesUrl(url, {}), { ok: true, spec: { kind: "disk", root } }, url);
  }
  assert.match(errorsOf("file:")[0], /FILES_URL names no folder/);
  assert.match(errorsOf("file://nas/share")[0], /must be local.*"nas"/);
});

Deno.test("FILES_URL s3:// reads the S3_* variables, with defaults", () => {
  assert.deepEqual(parseFilesUrl("s3://parts-files/team/2026", S3_ENV), {
    ok: true,
    spec: {
      kind: "s3",
      options: {
        bucket: "parts-files",
        prefix: "team/2026",
        endpoint: S3_ENV.S3_ENDPOINT,
        region: "auto",
        accessKeyId: "AKID",
        secretAccessKey: "SECRET",
        forcePathStyle: false,
      },
    },
  });
  const parsed = parseFilesUrl("s3://parts-files/", {
    ...S3_ENV,
    S3_REGION: "eu-west-1",
    S3_FORCE_PATH_STYLE: "TRUE",
  });
  assert.ok(parsed.ok && parsed.spec.kind === "s3");
  assert.equal(parsed.spec.options.region, "eu-west-1");
  assert.equal(parsed.spec.options.forcePathStyle, true);
  assert.equal(parsed.spec.options.prefix, undefined);
});

Deno.test("FILES_URL s3:// lists every missing or bad variable by name", () => {
  const errors = errorsOf("s3://parts-files", {});
  assert.equal(errors.length, 3);
  assert.match(errors[0], /^S3_ENDPOINT is required when FILES_URL is s3:\/\//);
  assert.match(errors[1], /^S3_ACCESS_KEY_ID is required when FILES_URL is s3:\/\//);
  assert.match(errors[2], /^S3_SECRET_ACCESS_KEY is required when FILES_URL is s3:\/\//);

  const bad = errorsOf("s3://Bad_Bucket/../x", {
    S3_ENDPOINT: "ftp://example.com",
    S3_ACCESS_KEY_ID: " ",
    S3_SECRET_ACCESS_KEY: "s",
    S3_FORCE_PATH_STYLE: "maybe",
  });
  assert.equal(bad.length, 5, bad.join("\n"));
  assert.match(bad[0], /FILES_URL has an invalid bucket name "Bad_Bucket"/);
  assert.match(bad[1], /FILES_URL has an invalid prefix/);
  assert.match(bad[2], /S3_ENDPOINT must be an http:\/\/ or https:\/\/ URL/);
  assert.match(bad[3], /S3_ACCESS_KEY_ID is required/);
  assert.match(bad[4], /S3_FORCE_PATH_STYLE must be one of/);

  assert.match(errorsOf("s3://", S3_ENV)[0], /FILES_URL names no bucket/);
  assert.match(errorsOf("s3:bucket", S3_ENV)[0], /s3:\/\/bucket or s3:\/\/bucket\/prefix/);
  const leaky = errorsOf("s3://key:secret@bucket", {
    ...S3_ENV,
    S3_ENDPOINT: "https://user:pw@example.com",
  });
  assert.match(leaky[0], /FILES_URL must not carry credentials/);
  assert.match(leaky[1], /S3_ENDPOINT must not carry credentials/);
  assert.ok(leaky.every((e) => !e.includes("secret") && !e.includes("pw")), "no secret echoed");
});

Deno.test("FILES_URL memory:, r2:// and unknown schemes", () => {
  assert.deepEqual(parseFilesUrl("memory:", {}), { ok: true, spec: { kind: "memory" } });
  assert.deepEqual(parseFilesUrl("r2://FILES/parts", {}), {
    ok: true,
    spec: { kind: "r2", binding: "FILES", prefix: "parts" },
  });
  assert.match(errorsOf("r2://not-a-binding")[0], /does not name a binding/);
  assert.match(errorsOf("memory:x")[0], /memory: takes nothing/);
  assert.match(
    errorsOf("https://example.com/files")[0],
    /^FILES_URL must be file:.*\(not https:\)$/,
  );
  assert.match(errorsOf("./data/files")[0], /^FILES_URL must be file:<folder>/);
  assert.match(errorsOf("")[0], /^FILES_URL must be/);
});

Deno.test("openBlobStore opens the store a URL names, or throws every problem", async () => {
  const dir = await mkdtemp(join(tmpdir(), "open-store-"));
  try {
    const disk = openBlobStore(`file:${dir}/files`, {});
    await disk.put("a/b", new Uint8Array([1, 2, 3]));
    assert.deepEqual([...await readFile(join(dir, "files", "a", "b"))], [1, 2, 3]);
    assert.equal(disk.description, `disk ${dir}/files`);

    const memory = openBlobStore("memory:", {});
    await memory.put("k", new Uint8Array(1));
    assert.equal((await memory.head("k"))?.size, 1);

    const s3 = openBlobStore("s3://parts-files/team", S3_ENV);
    assert.equal(s3.description, `s3 parts-files/team at ${S3_ENV.S3_ENDPOINT}`);

    assert.throws(() => openBlobStore("s3://parts-files", {}), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.message.split("\n").length, 3);
      return true;
    });
    assert.throws(
      () => createBlobStore({ kind: "r2", binding: "FILES", prefix: "" }),
      /env\.FILES/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test("parseFilesUrl bundles for Workers without any node: import", async () => {
  const dir = await mkdtemp(join(tmpdir(), "files-url-bundle-"));
  try {
    const out = join(dir, "entry.mjs");
    await bundle("../../src/storage/files-url.ts", out, "neutral");
    const code = await readFile(out, "utf8");
    assert.match(code, /parseFilesUrl/);
    assert.doesNotMatch(code, /["']node:/);
    assert.doesNotMatch(code, /aws4fetch|AwsClient/, "no adapter pulled in");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test("openRemoteBlobStore opens s3:// and memory: and bundles for Workers", async () => {
  assert.equal(
    openRemoteBlobStore("s3://parts-files", S3_ENV).description,
    `s3 parts-files at ${S3_ENV.S3_ENDPOINT}`,
  );
  assert.equal(openRemoteBlobStore("memory:", {}).description, "memory");
  assert.throws(() => openRemoteBlobStore("file:./data/files", {}), /needs a file system/);
  assert.throws(() => openRemoteBlobStore("r2://FILES", {}), /createR2Store\(env\.FILES\)/);
  assert.throws(() => openRemoteBlobStore("s3://parts-files", {}), /S3_ENDPOINT is required/);

  const dir = await mkdtemp(join(tmpdir(), "open-remote-bundle-"));
  try {
    const out = join(dir, "entry.mjs");
    await bundle("../../src/storage/open-remote.ts", out, "neutral");
    const code = await readFile(out, "utf8");
    assert.match(code, /AwsClient/, "the S3 adapter is in");
    assert.doesNotMatch(code, /["']node:/, "but no node: import");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
