/**
 * A small Server-Sent Events client over a real socket: fetch + a parser over the response
 * body stream. Keeps the raw text for transcripts and closes cleanly (for the test sanitizers).
 */
import assert from "node:assert/strict";
import { EventSchema } from "../../src/schemas/events.ts";
import type { PartEvent } from "./_support.ts";

/** One dispatched SSE block: fields, and the comment lines that came with it. */
export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comments: string[];
}

/** Parses one block (the text between blank lines). */
export function parseBlock(block: string): SseMessage {
  const message: SseMessage = { comments: [] };
  const data: string[] = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line === "") continue;
    if (line.startsWith(":")) {
      message.comments.push(line.slice(1).replace(/^ /, ""));
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") data.push(value);
    else if (field === "id") message.id = value;
    else if (field === "event") message.event = value;
    else if (field === "retry") message.retry = Number(value);
  }
  if (data.length > 0) message.data = data.join("\n");
  return message;
}

/** Running server for a test: its base URL and a shutdown that must finish. */
export interface Server {
  base: string;
  /** Stops the server; fails when open streams keep it from finishing within `ms`. */
  shutdown(ms?: number): Promise<void>;
}

/** Serves `fetch` on an ephemeral localhost port. */
export function serve(fetch: (request: Request) => Response | Promise<Response>): Server {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (request) => fetch(request),
  );
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    async shutdown(ms = 5000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("server did not shut down: a stream is still open")),
          ms,
        );
      });
      try {
        await Promise.race([server.shutdown(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export class SseClient {
  /** Everything received, verbatim. */
  raw = "";
  /** Comments seen while waiting for events (e.g. heartbeats). */
  readonly comments: string[] = [];
  private buffer = "";
  private readonly queue: SseMessage[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private readonly pump: Promise<void>;

  private constructor(readonly response: Response, private readonly controller: AbortController) {
    this.pump = this.run();
  }

  /** Opens a stream; the response must be a 200 event stream. */
  static async open(
    base: string,
    options: { key?: string; lastEventId?: string; query?: string } = {},
  ): Promise<SseClient> {
    const controller = new AbortController();
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (options.key) headers["X-API-Key"] = options.key;
    if (options.lastEventId !== undefined) headers["Last-Event-ID"] = options.lastEventId;
    const res = await fetch(`${base}/api/activity/stream${options.query ?? ""}`, {
      headers,
      signal: controller.signal,
    });
    if (res.status !== 200) {
      const text = await res.text();
      assert.fail(`stream: expected 200, got ${res.status}: ${text}`);
    }
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    return new SseClient(res, controller);
  }

  private async run(): Promise<void> {
    const reader = this.response.body!.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.raw += value;
        this.buffer += value;
        const blocks = this.buffer.split(/\r\n\r\n|\n\n|\r\r/);
        this.buffer = blocks.pop()!;
        for (const block of blocks) this.queue.push(parseBlock(block));
        this.notify();
      }
    } catch {
      // Aborted by close().
    } finally {
      this.ended = true;
      this.notify();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The next block, or null when nothing arrives within `ms` (or the stream ended). */
  async next(ms: number): Promise<SseMessage | null> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (this.ended || left <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return this.queue.shift()!;
  }

  /** The next block that carries data; comment-only blocks are collected in `comments`. */
  async nextEvent(ms = 3000): Promise<{ id: string; event: PartEvent }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const message = await this.next(deadline - Date.now());
      if (message === null) assert.fail(`no event within ${ms} ms; received so far:\n${this.raw}`);
      this.comments.push(...message.comments);
      if (message.data === undefined) continue;
      assert.ok(message.id, "every event has an id");
      return { id: message.id, event: EventSchema.parse(JSON.parse(message.data)) };
    }
  }

  /** Exactly `n` events. */
  async events(n: number, ms = 3000): Promise<PartEvent[]> {
    const out: PartEvent[] = [];
    for (let i = 0; i < n; i++) {
      const { id, event } = await this.nextEvent(ms);
      assert.equal(id, String(event.id), "the SSE id is the event id");
      out.push(event);
    }
    return out;
  }

  /** Asserts that no event arrives for `ms` (comments such as heartbeats are fine). */
  async quiet(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      const message = await this.next(left);
      if (message === null) return;
      this.comments.push(...message.comments);
      assert.equal(message.data, undefined, `unexpected event: ${JSON.stringify(message)}`);
    }
  }

  /** Waits for a comment matching `pattern`; fails when none comes within `ms`. */
  async comment(pattern: RegExp, ms: number): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const message = await this.next(deadline - Date.now());
      if (message === null) assert.fail(`no comment ${pattern} within ${ms} ms:\n${this.raw}`);
      this.comments.push(...message.comments);
      assert.equal(message.data, undefined, `an event came first: ${JSON.stringify(message)}`);
      const found = message.comments.find((c) => pattern.test(c));
      if (found !== undefined) return found;
    }
  }

  /** Waits for the server to end the stream; true when it did within `ms`. */
  async endsWithin(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([this.pump.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Disconnects, as a client leaving the page does. */
  async close(): Promise<void> {
    this.controller.abort();
    await this.pump;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
