import assert from "node:assert/strict";
import { createS3Store, parseListPage, type S3StoreOptions } from "../../src/storage/s3.ts";
import { StorageError } from "../../src/storage/types.ts";
import { contractTests } from "./_deno.ts";
import { assertBytes, pattern, readBody } from "./contract.ts";
import { S3RVER_KEY, S3RVER_NOT_ATOMIC, S3RVER_SECRET, startS3rver } from "./_s3rver.ts";

const BUCKET = "parts-files";
const s3rver = await startS3rver([BUCKET]);

// s3rver's keep-alive sockets outlive each request: not a leak of the code under test.
const OPEN_SOCKETS = { sanitizeOps: false, sanitizeResources: false };

const options = (extra: Partial<S3StoreOptions> = {}): S3StoreOptions => ({
  bucket: BUCKET,
  endpoint: s3rver.endpoint,
  region: "us-east-1",
  accessKeyId: S3RVER_KEY,
  secretAccessKey: S3RVER_SECRET,
  forcePathStyle: true,
  ...extra,
});

// A small page size, so the contract's listings go through continuation tokens.
contractTests(
  "s3 (s3rver)",
  (namespace) => createS3Store(options({ prefix: namespace, listPageSize: 4 })),
  { ...OPEN_SOCKETS, skip: S3RVER_NOT_ATOMIC },
);

const bytes = (text: string) => new TextEncoder().encode(text);
const unique = () => `t-${crypto.randomUUID().slice(0, 8)}`;

/** Every operation of a store, each expected to fail with a StorageError matching `pattern`. */
async function everyOperationFails(
  options: S3StoreOptions,
  pattern: RegExp,
  secret?: string,
): Promise<void> {
  const store = createS3Store(options);
  const operations: [string, () => Promise<unknown>][] = [
    ["put", () => store.put("k", bytes("x"))],
    ["get", () => store.get("k")],
    ["head", () => store.head("k")],
    ["delete", () => store.delete("k")],
    ["list", async () => {
      for await (const _ of store.list("")) { /* drain */ }
    }],
  ];
  for (const [name, run] of operations) {
    await assert.rejects(run, (error: unknown) => {
      assert.ok(error instanceof StorageError, `${name}: ${error} is a StorageError`);
      assert.match(error.message, new RegExp(`S3 bucket "${options.bucket}"`), name);
      assert.match(error.message, pattern, name);
      if (secret) assert.ok(!error.message.includes(secret), `${name}: no secret in the message`);
      return true;
    }, name);
  }
}

Deno.test({
  ...OPEN_SOCKETS,
  name: "s3: an unknown access key is a 403 StorageError from s3rver, for every operation",
  async fn() {
    const secret = "a-secret-that-must-not-show-0123";
    await everyOperationFails(
      options({ accessKeyId: "NOBODY", secretAccessKey: secret }),
      /HTTP 403( InvalidAccessKeyId)?.*check the access key and secret/,
      secret,
    );
  },
});

Deno.test("s3: a wrong secret (SignatureDoesNotMatch) is a 403 StorageError without the secret", async () => {
  // s3rver does not verify V4 signatures, so this server answers as S3 does to a wrong secret,
  // echoing the signed request back the way S3's error body does.
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    requests++;
    const body = request.method === "HEAD" ? null : '<?xml version="1.0"?><Error>' +
      "<Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does " +
      "not match the signature you provided. Check your key and signing method.</Message>" +
      `<AWSAccessKeyId>${S3RVER_KEY}</AWSAccessKeyId><CanonicalRequest>` +
      `${request.headers.get("Authorization")}</CanonicalRequest></Error>`;
    return new Response(body, { status: 403, headers: { "Content-Type": "application/xml" } });
  });
  try {
    const secret = "not-the-right-secret-0123456789";
    await everyOperationFails(
      options({ endpoint: `http://127.0.0.1:${server.addr.port}`, secretAccessKey: secret }),
      /HTTP 403( SignatureDoesNotMatch: The request signature)?.*check the access key and secret/,
      secret,
    );
    assert.equal(requests, 5, "a 403 is not retried");
  } finally {
    await server.shutdown();
  }
});

Deno.test({
  ...OPEN_SOCKETS,
  name: "s3: a missing bucket is an error, not an empty store",
  async fn() {
    const store = createS3Store(options({ bucket: "no-such-bucket" }));
    await assert.rejects(() => store.get("k"), /S3 bucket "no-such-bucket".*HTTP 404 NoSuchBucket/);
    await assert.rejects(() => store.put("k", bytes("x")), /HTTP 404 NoSuchBucket/);
    await assert.rejects(async () => {
      for await (const _ of store.list("")) { /* drain */ }
    }, /HTTP 404 NoSuchBucket/);
  },
});

Deno.test("s3: an endpoint that is down is a StorageError, after the retries", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await everyOperationFails(
    options({ endpoint: `http://127.0.0.1:${port}`, retries: 1 }),
    new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port} \\(2 attempts\\)`),
  );
});

Deno.test("s3: an endpoint that never answers is a StorageError, not a hang", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    await everyOperationFails(
      options({
        endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
        timeoutMs: 200,
        retries: 0,
      }),
      // A put gets a second per started MiB on top of the timeout.
      /no answer from http:\/\/127\.0\.0\.1:\d+ within (200|1200) ms/,
    );
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});

Deno.test("s3: 5xx answers are retried, then reported with S3's error code", async () => {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    return new Response(
      "<?xml version='1.0'?><Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>",
      { status: 503, headers: { "Content-Type": "application/xml" } },
    );
  });
  try {
    const store = createS3Store(
      options({ endpoint: `http://127.0.0.1:${server.addr.port}`, retries: 2 }),
    );
    await assert.rejects(
      () => store.put("k", bytes("x")),
      /S3 bucket "parts-files": put "k" failed: HTTP 503 SlowDown: Reduce your rate/,
    );
    assert.equal(requests, 3, "one try and two retries");
  } finally {
    await server.shutdown();
  }
});

Deno.test({
  ...OPEN_SOCKETS,
  name: "s3: a server that ignores Range still gives the asked bytes",
  async fn() {
    let ranged = 0;
    const store = createS3Store(options({
      prefix: unique(),
      // Range is not a signed header, so dropping it keeps the signature valid.
      fetch(request) {
        if (request.headers.has("Range")) ranged++;
        const headers = new Headers(request.headers);
        headers.delete("Range");
        return fetch(new Request(request, { headers }));
      },
    }));
    const whole = pattern(5000, 1);
    await store.put("r.bin", whole);
    for (
      const [asked, expected] of [
        [{ offset: 100, length: 50 }, { offset: 100, length: 50 }],
        [{ offset: 4990 }, { offset: 4990, length: 10 }],
        [{ offset: 0 }, { offset: 0, length: 5000 }],
        [{ offset: 4000, length: 9999 }, { offset: 4000, length: 1000 }],
      ] as const
    ) {
      const found = await store.get("r.bin", asked);
      assert.deepEqual(found?.range, expected);
      assert.equal(found?.size, 5000);
      const got = (await readBody(found!.body)).bytes;
      assertBytes(got, whole.subarray(expected.offset, expected.offset + expected.length));
    }
    assert.equal(ranged, 4, "each get asked for its range");
  },
});

Deno.test({
  ...OPEN_SOCKETS,
  name: "s3: a long listing is read page by page with continuation tokens",
  async fn() {
    const lists: string[] = [];
    const store = createS3Store(options({
      prefix: unique(),
      listPageSize: 3,
      fetch(request) {
        if (new URL(request.url).searchParams.has("list-type")) lists.push(request.url);
        return fetch(request);
      },
    }));
    const expected = Array.from({ length: 10 }, (_, i) => `page/k${i}`);
    for (const key of expected) await store.put(key, bytes(key));
    const seen: string[] = [];
    for await (const info of store.list("page/")) seen.push(info.key);
    assert.deepEqual(seen.sort(), expected);
    assert.equal(lists.length, 4, "10 keys at 3 a page");
    assert.ok(lists.slice(1).every((url) => new URL(url).searchParams.has("continuation-token")));
  },
});

Deno.test("s3: URLs are path-style or virtual-hosted, with each key segment encoded", async () => {
  const seen: Request[] = [];
  const capture = (request: Request) => {
    seen.push(request);
    return Promise.resolve(
      new Response(null, {
        status: 200,
        headers: { "Content-Length": "3", "Last-Modified": "Wed, 21 Oct 2026 07:28:00 GMT" },
      }),
    );
  };
  const base = {
    endpoint: "https://s3.eu-west-1.amazonaws.com",
    region: "eu-west-1",
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    fetch: capture,
  };
  const key = "a b/c+d/é'(x)*!.step";
  const encoded = "a%20b/c%2Bd/%C3%A9%27%28x%29%2A%21.step";

  const virtual = createS3Store({ ...base, bucket: "files", prefix: "/team 1/" });
  const info = await virtual.head(key);
  assert.deepEqual(info, { key, size: 3, uploadedAt: Date.parse("2026-10-21T07:28:00Z") });
  assert.equal(seen[0].url, `https://files.s3.eu-west-1.amazonaws.com/team%201/${encoded}`);
  assert.equal(seen[0].method, "HEAD");
  const auth = seen[0].headers.get("Authorization") ?? "";
  assert.match(
    auth,
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request/,
  );
  assert.ok(!auth.includes(base.secretAccessKey));
  assert.equal(virtual.description, "s3 files/team 1 at https://s3.eu-west-1.amazonaws.com");

  await createS3Store({ ...base, bucket: "files", forcePathStyle: true }).head(key);
  assert.equal(seen[1].url, `https://s3.eu-west-1.amazonaws.com/files/${encoded}`);

  await createS3Store({ ...base, bucket: "my.dotted.bucket" }).head(key);
  assert.equal(seen[2].url, `https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/${encoded}`);

  await createS3Store({ ...base, bucket: "files", endpoint: "http://minio:9000/s3/" }).head("k");
  assert.equal(seen[3].url, "http://files.minio:9000/s3/k");
});

Deno.test("s3: a put sends Content-Length and signs the SHA-256 of its body", async () => {
  const seen: { headers: Headers; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    seen.push({ headers: request.headers, body: await request.text() });
    return new Response(null, { status: 200 });
  });
  try {
    const store = createS3Store({
      bucket: "b",
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      region: "auto",
      accessKeyId: "id",
      secretAccessKey: "secret",
    });
    await store.put("k", [bytes("hello "), bytes("world")], { contentType: "application/pdf" });
    const [{ headers, body }] = seen;
    assert.equal(body, "hello world");
    // S3 refuses a chunked PUT: the length must be known up front.
    assert.equal(headers.get("Content-Length"), "11");
    assert.equal(headers.get("Transfer-Encoding"), null);
    assert.equal(headers.get("Content-Type"), "application/pdf");
    // sha256("hello world")
    assert.equal(
      headers.get("X-Amz-Content-Sha256"),
      "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    );
    const signed = headers.get("Authorization")?.match(/SignedHeaders=([^,]+)/)?.[1] ?? "";
    assert.match(signed, /(^|;)x-amz-content-sha256(;|$)/, "the hash is part of the signature");
  } finally {
    await server.shutdown();
  }
});

Deno.test("s3: a 206 wider than the asked range is cut down; a narrower one is an error", async () => {
  const whole = pattern(10, 2);
  let contentRange = "";
  const store = createS3Store({
    bucket: "b",
    endpoint: "http://127.0.0.1:1",
    region: "auto",
    accessKeyId: "id",
    secretAccessKey: "secret",
    retries: 0,
    fetch(request) {
      const [first, last] = contentRange.match(/(\d+)-(\d+)/)!.slice(1).map(Number);
      assert.equal(request.headers.get("Range"), "bytes=2-4");
      return Promise.resolve(
        new Response(whole.slice(first, last + 1), {
          status: 206,
          headers: { "Content-Range": contentRange, "Last-Modified": new Date(0).toUTCString() },
        }),
      );
    },
  });
  contentRange = "bytes 0-9/10";
  const wide = await store.get("k", { offset: 2, length: 3 });
  assert.deepEqual(wide?.range, { offset: 2, length: 3 });
  assertBytes((await readBody(wide!.body)).bytes, whole.subarray(2, 5));
  contentRange = "bytes 1-6/10";
  const shifted = await store.get("k", { offset: 2, length: 3 });
  assertBytes((await readBody(shifted!.body)).bytes, whole.subarray(2, 5));
  contentRange = "bytes 2-3/10";
  await assert.rejects(() => store.get("k", { offset: 2, length: 3 }), /the answer holds 2-3/);
});

Deno.test("s3: list answers are parsed with their XML entities decoded", () => {
  const page = parseListPage(
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>true</IsTruncated>` +
      `<Contents><Key>a&amp;b/&lt;c&gt; &quot;d&quot; &apos;e&#x27; &#233;&#x1F680;</Key>` +
      `<LastModified>2026-01-02T03:04:05.678Z</LastModified><Size>42</Size></Contents>` +
      `<Contents><Key>plain</Key><LastModified>2026-01-02T03:04:05Z</LastModified>` +
      `<Size>0</Size></Contents>` +
      `<NextContinuationToken>1/abc+def=</NextContinuationToken></ListBucketResult>`,
  );
  assert.deepEqual(page, {
    objects: [
      {
        key: `a&b/<c> "d" 'e' é🚀`,
        size: 42,
        lastModified: Date.parse("2026-01-02T03:04:05.678Z"),
      },
      { key: "plain", size: 0, lastModified: Date.parse("2026-01-02T03:04:05Z") },
    ],
    truncated: true,
    nextToken: "1/abc+def=",
  });
});

Deno.test({
  ...OPEN_SOCKETS,
  name: "s3: stop s3rver",
  async fn() {
    await s3rver.close();
  },
});
