import assert from "node:assert/strict";
import { createMemoryStore } from "../../src/storage/memory.ts";
import type { BlobStore } from "../../src/storage/types.ts";
import { contractTests } from "./_deno.ts";

// Each namespace is its own store: memory stores share nothing.
const stores = new Map<string, BlobStore>();
contractTests("memory", (namespace) => {
  let store = stores.get(namespace);
  if (!store) stores.set(namespace, store = createMemoryStore());
  return store;
});

Deno.test("memory: two stores are independent", async () => {
  const one = createMemoryStore();
  const two = createMemoryStore();
  await one.put("k", new Uint8Array([1]));
  assert.equal(await two.head("k"), null);
  assert.equal(one.description, "memory");
});
