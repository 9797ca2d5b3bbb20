/**
 * Starts conversion workers as child Deno processes (step-process.ts). Unlike a Web Worker, a
 * process ends the moment it is killed: Deno's Worker.terminate() does not stop a thread that is
 * busy in JavaScript or WebAssembly (it runs on until the kernel returns by itself, which for a
 * pathological file may be never), so only a process makes the pool's time limit reclaim the CPU
 * and memory of a runaway conversion. The child may only read files.
 */
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import { encodeFrame, FrameReader } from "./frames.ts";
import type { SpawnWorker, WorkerReply } from "./protocol.ts";

/** How much lower than the server's the converter's scheduling priority is (Unix nice). */
const CHILD_NICENESS = 19;

/** Where the child's script and the project's deno.json (its import map) are. */
export interface ProcessOptions {
  script?: URL;
  config?: URL;
}

/** A `spawn` for `createModelConverter` that runs each worker as a `deno run` child process. */
export function denoProcessSpawner(options: ProcessOptions = {}): SpawnWorker {
  const script = fileURLToPath(options.script ?? new URL("./step-process.ts", import.meta.url));
  const config = fileURLToPath(options.config ?? new URL("../../deno.json", import.meta.url));
  const args = ["run", "--quiet", "--no-prompt", "--allow-read", "--config", config, script];
  const pipes = { stdin: "piped", stdout: "piped", stderr: "inherit" } as const;
  return (events) => {
    let child: Deno.ChildProcess;
    try {
      // Below the server in the scheduler, so a conversion takes the CPU that requests leave
      // idle. Through `nice`, because Linux niceness is per thread: every thread of the child
      // (V8's compiler and GC threads too) must start with it.
      child = new Deno.Command("nice", {
        args: ["-n", String(CHILD_NICENESS), Deno.execPath(), ...args],
        ...pipes,
      })
        .spawn();
    } catch {
      // No `nice` here (Windows): the conversion runs at the server's priority.
      child = new Deno.Command(Deno.execPath(), { args, ...pipes }).spawn();
      try {
        setPriority(child.pid, CHILD_NICENESS);
      } catch {
        // Not permitted: same priority as the server.
      }
    }
    const input = child.stdin.getWriter();
    let alive = true;
    const end = () => {
      alive = false;
      input.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    };
    const fail = (reason: string) => {
      if (!alive) return;
      end();
      events.failed(reason);
    };
    (async () => {
      const frames = new FrameReader();
      try {
        for await (const chunk of child.stdout) {
          for (const reply of frames.push(chunk)) if (alive) events.message(reply as WorkerReply);
        }
      } catch {
        // The pipe broke: the status below says why.
      }
    })();
    child.status.then((status) =>
      fail(status.signal ? `killed by ${status.signal}` : `exited with code ${status.code}`)
    );
    return {
      post: (request) => {
        input.write(encodeFrame(request)).catch(() => fail("it stopped reading"));
      },
      terminate: end,
    };
  };
}
