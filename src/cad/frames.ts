/**
 * The pool's messages as bytes, for a converter that runs as a child process and talks over its
 * stdin and stdout (deno-process.ts). A frame is: u32 length of a JSON header, the header, u32
 * length of a payload, the payload. The payload carries the one binary field a message has (the
 * file of a request, the GLB of a reply), so megabytes never go through JSON.
 */
import type { WorkerReply, WorkerRequest } from "./protocol.ts";

type Message = WorkerRequest | WorkerReply;

/** One message as a frame. */
export function encodeFrame(message: Message): Uint8Array {
  let payload: Uint8Array = new Uint8Array(0);
  let header: unknown = message;
  if (message.type === "convert") {
    payload = message.bytes;
    header = { ...message, bytes: null };
  } else if (message.type === "done" && message.result.ok) {
    payload = message.result.glb;
    header = { ...message, result: { ...message.result, glb: null } };
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const frame = new Uint8Array(8 + json.length + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, json.length, true);
  frame.set(json, 4);
  view.setUint32(4 + json.length, payload.length, true);
  frame.set(payload, 8 + json.length);
  return frame;
}

/** Collects bytes as they arrive and hands out each message once its frame is complete. */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /** Adds bytes; returns the messages they completed, in order. */
  push(chunk: Uint8Array): Message[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Message[] = [];
    for (;;) {
      const message = this.next();
      if (!message) return out;
      out.push(message);
    }
  }

  private next(): Message | null {
    if (this.buffered < 4) return null;
    const jsonLength = this.peekUint32(0);
    if (this.buffered < 8 + jsonLength) return null;
    const payloadLength = this.peekUint32(4 + jsonLength);
    const total = 8 + jsonLength + payloadLength;
    if (this.buffered < total) return null;
    const frame = this.take(total);
    const header = JSON.parse(new TextDecoder().decode(frame.subarray(4, 4 + jsonLength)));
    const payload = frame.subarray(8 + jsonLength);
    if (header.type === "convert") header.bytes = payload;
    if (header.type === "done" && header.result?.ok) header.result.glb = payload;
    return header as Message;
  }

  private peekUint32(offset: number): number {
    const bytes = new Uint8Array(4);
    let filled = 0;
    let skip = offset;
    for (const chunk of this.chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const part = chunk.subarray(skip, skip + 4 - filled);
      bytes.set(part, filled);
      filled += part.length;
      skip = 0;
      if (filled === 4) break;
    }
    return new DataView(bytes.buffer).getUint32(0, true);
  }

  /** Removes the first `length` bytes as one array of their own. */
  private take(length: number): Uint8Array {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0];
      const need = length - filled;
      if (chunk.length <= need) {
        out.set(chunk, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        out.set(chunk.subarray(0, need), filled);
        this.chunks[0] = chunk.subarray(need);
        filled += need;
      }
    }
    this.buffered -= length;
    return out;
  }
}
