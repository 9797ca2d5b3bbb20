/**
 * Child process for the disk crash test: starts a put whose third chunk never comes (the chunk
 * array blocks the thread), says so on stdout, and waits to be killed with SIGKILL.
 *
 *   deno run -A tests/storage/_disk-crash-child.ts <root> <key>
 */
import { createDiskStore } from "../../src/storage/disk.ts";

const [root, key] = Deno.args;
const store = createDiskStore(root);
const chunks = [new Uint8Array(64 * 1024).fill(7), new Uint8Array(64 * 1024).fill(8)];
Object.defineProperty(chunks, 2, {
  get() {
    Deno.stdout.writeSync(new TextEncoder().encode("mid-put\n"));
    // Blocks this thread for good: the process dies here, in the middle of the put.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    return new Uint8Array(0);
  },
});
(chunks as Uint8Array[]).length = 3;
await store.put(key, chunks);
