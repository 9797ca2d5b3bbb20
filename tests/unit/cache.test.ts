import assert from "node:assert/strict";
import { ResponseCache } from "../../src/cache.ts";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

Deno.test("cache: an entry is served only at the version it was built from", () => {
  const cache = new ResponseCache(1000);
  cache.set("a", 5, bytes(10), '"e5"');
  assert.equal(cache.get("a", 5)?.etag, '"e5"');
  assert.equal(cache.get("a", 6), undefined, "a newer data version misses");
  assert.equal(cache.get("a", 5), undefined, "and the stale entry is gone");
});

Deno.test("cache: least recently used entries leave first when the byte budget is exceeded", () => {
  const cache = new ResponseCache(1000);
  cache.set("a", 1, bytes(200), "a");
  cache.set("b", 1, bytes(200), "b");
  cache.set("c", 1, bytes(200), "c");
  assert.ok(cache.get("a", 1)); // a is now the most recently used
  cache.set("d", 1, bytes(200), "d");
  cache.set("e", 1, bytes(200), "e");
  cache.set("f", 1, bytes(200), "f"); // 1200 bytes > 1000: the oldest (b) goes
  assert.equal(cache.get("b", 1), undefined);
  for (const k of ["a", "c", "d", "e", "f"]) assert.ok(cache.get(k, 1), k);
});

Deno.test("cache: oversized bodies and a zero budget are never kept", () => {
  const small = new ResponseCache(1000);
  small.set("big", 1, bytes(251), "x");
  assert.equal(small.get("big", 1), undefined);
  const off = new ResponseCache(0);
  off.set("a", 1, bytes(1), "x");
  assert.equal(off.get("a", 1), undefined);
});

Deno.test("cache: replacing an entry keeps the byte count right", () => {
  const cache = new ResponseCache(1000);
  for (let i = 0; i < 100; i++) cache.set("same", i, bytes(240), String(i));
  cache.set("other", 1, bytes(240), "o");
  cache.set("third", 1, bytes(240), "t");
  assert.ok(cache.get("same", 99));
  assert.ok(cache.get("other", 1));
  assert.ok(cache.get("third", 1));
});

Deno.test("cache: bounded by entry count as well as bytes", () => {
  const cache = new ResponseCache(1_000_000, 3);
  for (const k of ["a", "b", "c", "d"]) cache.set(k, 1, "x", k);
  assert.equal(cache.get("a", 1), undefined, "the oldest of four goes when only three fit");
  for (const k of ["b", "c", "d"]) assert.ok(cache.get(k, 1), k);
});
