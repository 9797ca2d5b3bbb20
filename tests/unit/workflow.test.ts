/**
 * The workflow rules of API.md, table-driven: every stage × every action × the state variants
 * that matter (holder, type, status), with the outcome each one must produce written out from
 * the contract rather than from the implementation.
 */
import assert from "node:assert/strict";
import {
  type Action,
  type ActionInput,
  ACTIONS,
  CATEGORIES,
  type Category,
  decide,
  type MiscInfo,
  type Outcome,
  type PartState,
  type PartType,
  planEdit,
  STATUSES,
} from "../../src/domain/workflow.ts";
import { leaderboard } from "../../src/domain/leaderboard.ts";

const NOW = Date.parse("2026-01-15T10:30:00.000Z");
const NOW_ISO = "2026-01-15T10:30:00.000Z";
const EARLIER = Date.parse("2026-01-14T08:00:00.000Z");

const TYPES: (PartType | null)[] = ["cnc", "hand", null];
/** Holders: nobody, the person the assign tests claim as, and somebody else. */
const CLAIMANT = "Alex";
const OTHER = "Blake";
const HOLDERS: (string | null)[] = [null, CLAIMANT, OTHER];
const MISC: (MiscInfo | null)[] = [
  null,
  { storage: "Bin 4", handWorkers: [{ name: "Casey", timestamp: "2026-01-10T09:00:00.000Z" }] },
];

interface Variant {
  state: PartState;
  input: ActionInput;
  label: string;
}

function* variants(category: Category, action: Action): Generator<Variant> {
  for (const type of TYPES) {
    for (const assigned of HOLDERS) {
      for (const status of STATUSES) {
        for (const miscInfo of MISC) {
          const state: PartState = {
            category,
            type,
            status,
            assigned,
            claimedDate: assigned === null ? null : EARLIER,
            miscInfo,
          };
          const inputs: ActionInput[] = action === "assign"
            ? [{ assigned: CLAIMANT }]
            : action === "approve"
            ? [{}, { miscInfo: { storage: "Shelf 2", priority: "high" }, reviewer: "Sam" }]
            : action === "complete"
            ? [{}, { miscInfo: { completedIncorrectly: false, storage: "Cart" } }]
            : [{}];
          for (const input of inputs) {
            yield {
              state,
              input,
              label: `${action} from ${JSON.stringify(state)} with ${JSON.stringify(input)}`,
            };
          }
        }
      }
    }
  }
}

/** The stage a part of this type is fabricated in: cnc parts on the CNC, everything else by hand. */
const stageFor = (type: PartType | null): Category => (type === "cnc" ? "cnc" : "hand");

function rejected(code: "invalid_transition" | "conflict") {
  return (outcome: Outcome, v: Variant, mustName: string) => {
    assert.equal(outcome.kind, "rejected", v.label);
    if (outcome.kind !== "rejected") return;
    assert.equal(outcome.code, code, v.label);
    assert.ok(
      outcome.message.includes(mustName),
      `${v.label}: message "${outcome.message}" should name ${mustName}`,
    );
  };
}
const invalidTransition = rejected("invalid_transition");
const conflict = rejected("conflict");

function changed(outcome: Outcome, v: Variant, patch: Partial<PartState>) {
  assert.equal(outcome.kind, "change", v.label);
  if (outcome.kind !== "change") return;
  assert.deepEqual(outcome.patch, patch, v.label);
}

function unchanged(outcome: Outcome, v: Variant) {
  assert.deepEqual(outcome, { kind: "unchanged" }, v.label);
}

/** The expected outcome of every (stage, action) pair, written from the rules in API.md. */
const RULES: Record<Action, (v: Variant, outcome: Outcome) => void> = {
  approve(v, outcome) {
    const { state, input } = v;
    if (state.category !== "review") return invalidTransition(outcome, v, `'${state.category}'`);
    let miscInfo = state.miscInfo;
    if (input.miscInfo) miscInfo = { ...(miscInfo ?? {}), ...input.miscInfo };
    if (input.reviewer) miscInfo = { ...(miscInfo ?? {}), reviewer: input.reviewer };
    changed(outcome, v, { category: stageFor(state.type), status: "Reviewed", miscInfo });
  },
  assign(v, outcome) {
    const { state } = v;
    if (state.category !== "cnc" && state.category !== "hand") {
      return invalidTransition(outcome, v, `'${state.category}'`);
    }
    if (state.assigned === CLAIMANT) return unchanged(outcome, v);
    if (state.assigned !== null) return conflict(outcome, v, state.assigned);
    const patch: Partial<PartState> = {
      assigned: CLAIMANT,
      status: "In Progress",
      claimedDate: NOW,
    };
    if (state.category === "hand") {
      const before = (state.miscInfo?.handWorkers ?? []) as unknown[];
      patch.miscInfo = {
        ...(state.miscInfo ?? {}),
        handWorkers: [...before, { name: CLAIMANT, timestamp: NOW_ISO }],
      };
    }
    changed(outcome, v, patch);
  },
  unclaim(v, outcome) {
    const { state } = v;
    if (state.category !== "cnc" && state.category !== "hand") {
      return invalidTransition(outcome, v, `'${state.category}'`);
    }
    if (state.assigned === null) return unchanged(outcome, v);
    changed(outcome, v, {
      assigned: null,
      claimedDate: null,
      status: state.status === "In Progress" ? "Already Started" : "Pending",
    });
  },
  complete(v, outcome) {
    const { state, input } = v;
    if (state.category === "completed") return unchanged(outcome, v);
    if (state.category === "review") return invalidTransition(outcome, v, "'review'");
    const miscInfo = input.miscInfo
      ? { ...(state.miscInfo ?? {}), ...input.miscInfo }
      : state.miscInfo;
    changed(outcome, v, { category: "completed", status: "Completed", miscInfo });
  },
  revert(v, outcome) {
    const { state } = v;
    if (state.category !== "completed") return invalidTransition(outcome, v, `'${state.category}'`);
    changed(outcome, v, { category: stageFor(state.type), status: "In Progress" });
  },
};

for (const category of CATEGORIES) {
  for (const action of ACTIONS) {
    Deno.test(`decide: ${action} from stage ${category}, every type/holder/status`, () => {
      let cases = 0;
      for (const v of variants(category, action)) {
        const before = structuredClone(v);
        const outcome = decide(action, v.state, v.input, NOW);
        RULES[action](v, outcome);
        // decide is pure: it never changes the state or input it was handed.
        assert.deepEqual(v, before, `${v.label} mutated its arguments`);
        cases++;
      }
      assert.ok(cases >= 90, `only ${cases} variants checked`);
    });
  }
}

// A few rows spelled out literally, so a reader sees concrete outcomes without the oracle.
const base: PartState = {
  category: "review",
  type: null,
  status: "Pending",
  assigned: null,
  claimedDate: null,
  miscInfo: null,
};
const LITERAL: {
  name: string;
  action: Action;
  state: Partial<PartState>;
  input?: ActionInput;
  expect: Outcome | { kind: "rejected"; code: string };
}[] = [
  {
    name: "approve a cnc part → cnc, Reviewed, reviewer recorded",
    action: "approve",
    state: { type: "cnc" },
    input: { reviewer: "Sam" },
    expect: {
      kind: "change",
      patch: { category: "cnc", status: "Reviewed", miscInfo: { reviewer: "Sam" } },
    },
  },
  {
    name: "approve a part with no type → hand",
    action: "approve",
    state: {},
    expect: { kind: "change", patch: { category: "hand", status: "Reviewed", miscInfo: null } },
  },
  {
    name: "approve: explicit reviewer wins over miscInfo.reviewer, other keys kept",
    action: "approve",
    state: { type: "hand", miscInfo: { storage: "Bin 1", reviewer: "Old" } },
    input: { miscInfo: { reviewer: "Body", note: 1 }, reviewer: "Sam" },
    expect: {
      kind: "change",
      patch: {
        category: "hand",
        status: "Reviewed",
        miscInfo: { storage: "Bin 1", reviewer: "Sam", note: 1 },
      },
    },
  },
  {
    name: "assign a hand part with no handWorkers yet",
    action: "assign",
    state: { category: "hand", status: "Reviewed" },
    input: { assigned: "Alex" },
    expect: {
      kind: "change",
      patch: {
        assigned: "Alex",
        status: "In Progress",
        claimedDate: NOW,
        miscInfo: { handWorkers: [{ name: "Alex", timestamp: NOW_ISO }] },
      },
    },
  },
  {
    name: "assign a hand part whose handWorkers is malformed starts a fresh list",
    action: "assign",
    state: { category: "hand", miscInfo: { handWorkers: "Casey", storage: "Cart" } },
    input: { assigned: "Alex" },
    expect: {
      kind: "change",
      patch: {
        assigned: "Alex",
        status: "In Progress",
        claimedDate: NOW,
        miscInfo: { storage: "Cart", handWorkers: [{ name: "Alex", timestamp: NOW_ISO }] },
      },
    },
  },
  {
    name: "assign a cnc part leaves miscInfo alone",
    action: "assign",
    state: { category: "cnc", type: "cnc", miscInfo: { storage: "Bin 2" } },
    input: { assigned: "Alex" },
    expect: {
      kind: "change",
      patch: { assigned: "Alex", status: "In Progress", claimedDate: NOW },
    },
  },
  {
    name: "assign trims the name, so a padded repeat by the holder is unchanged",
    action: "assign",
    state: { category: "cnc", assigned: "Alex", status: "In Progress" },
    input: { assigned: "  Alex  " },
    expect: { kind: "unchanged" },
  },
  {
    name: "assign to someone else while held → conflict",
    action: "assign",
    state: { category: "hand", assigned: "Blake", status: "In Progress" },
    input: { assigned: "Alex" },
    expect: { kind: "rejected", code: "conflict" },
  },
  {
    name: "assign in review → invalid_transition even when held (stage comes first)",
    action: "assign",
    state: { assigned: "Blake" },
    input: { assigned: "Alex" },
    expect: { kind: "rejected", code: "invalid_transition" },
  },
  {
    name: "unclaim an In Progress part → Already Started",
    action: "unclaim",
    state: { category: "cnc", assigned: "Alex", status: "In Progress", claimedDate: EARLIER },
    expect: {
      kind: "change",
      patch: { assigned: null, claimedDate: null, status: "Already Started" },
    },
  },
  {
    name: "unclaim a Reviewed part → Pending",
    action: "unclaim",
    state: { category: "hand", assigned: "Alex", status: "Reviewed", claimedDate: EARLIER },
    expect: { kind: "change", patch: { assigned: null, claimedDate: null, status: "Pending" } },
  },
  {
    name: "complete merges miscInfo",
    action: "complete",
    state: { category: "hand", assigned: "Alex", miscInfo: { storage: "Bin 1" } },
    input: { miscInfo: { completedIncorrectly: true } },
    expect: {
      kind: "change",
      patch: {
        category: "completed",
        status: "Completed",
        miscInfo: { storage: "Bin 1", completedIncorrectly: true },
      },
    },
  },
  {
    name: "complete a completed part → unchanged",
    action: "complete",
    state: { category: "completed", status: "Completed" },
    expect: { kind: "unchanged" },
  },
  {
    name: "revert a completed cnc part → cnc, In Progress",
    action: "revert",
    state: { category: "completed", type: "cnc", status: "Completed", assigned: "Alex" },
    expect: { kind: "change", patch: { category: "cnc", status: "In Progress" } },
  },
  {
    name: "revert a completed part with no type → hand",
    action: "revert",
    state: { category: "completed", status: "Completed" },
    expect: { kind: "change", patch: { category: "hand", status: "In Progress" } },
  },
];

for (const row of LITERAL) {
  Deno.test(`decide (literal): ${row.name}`, () => {
    const outcome = decide(row.action, { ...base, ...row.state }, row.input ?? {}, NOW);
    if (row.expect.kind === "rejected") {
      assert.equal(outcome.kind, "rejected");
      assert.equal(outcome.kind === "rejected" && outcome.code, row.expect.code);
    } else {
      assert.deepEqual(outcome, row.expect);
    }
  });
}

Deno.test("decide: the conflict message names the holder; the stage message names the stage", () => {
  const held = decide("assign", { ...base, category: "cnc", assigned: "Blake" }, {
    assigned: "Alex",
  }, NOW);
  assert.equal(held.kind, "rejected");
  assert.match(held.kind === "rejected" ? held.message : "", /Blake/);
  const wrongStage = decide("revert", { ...base, category: "hand" }, {}, NOW);
  assert.match(wrongStage.kind === "rejected" ? wrongStage.message : "", /'hand'/);
});

Deno.test("decide: assign without a name is a programming error (routes validate first)", () => {
  for (const assigned of [undefined, null, "", "   "]) {
    assert.throws(() => decide("assign", { ...base, category: "cnc" }, { assigned }, NOW));
  }
});

// ---------------------------------------------------------------------------------------------
// planEdit

const inStage = (category: Category, extra: Partial<PartState> = {}): PartState => ({
  ...base,
  category,
  ...extra,
});

Deno.test("planEdit: a type change in fabrication moves the part to the matching stage", () => {
  const rows: [Category, PartType | null, Category | undefined][] = [
    ["cnc", "hand", "hand"],
    ["cnc", null, "hand"],
    ["cnc", "cnc", undefined],
    ["hand", "cnc", "cnc"],
    ["hand", "hand", undefined],
    ["hand", null, undefined],
  ];
  for (const [from, type, to] of rows) {
    const patch = planEdit(inStage(from, { type: from === "cnc" ? "cnc" : "hand" }), { type }, NOW);
    assert.equal(patch.category, to, `${from} with type → ${type}`);
    assert.equal(patch.type, type);
  }
});

Deno.test("planEdit: a type change in review or completed does not move the part", () => {
  for (const category of ["review", "completed"] as const) {
    for (const type of TYPES) {
      const patch = planEdit(inStage(category, { type: type === "cnc" ? "hand" : "cnc" }), {
        type,
      }, NOW);
      assert.equal("category" in patch, false, `${category} → type ${type}`);
      assert.deepEqual(patch, { type });
    }
  }
});

Deno.test("planEdit: an edit without type never touches the stage", () => {
  for (const category of CATEGORIES) {
    const patch = planEdit(inStage(category, { type: "cnc" }), { notes: "Deburr edges" }, NOW);
    assert.deepEqual(patch, { notes: "Deburr edges" });
  }
});

Deno.test("planEdit: a new holder of a hand part is appended to handWorkers", () => {
  const misc = { storage: "Bin 3", handWorkers: [{ name: "Casey", timestamp: "x" }] };
  const patch = planEdit(inStage("hand", { assigned: "Casey", miscInfo: misc }), {
    assigned: "Alex",
  }, NOW);
  assert.deepEqual(patch, {
    assigned: "Alex",
    miscInfo: {
      storage: "Bin 3",
      handWorkers: [{ name: "Casey", timestamp: "x" }, { name: "Alex", timestamp: NOW_ISO }],
    },
  });
  assert.equal(misc.handWorkers.length, 1, "the state's miscInfo is not mutated");
});

Deno.test("planEdit: assigning a hand part that had no holder or miscInfo starts the list", () => {
  const patch = planEdit(inStage("hand"), { assigned: "Alex" }, NOW);
  assert.deepEqual(patch.miscInfo, { handWorkers: [{ name: "Alex", timestamp: NOW_ISO }] });
});

Deno.test("planEdit: the same holder, no holder, or a cnc part adds no hand worker", () => {
  const misc = { handWorkers: [{ name: "Alex", timestamp: "x" }] };
  assert.deepEqual(
    planEdit(inStage("hand", { assigned: "Alex", miscInfo: misc }), { assigned: "Alex" }, NOW),
    { assigned: "Alex" },
  );
  assert.deepEqual(
    planEdit(inStage("hand", { assigned: "Alex", miscInfo: misc }), { assigned: null }, NOW),
    { assigned: null },
  );
  assert.deepEqual(planEdit(inStage("cnc"), { assigned: "Alex" }, NOW), { assigned: "Alex" });
  for (const category of ["review", "completed"] as const) {
    assert.deepEqual(planEdit(inStage(category), { assigned: "Alex" }, NOW), {
      assigned: "Alex",
    });
  }
});

Deno.test("planEdit: the append applies to the stage after a type change", () => {
  const toHand = planEdit(inStage("cnc", { type: "cnc" }), { type: "hand", assigned: "Alex" }, NOW);
  assert.equal(toHand.category, "hand");
  assert.deepEqual(toHand.miscInfo, { handWorkers: [{ name: "Alex", timestamp: NOW_ISO }] });
  const toCnc = planEdit(inStage("hand", { type: "hand" }), { type: "cnc", assigned: "Alex" }, NOW);
  assert.equal(toCnc.category, "cnc");
  assert.equal("miscInfo" in toCnc, false);
});

Deno.test("planEdit: a miscInfo in the same edit is the base the hand worker joins", () => {
  const state = inStage("hand", { miscInfo: { old: true } });
  const replaced = planEdit(state, { assigned: "Alex", miscInfo: { storage: "Cart" } }, NOW);
  assert.deepEqual(replaced.miscInfo, {
    storage: "Cart",
    handWorkers: [{ name: "Alex", timestamp: NOW_ISO }],
  });
  const cleared = planEdit(state, { assigned: "Alex", miscInfo: null }, NOW);
  assert.deepEqual(cleared.miscInfo, { handWorkers: [{ name: "Alex", timestamp: NOW_ISO }] });
});

// ---------------------------------------------------------------------------------------------
// leaderboard

const hw = (...names: unknown[]) => ({
  handWorkers: names.map((name) => ({ name, timestamp: NOW_ISO })),
});

Deno.test("leaderboard: nothing completed → empty", () => {
  assert.deepEqual(leaderboard([]), []);
});

Deno.test("leaderboard: holder scores 1, other hand workers 0.5 per entry", () => {
  assert.deepEqual(
    leaderboard([
      { assigned: "Alex", miscInfo: hw("Blake", "Blake", "Casey") },
      { assigned: "Blake", miscInfo: null },
    ]),
    [
      { name: "Blake", score: 2 },
      { name: "Alex", score: 1 },
      { name: "Casey", score: 0.5 },
    ],
  );
});

Deno.test("leaderboard: the holder's own handWorkers entry is not counted twice", () => {
  assert.deepEqual(leaderboard([{ assigned: "Alex", miscInfo: hw("Alex", "Alex") }]), [
    { name: "Alex", score: 1 },
  ]);
});

Deno.test("leaderboard: a part with no holder credits its hand workers only", () => {
  assert.deepEqual(leaderboard([{ assigned: null, miscInfo: hw("Alex", "Blake") }]), [
    { name: "Alex", score: 0.5 },
    { name: "Blake", score: 0.5 },
  ]);
});

Deno.test("leaderboard: malformed handWorkers are ignored, not fatal", () => {
  const malformed: (Record<string, unknown> | null)[] = [
    null,
    {},
    { handWorkers: "Alex" },
    { handWorkers: { name: "Alex" } },
    { handWorkers: 3 },
    { handWorkers: [null, 7, "Alex", [], { timestamp: NOW_ISO }] },
    hw(42, null, "", "   ", { first: "Alex" }),
  ];
  assert.deepEqual(
    leaderboard(malformed.map((miscInfo) => ({ assigned: "Dana", miscInfo }))),
    [{ name: "Dana", score: malformed.length }],
  );
});

Deno.test("leaderboard: blank holders score nothing; names are trimmed", () => {
  assert.deepEqual(
    leaderboard([
      { assigned: "", miscInfo: null },
      { assigned: "   ", miscInfo: hw(" Alex ") },
      { assigned: " Alex", miscInfo: hw("Alex ") },
    ]),
    [{ name: "Alex", score: 1.5 }],
  );
});

Deno.test("leaderboard: sorted by score descending, then by name", () => {
  const board = leaderboard([
    { assigned: "Zoe", miscInfo: null },
    { assigned: "Mia", miscInfo: hw("Eli") },
    { assigned: "Eli", miscInfo: hw("Ada", "Ben") },
    { assigned: "Ada", miscInfo: null },
    { assigned: "Ben", miscInfo: null },
    { assigned: "Zoe", miscInfo: null },
  ]);
  assert.deepEqual(board, [
    { name: "Zoe", score: 2 },
    { name: "Ada", score: 1.5 },
    { name: "Ben", score: 1.5 },
    { name: "Eli", score: 1.5 },
    { name: "Mia", score: 1 },
  ]);
});
