import assert from "node:assert/strict";
import { encodeFrame, FrameReader } from "../../src/cad/frames.ts";
import type { WorkerReply, WorkerRequest } from "../../src/cad/protocol.ts";

const MESSAGES: (WorkerRequest | WorkerReply)[] = [
  { type: "warm" },
  { type: "convert", id: 7, format: "step", bytes: new Uint8Array([1, 2, 3, 250]) },
  { type: "ready", ms: 12 },
  {
    type: "done",
    id: 7,
    result: { ok: true, glb: new Uint8Array(1000).fill(9), meshes: 2, triangles: 40, ms: 5 },
    memoryBytes: 123,
    broken: false,
  },
  {
    type: "done",
    id: 8,
    result: { ok: false, badInput: true, error: "Not a readable STEP file: …" },
    memoryBytes: 0,
  },
  { type: "convert", id: 9, format: "stl", bytes: new Uint8Array() },
];

Deno.test("frames carry every message, binary fields intact, however the bytes are split", () => {
  const stream = new Uint8Array(MESSAGES.flatMap((m) => [...encodeFrame(m)]));
  for (const size of [1, 3, 7, 64, stream.length]) {
    const reader = new FrameReader();
    const got = [];
    for (let at = 0; at < stream.length; at += size) {
      got.push(...reader.push(stream.subarray(at, at + size)));
    }
    assert.deepEqual(got, MESSAGES, `chunks of ${size} bytes`);
  }
});

Deno.test("a frame is only handed out once all of it has arrived", () => {
  const frame = encodeFrame(MESSAGES[1]);
  const reader = new FrameReader();
  assert.deepEqual(reader.push(frame.subarray(0, frame.length - 1)), []);
  assert.deepEqual(reader.push(frame.subarray(frame.length - 1)), [MESSAGES[1]]);
});
