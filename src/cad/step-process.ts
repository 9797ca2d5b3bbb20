/**
 * The conversion worker as a child process (Deno: see deno-process.ts). Reads framed requests on
 * stdin and writes framed replies on stdout, so nothing else may print there.
 */
import { encodeFrame, FrameReader } from "./frames.ts";
import type { WorkerRequest } from "./protocol.ts";
import { createWorkerHandler } from "./worker-core.ts";

// stdout is the channel to the pool: a stray log line would corrupt it.
console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);

const out = Deno.stdout.writable.getWriter();
let writing: Promise<void> = Promise.resolve();
const handle = createWorkerHandler((reply) => {
  const frame = encodeFrame(reply);
  writing = writing.then(() => out.write(frame));
});
const frames = new FrameReader();
for await (const chunk of Deno.stdin.readable) {
  for (const request of frames.push(chunk)) handle(request as WorkerRequest);
}
// The pool closed its end: nobody is left to answer.
Deno.exit(0);
