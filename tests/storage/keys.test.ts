import assert from "node:assert/strict";
import {
  checkKey,
  checkPrefix,
  clampRange,
  concatChunks,
  storePrefix,
} from "../../src/storage/keys.ts";
import { StorageError } from "../../src/storage/types.ts";

Deno.test("keys: server-made keys pass; each refusal says why", () => {
  for (const key of ["blobs/3f2a", "glb/ab.glb", "views/12/view_0.png", "a", "é/零件 🚀"]) {
    checkKey(key);
  }
  const why = (key: string) => {
    try {
      checkKey(key);
    } catch (error) {
      assert.ok(error instanceof StorageError);
      return error.message;
    }
    assert.fail(`${JSON.stringify(key)} was accepted`);
  };
  assert.match(why("a//b"), /empty segments/);
  assert.match(why("a/../b"), /"\.\." segments/);
  assert.match(why("a\\b"), /control characters and backslashes/);
  assert.match(why("a/.tmp-x"), /segments starting "\.tmp-"/);
  assert.match(why("x".repeat(256)), /segment longer than 255 bytes/);
  // 200 two-byte characters: 400 bytes, over the segment limit though 200 characters.
  assert.match(why("é".repeat(200)), /segment longer than 255 bytes/);
  assert.match(why(`${"a/".repeat(600)}b`), /longer than 1024 bytes/);
});

Deno.test("keys: list prefixes may end mid-segment or with a slash", () => {
  for (const prefix of ["", "glb/", "glb/ab", "a/.", "a/..x", "views/1"]) checkPrefix(prefix);
  for (const prefix of ["/", "a//", "../", "a/./b", "a\u0001"]) {
    assert.throws(() => checkPrefix(prefix), StorageError, JSON.stringify(prefix));
  }
});

Deno.test("keys: store prefixes are whole segments ending in a slash", () => {
  assert.equal(storePrefix(undefined), "");
  assert.equal(storePrefix(""), "");
  assert.equal(storePrefix("/"), "");
  assert.equal(storePrefix("team"), "team/");
  assert.equal(storePrefix("/team/2026/"), "team/2026/");
  assert.throws(() => storePrefix("team//x"), StorageError);
  assert.throws(() => storePrefix("../up"), StorageError);
});

Deno.test("keys: ranges clamp to the object's size", () => {
  assert.deepEqual(clampRange({ offset: 2, length: 3 }, 10), { offset: 2, length: 3 });
  assert.deepEqual(clampRange({ offset: 2 }, 10), { offset: 2, length: 8 });
  assert.deepEqual(clampRange({ offset: 8, length: 5 }, 10), { offset: 8, length: 2 });
  assert.deepEqual(clampRange({ offset: 10 }, 10), { offset: 10, length: 0 });
  assert.deepEqual(clampRange({ offset: 99, length: 1 }, 10), { offset: 10, length: 0 });
  assert.deepEqual(clampRange({ offset: 0 }, 0), { offset: 0, length: 0 });
  assert.throws(() => clampRange({ offset: -1 }, 10), RangeError);
  assert.throws(() => clampRange({ offset: 0, length: 0.5 }, 10), RangeError);
  assert.throws(() => clampRange({ offset: Number.NaN }, 10), RangeError);
});

Deno.test("keys: chunks are joined in order, a single chunk is not copied", () => {
  const one = new Uint8Array([1, 2]);
  assert.equal(concatChunks(one), one);
  assert.equal(concatChunks([one]), one);
  assert.deepEqual([...concatChunks([one, new Uint8Array(0), new Uint8Array([3])])], [1, 2, 3]);
  assert.equal(concatChunks([]).byteLength, 0);
});
