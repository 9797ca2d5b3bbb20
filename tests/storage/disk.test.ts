import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readlink, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDiskStore, type DiskStore, STALE_TEMP_MS } from "../../src/storage/disk.ts";
import { StorageError } from "../../src/storage/types.ts";
import { contractTests } from "./_deno.ts";
import { assertBytes, readBody } from "./contract.ts";

const ROOT = await mkdtemp(join(tmpdir(), "disk-store-"));
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

// Namespaces are folders under one temporary root: the stores share a folder tree.
contractTests("disk", (namespace) => createDiskStore(join(ROOT, "contract", namespace)));

const bytes = (text: string) => new TextEncoder().encode(text);

async function freshStore(name: string): Promise<DiskStore> {
  const root = join(ROOT, "own", name);
  await rm(root, { recursive: true, force: true });
  return createDiskStore(root);
}

async function keys(store: DiskStore, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out.sort();
}

async function tempFiles(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name.startsWith(".tmp-"));
}

/** Open file descriptors of this process that point at `path` (Linux /proc). */
async function openFds(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir("/proc/self/fd")) {
    try {
      if (await readlink(`/proc/self/fd/${fd}`) === path) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

Deno.test("disk: keys are files under the root, written whole", async () => {
  const store = await freshStore("layout");
  await store.put("glb/ab.glb", bytes("glb"));
  assert.equal(store.description, `disk ${join(ROOT, "own", "layout")}`);
  assertBytes(await Deno.readFile(join(store.root, "glb", "ab.glb")), bytes("glb"));
  assert.deepEqual(await tempFiles(join(store.root, "glb")), [], "no temporary file left");
});

Deno.test("disk: a root that does not exist yet is an empty store", async () => {
  const store = await freshStore("missing-root");
  assert.equal(await store.get("a"), null);
  assert.equal(await store.head("a"), null);
  assert.deepEqual(await keys(store), []);
  await store.delete("a");
  await store.put("a", bytes("x"));
  assert.deepEqual(await keys(store), ["a"]);
});

Deno.test("disk: a put whose data fails midway leaves the old value and no temporary file", async () => {
  const store = await freshStore("failing-source");
  await store.put("k/v.bin", bytes("old value"));
  const chunks = [new Uint8Array(100_000).fill(1), new Uint8Array(100_000).fill(2)];
  Object.defineProperty(chunks, 2, {
    get() {
      throw new Error("the upload broke off");
    },
  });
  (chunks as Uint8Array[]).length = 3;
  await assert.rejects(() => store.put("k/v.bin", chunks), (error: unknown) => {
    assert.ok(error instanceof StorageError);
    assert.match(error.message, /the upload broke off/);
    return true;
  });
  assertBytes((await readBody((await store.get("k/v.bin"))!.body)).bytes, bytes("old value"));
  assert.deepEqual(await tempFiles(join(store.root, "k")), []);
  await assert.rejects(() => store.put("k/new.bin", chunks), StorageError);
  assert.equal(await store.head("k/new.bin"), null, "no object under a key that never completed");
  assert.deepEqual(await readdir(join(store.root, "k")), ["v.bin"]);
});

Deno.test("disk: a process killed mid-put leaves no object; list ignores, then sweeps, the rest", async () => {
  const store = await freshStore("crash");
  await store.put("c/victim.bin", bytes("before the crash"));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      new URL("./_disk-crash-child.ts", import.meta.url).pathname,
      store.root,
      "c/victim.bin",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), "mid-put\n");
  const temps = await tempFiles(join(store.root, "c"));
  assert.equal(temps.length, 1, "the interrupted put's temporary file is there");
  const temp = join(store.root, "c", temps[0]);
  assert.equal((await stat(temp)).size, 128 * 1024, "holding the first two chunks");
  child.kill("SIGKILL");
  assert.equal((await child.status).signal, "SIGKILL");
  await reader.cancel();

  assertBytes(
    (await readBody((await store.get("c/victim.bin"))!.body)).bytes,
    bytes("before the crash"),
  );
  assert.deepEqual(await keys(store), ["c/victim.bin"], "list does not show the temporary file");
  assert.equal(await store.sweep(), 0, "a fresh temporary file is kept (a put may own it)");
  assert.ok((await tempFiles(join(store.root, "c"))).length === 1);

  const old = new Date(Date.now() - STALE_TEMP_MS - 60_000);
  await utimes(temp, old, old);
  assert.deepEqual(await keys(store), ["c/victim.bin"]);
  assert.deepEqual(await tempFiles(join(store.root, "c")), [], "list removed the stale one");
});

Deno.test("disk: sweep removes stale temporary files anywhere under the root", async () => {
  const store = await freshStore("sweep");
  await store.put("a/b/c.bin", bytes("c"));
  const old = new Date(Date.now() - STALE_TEMP_MS - 1000);
  for (const folder of ["", "a", "a/b"]) {
    const path = join(store.root, folder, ".tmp-left-behind");
    await writeFile(path, "partial");
    await utimes(path, old, old);
  }
  await writeFile(join(store.root, "a", ".tmp-fresh"), "in progress");
  assert.equal(await store.sweep(), 3);
  assert.deepEqual(await tempFiles(join(store.root, "a")), [".tmp-fresh"]);
  assert.equal(await store.sweep(0), 1, "with no age limit, every temporary file goes");
  assert.deepEqual(await keys(store), ["a/b/c.bin"]);
});

Deno.test("disk: a key cannot also be a folder of other keys", async () => {
  const store = await freshStore("file-vs-folder");
  await store.put("x/y", bytes("y"));
  await assert.rejects(() => store.put("x", bytes("x")), (error: unknown) => {
    assert.ok(error instanceof StorageError);
    assert.match(error.message, /cannot also be a folder/);
    return true;
  });
  await store.put("f", bytes("f"));
  await assert.rejects(() => store.put("f/g", bytes("g")), StorageError);
  assert.deepEqual(await keys(store), ["f", "x/y"]);
  assert.deepEqual(await tempFiles(store.root), []);
  assert.deepEqual(await tempFiles(join(store.root, "x")), []);
});

Deno.test("disk: deleting the last key of a folder removes the empty folders", async () => {
  const store = await freshStore("prune");
  await store.put("deep/er/still/x.bin", bytes("x"));
  await store.put("deep/keep.bin", bytes("k"));
  await store.delete("deep/er/still/x.bin");
  assert.deepEqual(await readdir(join(store.root, "deep")), ["keep.bin"]);
  await store.delete("deep/keep.bin");
  assert.deepEqual(await readdir(store.root), [], "the root itself stays");
  await store.put("deep", bytes("now a file"));
  assert.deepEqual(await keys(store), ["deep"]);
});

Deno.test("disk: files no key could name are not listed", async () => {
  const store = await freshStore("foreign");
  await store.put("ok", bytes("ok"));
  await writeFile(join(store.root, "back\\slash"), "x");
  await mkdir(join(store.root, "sub"));
  assert.deepEqual(await keys(store), ["ok"]);
});

Deno.test({
  name: "disk: a get's file is closed when its body is read, cancelled or read by range",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const store = await freshStore("fds");
    await store.put("f.bin", new Uint8Array(3 * 1024 * 1024).fill(5));
    const path = join(store.root, "f.bin");

    const whole = await store.get("f.bin");
    assert.equal(await openFds(path), 1, "open while the body is unread");
    await readBody(whole!.body);
    assert.equal(await openFds(path), 0, "closed after the last byte");

    const cancelled = (await store.get("f.bin"))!.body.getReader();
    await cancelled.read();
    assert.equal(await openFds(path), 1);
    await cancelled.cancel();
    assert.equal(await openFds(path), 0, "closed on cancel");

    const range = await store.get("f.bin", { offset: 100, length: 10 });
    assert.equal((await readBody(range!.body)).bytes.byteLength, 10);
    assert.equal(await openFds(path), 0, "closed after a range");

    const empty = await store.get("f.bin", { offset: 10 * 1024 * 1024 });
    assert.deepEqual(empty!.range, { offset: 3 * 1024 * 1024, length: 0 });
    await readBody(empty!.body);
    assert.equal(await openFds(path), 0, "closed after an empty range");
  },
});

Deno.test("disk: a get keeps reading the value it opened while a put replaces the key", async () => {
  const store = await freshStore("snapshot");
  const first = new Uint8Array(2 * 1024 * 1024).fill(1);
  await store.put("s", first);
  const found = await store.get("s");
  await store.put("s", new Uint8Array(10).fill(2));
  assertBytes((await readBody(found!.body)).bytes, first);
  assert.equal((await store.head("s"))?.size, 10);
});
