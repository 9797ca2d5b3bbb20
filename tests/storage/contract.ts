/**
 * The behaviour every BlobStore adapter shares, as plain async cases with no test framework, so
 * the same cases run under `deno test` and inside bundles run by Node and by workerd (Miniflare).
 * A case gets `open(namespace)`: a fresh, empty store on the backend under test; stores opened
 * with different namespaces share the backend (same bucket, same folder tree) but not keys.
 */
import assert from "node:assert/strict";
import {
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  StorageError,
} from "../../src/storage/types.ts";

export type OpenStore = (namespace: string) => BlobStore | Promise<BlobStore>;

export interface ContractCase {
  name: string;
  run(open: OpenStore): Promise<void>;
}

export interface CaseResult {
  name: string;
  ok: boolean;
  /** Not run: the backend cannot pass it whatever the adapter does. */
  skipped?: boolean;
  error?: string;
}

const MiB = 1024 * 1024;
const encoder = new TextEncoder();
const text = (value: string) => encoder.encode(value);

/** Deterministic pseudo-random bytes (xorshift32), fast enough for tens of MB. */
export function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, Math.floor(size / 4));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = (seed + i) & 0xff;
  return out;
}

/** Asserts two byte arrays are equal, naming the first difference (no 20 MB diff printed). */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  assert.equal(actual.byteLength, expected.byteLength, `${what}: length`);
  for (let i = 0; i < actual.byteLength; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** The whole body, and how many chunks it came in. */
export async function readBody(
  body: ReadableStream<Uint8Array>,
): Promise<{ bytes: Uint8Array; chunks: number }> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    assert.ok(chunk instanceof Uint8Array, "a body chunk is a Uint8Array");
    parts.push(chunk);
    size += chunk.byteLength;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return { bytes, chunks: parts.length };
}

async function getBytes(store: BlobStore, key: string): Promise<Uint8Array | null> {
  const found = await store.get(key);
  return found && (await readBody(found.body)).bytes;
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out.sort();
}

async function listed(store: BlobStore, prefix: string): Promise<Map<string, BlobInfo>> {
  const out = new Map<string, BlobInfo>();
  for await (const info of store.list(prefix)) {
    assert.ok(!out.has(info.key), `list gives ${info.key} once`);
    out.set(info.key, info);
  }
  return out;
}

/** Expects a StorageError (not a TypeError, not a crash) from `run`. */
async function refuses(run: () => Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof StorageError, `${what}: ${error} is a StorageError`);
    return true;
  }, what);
}

// Stores keep times from their own clock at their own resolution (S3: whole seconds).
const CLOCK_SLACK_MS = 2000;

function assertTime(uploadedAt: number, before: number, after: number): void {
  assert.ok(Number.isFinite(uploadedAt), "uploadedAt is a number");
  assert.ok(
    uploadedAt >= before - CLOCK_SLACK_MS && uploadedAt <= after + CLOCK_SLACK_MS,
    `uploadedAt ${new Date(uploadedAt).toISOString()} is about now`,
  );
}

async function expectRange(
  store: BlobStore,
  key: string,
  whole: Uint8Array,
  asked: { offset: number; length?: number },
  expected: { offset: number; length: number },
): Promise<void> {
  const what = `range ${JSON.stringify(asked)} of ${whole.byteLength} bytes`;
  const found = await store.get(key, asked);
  assert.ok(found, `${what}: found`);
  assert.equal(found.size, whole.byteLength, `${what}: size is the whole object's`);
  assert.deepEqual(found.range, expected, what);
  const { bytes } = await readBody(found.body);
  assertBytes(bytes, whole.subarray(expected.offset, expected.offset + expected.length), what);
}

const INVALID_KEYS = [
  "",
  "/absolute",
  "trailing/",
  "double//slash",
  "..",
  "a/../b",
  "./a",
  "a/.",
  "back\\slash",
  "nul\u0000byte",
  "new\nline",
  "a/.tmp-0123",
  `long/${"x".repeat(256)}`,
  `${"abcdefgh/".repeat(120)}end`,
  "lone\uD800surrogate",
];

const INVALID_PREFIXES = ["/a", "a//", "../x", "a/../", "a\\b", "a\u0000"];

/** Every case, in the order they run. */
export const CONTRACT: ContractCase[] = [
  {
    name: "put then get gives the bytes, key, size and time",
    async run(open) {
      const store = await open("basic");
      const bytes = pattern(4099, 1);
      const before = Date.now();
      await store.put("parts/p1/model.step", bytes, { contentType: "application/step" });
      const after = Date.now();
      const found = await store.get("parts/p1/model.step");
      assert.ok(found);
      assert.equal(found.key, "parts/p1/model.step");
      assert.equal(found.size, bytes.byteLength);
      assert.equal(found.range, undefined, "no range asked, none returned");
      assertTime(found.uploadedAt, before, after);
      assertBytes((await readBody(found.body)).bytes, bytes);
    },
  },
  {
    name: "head gives size and time; missing keys are null for get and head",
    async run(open) {
      const store = await open("head");
      const before = Date.now();
      await store.put("h/one.bin", pattern(777, 2));
      const after = Date.now();
      const info = await store.head("h/one.bin");
      assert.ok(info);
      assert.equal(info.key, "h/one.bin");
      assert.equal(info.size, 777);
      assertTime(info.uploadedAt, before, after);
      assert.equal(await store.head("h/two.bin"), null);
      assert.equal(await store.get("h/two.bin"), null);
      assert.equal(await store.get("no/such/deep/key"), null);
      assert.equal(await store.get("h/two.bin", { offset: 3 }), null, "missing with a range");
    },
  },
  {
    name: "a key that is only a folder of other keys is not an object",
    async run(open) {
      const store = await open("folder");
      await store.put("dir/inner.bin", text("inner"));
      assert.equal(await store.get("dir"), null);
      assert.equal(await store.head("dir"), null);
      await store.delete("dir");
      assertBytes((await getBytes(store, "dir/inner.bin"))!, text("inner"));
    },
  },
  {
    name: "ranges: offset and length, to the end, clamped, empty past the end",
    async run(open) {
      const store = await open("range");
      const whole = pattern(1000, 3);
      await store.put("r.bin", whole);
      await expectRange(store, "r.bin", whole, { offset: 10, length: 20 }, {
        offset: 10,
        length: 20,
      });
      await expectRange(store, "r.bin", whole, { offset: 0, length: 1 }, { offset: 0, length: 1 });
      await expectRange(store, "r.bin", whole, { offset: 990 }, { offset: 990, length: 10 });
      await expectRange(store, "r.bin", whole, { offset: 0 }, { offset: 0, length: 1000 });
      await expectRange(store, "r.bin", whole, { offset: 0, length: 1000 }, {
        offset: 0,
        length: 1000,
      });
      await expectRange(store, "r.bin", whole, { offset: 995, length: 100 }, {
        offset: 995,
        length: 5,
      });
      await expectRange(store, "r.bin", whole, { offset: 999, length: 1 }, {
        offset: 999,
        length: 1,
      });
      await expectRange(store, "r.bin", whole, { offset: 10, length: 0 }, {
        offset: 10,
        length: 0,
      });
      await expectRange(store, "r.bin", whole, { offset: 1000 }, { offset: 1000, length: 0 });
      await expectRange(store, "r.bin", whole, { offset: 5000, length: 10 }, {
        offset: 1000,
        length: 0,
      });
      await assert.rejects(() => store.get("r.bin", { offset: -1 }), RangeError);
      await assert.rejects(() => store.get("r.bin", { offset: 1.5 }), RangeError);
      await assert.rejects(() => store.get("r.bin", { offset: 0, length: -2 }), RangeError);
    },
  },
  {
    name: "empty objects: stored, listed, read whole and by range",
    async run(open) {
      const store = await open("empty");
      await store.put("e/zero", new Uint8Array(0));
      await store.put("e/no-chunks", []);
      for (const key of ["e/zero", "e/no-chunks"]) {
        const info = await store.head(key);
        assert.equal(info?.size, 0, `${key} head`);
        const found = await store.get(key);
        assert.ok(found, key);
        assert.equal(found.size, 0);
        assert.equal((await readBody(found.body)).bytes.byteLength, 0);
        await expectRange(store, key, new Uint8Array(0), { offset: 0 }, { offset: 0, length: 0 });
        await expectRange(store, key, new Uint8Array(0), { offset: 0, length: 5 }, {
          offset: 0,
          length: 0,
        });
      }
      const seen = await listed(store, "e/");
      assert.deepEqual([...seen.keys()].sort(), ["e/no-chunks", "e/zero"]);
      assert.equal(seen.get("e/zero")?.size, 0);
    },
  },
  {
    name: "chunks are stored as one object, in order",
    async run(open) {
      const store = await open("chunks");
      const parts = [pattern(10, 4), new Uint8Array(0), pattern(70_000, 5), pattern(3, 6)];
      const joined = new Uint8Array(70_013);
      joined.set(parts[0], 0);
      joined.set(parts[2], 10);
      joined.set(parts[3], 70_010);
      await store.put("c.bin", parts);
      assertBytes((await getBytes(store, "c.bin"))!, joined);
      assert.equal((await store.head("c.bin"))?.size, 70_013);
    },
  },
  {
    name: "binary bytes come back exactly (every byte value, no text decoding)",
    async run(open) {
      const store = await open("binary");
      const every = new Uint8Array(512);
      for (let i = 0; i < every.length; i++) every[i] = i & 0xff;
      // Bytes that break naive text handling: CR LF, NUL, invalid UTF-8, a BOM.
      const tricky = new Uint8Array([0xef, 0xbb, 0xbf, 13, 10, 0, 0xc3, 0x28, 0xff, 0xfe, 13]);
      await store.put("b/every", every);
      await store.put("b/tricky", tricky);
      await store.put("b/random", pattern(100_003, 7));
      assertBytes((await getBytes(store, "b/every"))!, every);
      assertBytes((await getBytes(store, "b/tricky"))!, tricky);
      assertBytes((await getBytes(store, "b/random"))!, pattern(100_003, 7));
    },
  },
  {
    name: "the stored value does not change when the caller reuses its buffer",
    async run(open) {
      const store = await open("copy");
      const buffer = pattern(5000, 8);
      const chunk = pattern(100, 9);
      await store.put("single", buffer);
      await store.put("chunked", [chunk, chunk]);
      buffer.fill(0);
      chunk.fill(0);
      assertBytes((await getBytes(store, "single"))!, pattern(5000, 8));
      const doubled = new Uint8Array(200);
      doubled.set(pattern(100, 9), 0);
      doubled.set(pattern(100, 9), 100);
      assertBytes((await getBytes(store, "chunked"))!, doubled);
      const reader = (await store.get("single"))!.body.getReader();
      (await reader.read()).value!.fill(1);
      await reader.cancel();
      assertBytes((await getBytes(store, "single"))!, pattern(5000, 8), "after a reader wrote");
    },
  },
  {
    name: "put over a key replaces its value and size",
    async run(open) {
      const store = await open("overwrite");
      await store.put("o/k", pattern(9000, 10));
      await store.put("o/k", text("short"));
      assertBytes((await getBytes(store, "o/k"))!, text("short"));
      assert.equal((await store.head("o/k"))?.size, 5);
      const seen = await listed(store, "o/");
      assert.deepEqual([...seen.keys()], ["o/k"]);
      assert.equal(seen.get("o/k")?.size, 5);
    },
  },
  {
    name: "delete removes; deleting what is not there is fine; the key can be used again",
    async run(open) {
      const store = await open("delete");
      await store.put("d/a/b/c.bin", text("c"));
      await store.put("d/a/other.bin", text("o"));
      await store.delete("d/a/b/c.bin");
      assert.equal(await store.get("d/a/b/c.bin"), null);
      assert.equal(await store.head("d/a/b/c.bin"), null);
      assert.deepEqual(await keys(store, "d/"), ["d/a/other.bin"]);
      await store.delete("d/a/b/c.bin");
      await store.delete("never/was/here");
      await store.put("d/a/b/c.bin", text("again"));
      assertBytes((await getBytes(store, "d/a/b/c.bin"))!, text("again"));
      await store.delete("d/a/b/c.bin");
      await store.delete("d/a/other.bin");
      assert.deepEqual(await keys(store, ""), []);
    },
  },
  {
    name: "list: recursive, by string prefix, whole keys with sizes",
    async run(open) {
      const store = await open("list");
      const all = ["p/ab", "p/abc/d.bin", "p/abc/e/f.bin", "p/b", "q/ab", "top"];
      for (const [i, key] of all.entries()) await store.put(key, pattern(10 + i, i));
      assert.deepEqual(await keys(store, ""), all);
      assert.deepEqual(await keys(store, "p/ab"), ["p/ab", "p/abc/d.bin", "p/abc/e/f.bin"]);
      assert.deepEqual(await keys(store, "p/"), ["p/ab", "p/abc/d.bin", "p/abc/e/f.bin", "p/b"]);
      assert.deepEqual(await keys(store, "p/abc/"), ["p/abc/d.bin", "p/abc/e/f.bin"]);
      assert.deepEqual(await keys(store, "p/abc/e/f.bin"), ["p/abc/e/f.bin"]);
      assert.deepEqual(await keys(store, "p"), ["p/ab", "p/abc/d.bin", "p/abc/e/f.bin", "p/b"]);
      assert.deepEqual(await keys(store, "t"), ["top"]);
      assert.deepEqual(await keys(store, "zzz"), []);
      assert.deepEqual(await keys(store, "p/abc/e/f.bin/"), []);
      const seen = await listed(store, "");
      for (const [i, key] of all.entries()) assert.equal(seen.get(key)?.size, 10 + i, key);
    },
  },
  {
    name: "list gives every key of a long listing once",
    async run(open) {
      const store = await open("many");
      const expected: string[] = [];
      for (let i = 0; i < 23; i++) expected.push(`many/k-${String(i).padStart(2, "0")}`);
      await Promise.all(expected.map((key, i) => store.put(key, pattern(i, i))));
      assert.deepEqual([...(await listed(store, "many/")).keys()].sort(), expected);
    },
  },
  {
    name: "stores with different prefixes do not see each other's keys",
    async run(open) {
      const one = await open("iso");
      // A name that extends the other: "iso" must not match "iso2/...".
      const two = await open("iso2");
      await one.put("k", text("one"));
      await two.put("k", text("two"));
      await two.put("only-two", text("2"));
      assertBytes((await getBytes(one, "k"))!, text("one"));
      assertBytes((await getBytes(two, "k"))!, text("two"));
      assert.equal(await one.head("only-two"), null);
      assert.deepEqual(await keys(one, ""), ["k"]);
      assert.deepEqual(await keys(two, ""), ["k", "only-two"]);
      await one.delete("k");
      assertBytes((await getBytes(two, "k"))!, text("two"));
    },
  },
  {
    name: "a 1 MB object streams back intact",
    async run(open) {
      const store = await open("one-mb");
      const bytes = pattern(MiB, 11);
      await store.put("big/1mb.bin", bytes);
      const found = await store.get("big/1mb.bin");
      assert.equal(found?.size, MiB);
      assertBytes((await readBody(found!.body)).bytes, bytes);
    },
  },
  {
    name: "a 20 MB object streams in many chunks, whole, by range, and can be cancelled",
    async run(open) {
      const store = await open("twenty-mb");
      const size = 20 * MiB;
      const bytes = pattern(size, 12);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < size; at += MiB) chunks.push(bytes.subarray(at, at + MiB));
      await store.put("big/20mb.bin", chunks);
      assert.equal((await store.head("big/20mb.bin"))?.size, size);

      const found = await store.get("big/20mb.bin");
      assert.equal(found?.size, size);
      let at = 0;
      let count = 0;
      for await (const chunk of found!.body) {
        count++;
        if (chunk.byteLength > size - at) assert.fail("more bytes than stored");
        for (let i = 0; i < chunk.byteLength; i++) {
          if (chunk[i] !== bytes[at + i]) assert.fail(`byte ${at + i} differs`);
        }
        at += chunk.byteLength;
      }
      assert.equal(at, size, "every byte arrived");
      assert.ok(count > 1, `streamed in pieces, not one buffer (${count} chunk)`);

      const offset = 7 * MiB + 13;
      await expectRange(store, "big/20mb.bin", bytes, { offset, length: 3 * MiB }, {
        offset,
        length: 3 * MiB,
      });

      const reader = (await store.get("big/20mb.bin"))!.body.getReader();
      const first = await reader.read();
      assert.ok(first.value && first.value.byteLength > 0);
      await reader.cancel();
      assert.equal((await store.head("big/20mb.bin"))?.size, size, "store fine after a cancel");
    },
  },
  {
    name: "keys with Unicode, spaces and punctuation round-trip and list exactly",
    async run(open) {
      const store = await open("unicode");
      const names = [
        "unicode/résumé ü/零件 🚀.step",
        "punct/a b+c&d=e?f#g%h~i!j'k(l)m*n,o;p:q@r$s.txt",
        'punct/[x]{y}<z>|"q"^`.bin',
        "punct/%2F%20already-escaped",
        "spaces/  two leading and trailing  ",
      ];
      for (const [i, key] of names.entries()) await store.put(key, text(`value ${i}`));
      for (const [i, key] of names.entries()) {
        assertBytes((await getBytes(store, key))!, text(`value ${i}`), key);
        assert.equal((await store.head(key))?.size, text(`value ${i}`).byteLength, key);
      }
      assert.deepEqual(await keys(store, ""), [...names].sort());
      assert.deepEqual(await keys(store, "unicode/résumé"), [names[0]]);
      for (const key of names) await store.delete(key);
      assert.deepEqual(await keys(store, ""), []);
    },
  },
  {
    name: "invalid keys and prefixes are refused with a StorageError",
    async run(open) {
      const store = await open("invalid");
      await store.put("fine/key", text("ok"));
      for (const key of INVALID_KEYS) {
        const what = JSON.stringify(key);
        await refuses(() => store.put(key, text("x")), `put ${what}`);
        await refuses(() => store.get(key), `get ${what}`);
        await refuses(() => store.get(key, { offset: 0 }), `get range ${what}`);
        await refuses(() => store.head(key), `head ${what}`);
        await refuses(() => store.delete(key), `delete ${what}`);
      }
      for (const prefix of INVALID_PREFIXES) {
        await refuses(() => keys(store, prefix), `list ${JSON.stringify(prefix)}`);
      }
      assert.deepEqual(await keys(store, ""), ["fine/key"], "nothing else was written");
    },
  },
  {
    name: "concurrent puts of one key end with one complete value",
    async run(open) {
      const store = await open("race");
      const values = Array.from({ length: 8 }, (_, i) => pattern(300 * 1024 + i, 100 + i));
      await Promise.all(values.map((value) => store.put("race/k", value)));
      const bytes = await getBytes(store, "race/k");
      assert.ok(bytes);
      const winner = values.findIndex((v) => v.byteLength === bytes.byteLength);
      assert.ok(winner >= 0, `the size ${bytes.byteLength} is one of the values'`);
      assertBytes(bytes, values[winner], `value ${winner}`);
      assert.equal((await store.head("race/k"))?.size, bytes.byteLength);
      assert.deepEqual(await keys(store, "race/"), ["race/k"]);
    },
  },
  {
    name: "reads during overwrites see a whole old or new value",
    async run(open) {
      const store = await open("read-race");
      const values = Array.from({ length: 7 }, (_, i) => pattern(200 * 1024 + i * 7, 200 + i));
      await store.put("rr/k", values[0]);
      const reads: Promise<BlobBody | null>[] = [];
      const writes: Promise<void>[] = [];
      for (let i = 1; i < values.length; i++) {
        writes.push(store.put("rr/k", values[i]));
        reads.push(store.get("rr/k"));
      }
      await Promise.all(writes);
      for (const read of reads) {
        const found = await read;
        assert.ok(found, "the key always exists");
        const { bytes } = await readBody(found.body);
        assert.equal(bytes.byteLength, found.size, "body length is the size reported");
        const which = values.findIndex((v) => v.byteLength === bytes.byteLength);
        assert.ok(which >= 0, `size ${bytes.byteLength} is one of the values'`);
        assertBytes(bytes, values[which], `value ${which}`);
      }
    },
  },
];

/** Runs one case with namespaces unique to this run, so cases can share a bucket. */
export async function runCase(
  item: ContractCase,
  open: OpenStore,
  run: string = crypto.randomUUID().slice(0, 8),
): Promise<void> {
  const slug = item.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")
    .slice(0, 40);
  await item.run((namespace) => open(`c-${run}/${slug}/${namespace}`));
}

/** Runs every case (but those in `skip`) and reports each, for harnesses that answer JSON. */
export async function runContract(open: OpenStore, skip: string[] = []): Promise<CaseResult[]> {
  const run = crypto.randomUUID().slice(0, 8);
  const results: CaseResult[] = [];
  for (const item of CONTRACT) {
    if (skip.includes(item.name)) {
      results.push({ name: item.name, ok: true, skipped: true });
      continue;
    }
    try {
      await runCase(item, open, run);
      results.push({ name: item.name, ok: true });
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      results.push({ name: item.name, ok: false, error: message });
    }
  }
  return results;
}
