/**
 * Races on a real file database, in-process by construction (they run with or without
 * TEST_BASE_URL). "Two servers" are two app instances with separate libSQL clients on one file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/app.ts";
import { openLibsql } from "../../src/db/client.ts";
import { api, MIGRATIONS, newPart, type Target, testConfig } from "../helpers.ts";
import { type Call, expectError, expectPart, getPart, type Part } from "./_support.ts";

interface Cluster {
  calls: Call[];
  /** Unexpected errors the apps logged (a 500 would show up here). */
  errors: unknown[];
  close(): Promise<void>;
}

/** `servers` app instances, each with its own client, on one fresh migrated file database. */
async function fileCluster(servers: number): Promise<Cluster> {
  const dir = await Deno.makeTempDir({ prefix: "parts-race-" });
  const url = `file:${join(dir, "parts.db")}`;
  const errors: unknown[] = [];
  const closers: (() => void)[] = [];
  const calls: Call[] = [];
  for (let i = 0; i < servers; i++) {
    // Migrate once, then open plain clients, as separately started servers would.
    const database = await openLibsql({ url, migrationsFolder: i === 0 ? MIGRATIONS : undefined });
    closers.push(() => database.close());
    const app = createApp({
      config: testConfig({ DATABASE_URL: url }),
      db: database.db,
      logError: (_message, error) => errors.push(error),
    });
    const target: Target = {
      remote: false,
      fetch: async (path, init) => await app.request(path, init),
      close: () => database.close(),
    };
    calls.push(api(target));
  }
  return {
    calls,
    errors,
    async close() {
      for (const close of closers) close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function raceTest(name: string, servers: number, fn: (c: Cluster) => Promise<void>) {
  Deno.test(name, async () => {
    const cluster = await fileCluster(servers);
    try {
      await fn(cluster);
      assert.deepEqual(cluster.errors, [], "no request failed unexpectedly");
    } finally {
      await cluster.close();
    }
  });
}

/** A part approved into fabrication (cnc or hand by type). */
async function fabricated(call: Call, type: "cnc" | "hand"): Promise<Part> {
  const created = await expectPart(await call("POST", "/api/parts", newPart({ type })), 201);
  const approved = await expectPart(await call("POST", `/api/parts/${created.id}/approve`));
  assert.equal(approved.category, type);
  return approved;
}

async function assignRace(cluster: Cluster, type: "cnc" | "hand") {
  const [first] = cluster.calls;
  const part = await fabricated(first, type);
  const names = Array.from({ length: 25 }, (_, i) => `Racer ${String(i).padStart(2, "0")}`);
  const responses = await Promise.all(
    names.map((assigned, i) =>
      cluster.calls[i % cluster.calls.length]("POST", `/api/parts/${part.id}/assign`, {
        assigned,
      })
    ),
  );
  const winners = responses.filter((r) => r.status === 200);
  assert.equal(winners.length, 1, `statuses: ${responses.map((r) => r.status).join(",")}`);
  const won = await expectPart(winners[0]);
  const winner = won.assigned!;
  assert.ok(names.includes(winner));
  const losers = responses.filter((r) => r !== winners[0]);
  assert.equal(losers.length, 24);
  for (const res of losers) {
    const err = await expectError(res, 409, "conflict", { error: winner });
    assert.equal(err.assigned, winner);
  }
  const stored = await getPart(cluster.calls[cluster.calls.length - 1], part.id);
  assert.equal(stored.assigned, winner);
  assert.equal(stored.status, "In Progress");
  assert.equal(stored.version, part.version + 1, "exactly one write happened");
  assert.deepEqual(stored, won);
  return stored;
}

raceTest("25 concurrent assigns on one server: exactly one wins, 24 conflicts", 1, async (c) => {
  await assignRace(c, "cnc");
});

raceTest("25 concurrent assigns across two servers on one file: exactly one wins", 2, async (c) => {
  await assignRace(c, "cnc");
});

raceTest("25 concurrent assigns of a hand part: only the winner is a hand worker", 2, async (c) => {
  const stored = await assignRace(c, "hand");
  const workers = stored.miscInfo?.handWorkers as { name: string }[];
  assert.deepEqual(workers.map((w) => w.name), [stored.assigned]);
});

raceTest("10 concurrent approves: one moves the part, the rest see the new stage", 2, async (c) => {
  const [a] = c.calls;
  const part = await expectPart(await a("POST", "/api/parts", newPart({ type: "hand" })), 201);
  const responses = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) =>
        c.calls[i % 2]("POST", `/api/parts/${part.id}/approve`, { reviewer: `Reviewer ${i}` }),
    ),
  );
  const ok = responses.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, `statuses: ${responses.map((r) => r.status).join(",")}`);
  const approved = await expectPart(ok[0]);
  for (const res of responses.filter((r) => r !== ok[0])) {
    await expectError(res, 409, "invalid_transition", { error: "'hand'" });
  }
  const stored = await getPart(a, part.id);
  assert.equal(stored.version, part.version + 1);
  assert.deepEqual(stored, approved);
});

raceTest("concurrent PUTs of every editable field all land (no lost update)", 2, async (c) => {
  const [a] = c.calls;
  const part = await expectPart(await a("POST", "/api/parts", newPart({ type: "cnc" })), 201);
  const edits: Record<string, unknown>[] = [
    { partId: `${part.partId}-new` },
    { name: "Concurrent name" },
    { type: "hand" },
    { material: "Titanium" },
    { subsystem: "Elevator" },
    { amount: 42 },
    { assigned: "Writer" },
    { status: "Already Started" },
    { notes: "written concurrently" },
    { file: "race.step" },
    { onshapeUrl: "https://cad.onshape.com/race" },
    { claimedDate: "2026-04-04T04:04:04.004Z" },
    { miscInfo: { storage: "Race bin" } },
  ];
  const responses = await Promise.all(
    edits.map((edit, i) => c.calls[i % 2]("PUT", `/api/parts/${part.id}`, edit)),
  );
  for (const res of responses) await expectPart(res);
  const stored = await getPart(a, part.id);
  for (const edit of edits) {
    const [[key, value]] = Object.entries(edit);
    assert.deepEqual(stored[key as keyof Part], value, key);
  }
  assert.equal(stored.version, part.version + edits.length, "every PUT was one write");
});

raceTest(
  "20 concurrent PUTs naming 20 holders of a hand part: every worker is kept",
  2,
  async (c) => {
    const [a] = c.calls;
    const part = await fabricated(a, "hand");
    const names = Array.from({ length: 20 }, (_, i) => `Worker ${String(i).padStart(2, "0")}`);
    const responses = await Promise.all(
      names.map((assigned, i) => c.calls[i % 2]("PUT", `/api/parts/${part.id}`, { assigned })),
    );
    for (const res of responses) await expectPart(res);
    const stored = await getPart(a, part.id);
    const workers = (stored.miscInfo?.handWorkers as { name: string }[]).map((w) => w.name);
    assert.deepEqual([...workers].sort(), names, "each read-modify-write saw the previous one");
    assert.equal(stored.assigned, workers[workers.length - 1], "the last writer holds it");
    assert.equal(stored.version, part.version + 20);
  },
);

raceTest("20 concurrent PUTs of different fields across two parts all land", 2, async (c) => {
  const [a] = c.calls;
  const parts = [
    await expectPart(await a("POST", "/api/parts", newPart()), 201),
    await expectPart(await a("POST", "/api/parts", newPart()), 201),
  ];
  const fields: [string, (i: number) => unknown][] = [
    ["name", (i) => `Name ${i}`],
    ["material", (i) => `Material ${i}`],
    ["subsystem", (i) => `Subsystem ${i}`],
    ["amount", (i) => 100 + i],
    ["notes", (i) => `Notes ${i}`],
    ["file", (i) => `file-${i}.step`],
    ["onshapeUrl", (i) => `https://cad.example.com/${i}`],
    ["status", () => "Already Started"],
    ["claimedDate", (i) => `2026-06-0${1 + (i % 9)}T00:00:00.000Z`],
    ["miscInfo", (i) => ({ n: i })],
  ];
  const jobs = parts.flatMap((p, pi) =>
    fields.map(([field, value], fi) => ({ id: p.id, field, value: value(pi * 10 + fi) }))
  );
  assert.equal(jobs.length, 20);
  const responses = await Promise.all(
    jobs.map((j, i) => c.calls[i % 2]("PUT", `/api/parts/${j.id}`, { [j.field]: j.value })),
  );
  for (const res of responses) await expectPart(res);
  for (const p of parts) {
    const stored = await getPart(a, p.id);
    for (const j of jobs.filter((j) => j.id === p.id)) {
      assert.deepEqual(stored[j.field as keyof Part], j.value, `${p.id}.${j.field}`);
    }
    assert.equal(stored.version, p.version + fields.length);
  }
});
