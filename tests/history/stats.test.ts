/**
 * Stats from history: by_subsystem, completions_per_day (14 UTC days), the median claim-to-
 * complete time and the leaderboard's `since`, checked against a scripted sequence on a pinned
 * clock.
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import { LeaderboardSchema, StatsSchema } from "../../src/schemas/parts.ts";
import {
  act,
  type Call,
  createPart,
  DAY,
  expect304,
  expectError,
  expectJson,
  FakeClock,
  harness,
  HOUR,
  MINUTE,
} from "./_support.ts";

type Stats = z.infer<typeof StatsSchema>;

const at = (iso: string) => Date.parse(iso);

async function stats(call: Call): Promise<Stats> {
  return await expectJson(await call("GET", "/api/parts/stats"), StatsSchema);
}

async function board(call: Call, since?: string) {
  const path = since === undefined
    ? "/api/parts/leaderboard"
    : `/api/parts/leaderboard?since=${encodeURIComponent(since)}`;
  return (await expectJson(await call("GET", path), LeaderboardSchema)).leaderboard;
}

/** 14 days ending on `last` (YYYY-MM-DD), with the given non-zero counts. */
function days(last: string, counts: Record<string, number>) {
  const end = at(`${last}T00:00:00Z`);
  const out = Array.from({ length: 14 }, (_, i) => {
    const date = new Date(end - (13 - i) * DAY).toISOString().slice(0, 10);
    return { date, count: counts[date] ?? 0 };
  });
  for (const date of Object.keys(counts)) {
    assert.ok(out.some((d) => d.date === date), `test bug: ${date} is outside the window`);
  }
  return out;
}

Deno.test("stats follow a scripted season on a pinned clock", async (t) => {
  const clock = new FakeClock(at("2025-12-20T07:00:00Z"));
  using h = await harness({ now: clock.now });
  const { call } = h;
  const make = async (partId: string, subsystem: string, amount: number, type?: string) => {
    const p = await createPart(call, { partId, subsystem, amount, ...(type ? { type } : {}) });
    return p.id;
  };
  const step = async (iso: string, fn: () => Promise<unknown>) => {
    clock.set(at(iso));
    await fn();
  };

  const sh1 = await make("SH-1", "Shooter", 2, "cnc");
  await act(call, sh1, "approve");
  await step("2025-12-20T08:00:00Z", () => act(call, sh1, "assign", { assigned: "Alex" }));
  await step("2025-12-20T09:00:00Z", () => act(call, sh1, "complete")); // 1 h

  await t.step("after the first completion", async () => {
    const s = await stats(call);
    assert.equal(s.median_claim_to_complete_ms, HOUR);
    assert.deepEqual(s.completions_per_day, days("2025-12-20", { "2025-12-20": 1 }));
    assert.deepEqual(s.by_subsystem, [
      { subsystem: "Shooter", parts: 1, partsCompleted: 1, amount: 2, amountCompleted: 2 },
    ]);
  });

  clock.set(at("2026-01-01T22:00:00Z"));
  const sh2 = await make("SH-2", "Shooter", 1, "cnc");
  const sh3 = await make("SH-3", "Shooter", 5, "hand");
  await act(call, sh2, "approve");
  await act(call, sh3, "approve");
  await step("2026-01-01T23:00:00Z", () => act(call, sh2, "assign", { assigned: "Jordan" }));
  await step("2026-01-01T23:30:00Z", () => act(call, sh3, "assign", { assigned: "Sam" }));
  // One millisecond before midnight, and midnight exactly.
  await step("2026-01-01T23:59:59.999Z", () => act(call, sh2, "complete")); // 1 h - 1 ms
  await step("2026-01-02T00:00:00.000Z", () => act(call, sh3, "complete")); // 30 min

  await t.step("a UTC day boundary", async () => {
    const s = await stats(call);
    assert.equal(s.median_claim_to_complete_ms, HOUR - 1);
    assert.deepEqual(
      s.completions_per_day,
      days("2026-01-02", { "2025-12-20": 1, "2026-01-01": 1, "2026-01-02": 1 }),
    );
  });

  clock.set(at("2026-01-10T09:00:00Z"));
  const dt1 = await make("DT-1", "Drivetrain", 4, "cnc");
  const dt2 = await make("DT-2", "Drivetrain", 2, "hand");
  const dt3 = await make("DT-3", "Drivetrain", 1); // no type: approved into hand
  const el1 = await make("EL-1", "Elevator", 6, "cnc");
  const el2 = await make("EL-2", "Elevator", 3, "hand");
  await make("IN-1", "Intake", 10, "cnc"); // stays in review
  const in2 = await make("IN-2", "Intake", 2, "cnc");
  for (const id of [dt1, dt2, dt3, el1, el2, in2]) await act(call, id, "approve");

  await step("2026-01-10T10:00:00Z", () => act(call, dt1, "assign", { assigned: "Alex" }));
  await step("2026-01-10T16:00:00Z", () => act(call, dt1, "complete")); // 6 h
  // Claimed, released, claimed by someone else: the latest claim counts.
  await step("2026-01-11T08:00:00Z", () => act(call, dt2, "assign", { assigned: "Sam" }));
  await step("2026-01-11T09:00:00Z", () => act(call, dt2, "unclaim"));
  await step("2026-01-11T09:30:00Z", () => act(call, dt2, "assign", { assigned: "Jordan" }));
  await step("2026-01-11T13:30:00Z", () => act(call, dt2, "complete")); // 4 h
  await step("2026-01-11T14:00:00Z", () => act(call, el1, "assign", { assigned: "Alex" }));

  await t.step("five completions", async () => {
    const s = await stats(call);
    // 30 min, 1 h - 1 ms, 1 h, 4 h, 6 h
    assert.equal(s.median_claim_to_complete_ms, HOUR);
  });

  // Completed without ever being claimed: counted per day, not in the median.
  await step("2026-01-12T10:00:00Z", () => act(call, in2, "complete"));
  await step("2026-01-13T08:00:00Z", () => act(call, el2, "assign", { assigned: "Sam" }));
  await step("2026-01-13T14:00:00Z", () => act(call, el1, "complete")); // 48 h
  await step("2026-01-13T15:30:00Z", () => act(call, el2, "complete")); // 7.5 h
  await step("2026-01-13T15:31:00Z", () => act(call, el2, "complete")); // a repeat: no event
  // Completed incorrectly: back to fabrication (it stays claimed by Sam).
  await step("2026-01-14T10:00:00Z", () => act(call, el2, "revert"));
  clock.set(at("2026-01-15T12:00:00Z"));

  await t.step("the whole season", async () => {
    const s = await stats(call);
    assert.deepEqual(s.by_subsystem, [
      { subsystem: "Drivetrain", parts: 3, partsCompleted: 2, amount: 7, amountCompleted: 6 },
      { subsystem: "Elevator", parts: 2, partsCompleted: 1, amount: 9, amountCompleted: 6 },
      { subsystem: "Intake", parts: 2, partsCompleted: 1, amount: 12, amountCompleted: 2 },
      { subsystem: "Shooter", parts: 3, partsCompleted: 3, amount: 8, amountCompleted: 8 },
    ]);
    // The window is Jan 2 .. Jan 15: SH-2 (Jan 1, 23:59:59.999) is out, SH-3 (Jan 2, 00:00) in.
    // A reverted completion still happened on its day.
    assert.deepEqual(
      s.completions_per_day,
      days("2026-01-15", {
        "2026-01-02": 1,
        "2026-01-10": 1,
        "2026-01-11": 1,
        "2026-01-12": 1,
        "2026-01-13": 2,
      }),
    );
    // Claim → complete: 30 min, 1 h - 1 ms, 1 h, 4 h, 6 h, 7.5 h, 48 h. IN-2 had no claim; DT-2
    // counts from its latest claim (from the first one it would be 5.5 h, the median).
    assert.equal(s.median_claim_to_complete_ms, 4 * HOUR);
    assert.deepEqual(s.by_category, { review: 1, cnc: 0, hand: 2, completed: 7 });
    assert.deepEqual(s.statuses, {
      Pending: 1,
      Reviewed: 1,
      "In Progress": 1,
      "Already Started": 0,
      Completed: 7,
    });
    assert.deepEqual(s.by_status, { pending: 1, in_progress: 1, completed: 7 });
    assert.deepEqual(s.assignment, { assigned: 7, unassigned: 3 });
    assert.equal(s.total, 10);
  });

  await t.step("leaderboard, all time and since", async () => {
    // Alex: SH-1, DT-1, EL-1. Jordan: SH-2, DT-2. Sam: SH-3, and 0.5 as a DT-2 hand worker.
    // EL-2 was reverted, IN-2 has no holder.
    assert.deepEqual(await board(call), [
      { name: "Alex", score: 3 },
      { name: "Jordan", score: 2 },
      { name: "Sam", score: 1.5 },
    ]);
    assert.deepEqual(await board(call, "2026-01-10T00:00:00Z"), [
      { name: "Alex", score: 2 },
      { name: "Jordan", score: 1 },
      { name: "Sam", score: 0.5 },
    ]);
    // The same instant with an offset.
    assert.deepEqual(
      await board(call, "2026-01-10T01:00:00+01:00"),
      await board(call, "2026-01-10T00:00:00Z"),
    );
    // `since` is inclusive.
    assert.deepEqual(await board(call, "2026-01-02T00:00:00.000Z"), [
      { name: "Alex", score: 2 },
      { name: "Sam", score: 1.5 },
      { name: "Jordan", score: 1 },
    ]);
    assert.deepEqual(await board(call, "2026-01-01T23:59:59.999Z"), [
      { name: "Alex", score: 2 },
      { name: "Jordan", score: 2 },
      { name: "Sam", score: 1.5 },
    ]);
    // EL-2 was completed at 15:30 but is no longer completed.
    assert.deepEqual(await board(call, "2026-01-13T15:00:00Z"), []);
    assert.deepEqual(await board(call, "2026-01-14T00:00:00Z"), []);
    assert.deepEqual(await board(call, "2000-01-01T00:00:00Z"), await board(call));
    assert.deepEqual(await board(call, ""), await board(call), "blank since means all time");

    for (
      const since of ["yesterday", "2026-13-01T00:00:00Z", "1700000000000", "2026-01-10T25:00Z"]
    ) {
      const err = await expectError(
        await call("GET", `/api/parts/leaderboard?since=${encodeURIComponent(since)}`),
        400,
        "validation_failed",
      );
      assert.equal(err.field, "since", since);
      assert.match(err.error, /since/);
    }
  });

  await t.step("the stats ETag moves with the UTC day, not only with changes", async () => {
    const first = await call("GET", "/api/parts/stats");
    await expectJson(first, StatsSchema);
    const tag = first.headers.get("etag")!;
    clock.set(at("2026-01-15T23:59:00Z"));
    const sameDay = await call("GET", "/api/parts/stats", { headers: { "If-None-Match": tag } });
    assert.equal(await expect304(sameDay), tag);

    clock.advance(2 * MINUTE); // 2026-01-16T00:01Z: the window moved
    const nextDay = await call("GET", "/api/parts/stats", { headers: { "If-None-Match": tag } });
    const s = await expectJson(nextDay, StatsSchema);
    assert.notEqual(nextDay.headers.get("etag"), tag);
    assert.deepEqual(
      s.completions_per_day,
      days("2026-01-16", {
        "2026-01-10": 1,
        "2026-01-11": 1,
        "2026-01-12": 1,
        "2026-01-13": 2,
      }),
    );
  });
});

Deno.test("stats of an empty database", async () => {
  const clock = new FakeClock(at("2026-03-01T12:00:00Z"));
  using h = await harness({ now: clock.now });
  const s = await stats(h.call);
  assert.deepEqual(s.by_subsystem, []);
  assert.deepEqual(s.completions_per_day, days("2026-03-01", {}));
  assert.equal(s.median_claim_to_complete_ms, null);
  assert.deepEqual(await board(h.call), []);
  assert.deepEqual(await board(h.call, "2026-01-01T00:00:00Z"), []);
});
