import assert from "node:assert/strict";
import {
  act,
  type Action,
  ACTIONS,
  assertUnchanged,
  contract,
  createPart,
  expectError,
  expectPart,
  getPart,
  ISO_Z,
  type Part,
  partIn,
  type Stage,
  STAGES,
} from "./_support.ts";

const ALLOWED_FROM: Record<Action, readonly Stage[]> = {
  approve: ["review"],
  assign: ["cnc", "hand"],
  unclaim: ["cnc", "hand"],
  complete: ["cnc", "hand"],
  revert: ["completed"],
};

type Worker = { name: string; timestamp: string };
const workers = (p: Part): Worker[] => (p.miscInfo?.handWorkers ?? []) as Worker[];

contract(
  "every action from every stage: allowed, idempotent or 409 naming the stage",
  async ({ call, t }) => {
    for (const stage of STAGES) {
      for (const action of ACTIONS) {
        await t.step(`${action} from ${stage}`, async () => {
          const part = await partIn(call, stage, { type: stage === "hand" ? "hand" : "cnc" });
          const body = action === "assign" ? { assigned: "Mia" } : undefined;
          const res = await call("POST", `/api/parts/${part.id}/${action}`, body);
          if (action === "complete" && stage === "completed") {
            assert.deepEqual(await expectPart(res), part, "repeat complete is a no-op");
            return;
          }
          if (action === "unclaim" && ALLOWED_FROM.unclaim.includes(stage)) {
            assert.deepEqual(await expectPart(res), part, "unclaim of an unclaimed part");
            return;
          }
          if (ALLOWED_FROM[action].includes(stage)) {
            const after = await expectPart(res);
            assert.equal(after.version, part.version + 1);
            const expected: Record<Action, Partial<Part>> = {
              approve: { category: "cnc", status: "Reviewed" },
              assign: { category: stage, status: "In Progress", assigned: "Mia" },
              unclaim: {},
              complete: { category: "completed", status: "Completed" },
              revert: { category: "cnc", status: "In Progress" },
            };
            for (const [k, v] of Object.entries(expected[action])) {
              assert.equal(after[k as keyof Part], v, k);
            }
            return;
          }
          const err = await expectError(res, 409, "invalid_transition", { error: `'${stage}'` });
          assert.equal(err.category, stage, "the error carries the current stage");
          await assertUnchanged(call, part);
        });
      }
    }
  },
);

contract("approve: review -> cnc or hand by type, status Reviewed", async ({ call, t }) => {
  for (const [type, stage] of [["cnc", "cnc"], ["hand", "hand"], [null, "hand"]] as const) {
    await t.step(`type ${type}`, async () => {
      const part = await createPart(call, { type });
      const approved = await act(call, part.id, "approve");
      assert.equal(approved.category, stage);
      assert.equal(approved.status, "Reviewed");
      assert.equal(approved.version, part.version + 1);
      assert.equal(approved.assigned, null);
      assert.deepEqual(await getPart(call, part.id), approved);
    });
  }
});

contract("approve merges miscInfo and records the reviewer", async ({ call, t }) => {
  await t.step("reviewer lands in miscInfo.reviewer, existing keys kept", async () => {
    const part = await createPart(call, { type: "cnc", miscInfo: { storage: "Bin 9", n: 1 } });
    const approved = await act(call, part.id, "approve", {
      reviewer: "Dr. Review",
      miscInfo: { n: 2, extra: [1, 2] },
    });
    assert.deepEqual(approved.miscInfo, {
      storage: "Bin 9",
      n: 2,
      extra: [1, 2],
      reviewer: "Dr. Review",
    });
  });
  await t.step("misc_info alias, no prior miscInfo", async () => {
    const part = await createPart(call, { type: "hand" });
    const approved = await act(call, part.id, "approve", { misc_info: { storage: "Cart" } });
    assert.deepEqual(approved.miscInfo, { storage: "Cart" });
  });
  await t.step("a blank reviewer is no reviewer", async () => {
    const part = await createPart(call, { type: "hand" });
    const approved = await act(call, part.id, "approve", { reviewer: "" });
    assert.equal(approved.miscInfo, null);
  });
  await t.step("an invalid body changes nothing", async () => {
    const part = await createPart(call, { type: "hand" });
    for (
      const [body, field] of [
        [{ reviewer: 5 }, "reviewer"],
        [{ reviewer: "r".repeat(101) }, "reviewer"],
        [{ miscInfo: "text" }, "miscInfo"],
        [{ miscInfo: [1] }, "miscInfo"],
      ] as const
    ) {
      const res = await call("POST", `/api/parts/${part.id}/approve`, body);
      await expectError(res, 400, "validation_failed", { field, error: field });
    }
    await assertUnchanged(call, part);
  });
});

contract(
  "assign claims a part: holder, In Progress, claimedDate now",
  async ({ call, target, t }) => {
    await t.step("cnc part: no handWorkers", async () => {
      const part = await partIn(call, "cnc", { overrides: { miscInfo: { storage: "S" } } });
      const before = Date.now();
      const claimed = await act(call, part.id, "assign", { assigned: "Alex" });
      const after = Date.now();
      assert.equal(claimed.assigned, "Alex");
      assert.equal(claimed.status, "In Progress");
      assert.equal(claimed.category, "cnc");
      assert.ok(claimed.claimedDate);
      assert.match(claimed.claimedDate, ISO_Z);
      if (!target.remote) {
        const at = Date.parse(claimed.claimedDate);
        assert.ok(at >= before - 1 && at <= after + 1);
      }
      assert.deepEqual(claimed.miscInfo, { storage: "S" });
      assert.equal(claimed.version, part.version + 1);
    });
    await t.step("hand part: {name, timestamp} appended to handWorkers", async () => {
      const part = await partIn(call, "hand", { overrides: { miscInfo: { storage: "S" } } });
      const claimed = await act(call, part.id, "assign", { assigned: "Bea" });
      assert.equal(claimed.miscInfo?.storage, "S");
      const list = workers(claimed);
      assert.equal(list.length, 1);
      assert.equal(list[0].name, "Bea");
      assert.match(list[0].timestamp, ISO_Z);
    });
    await t.step("the name is trimmed; the same person again is a no-op", async () => {
      const part = await partIn(call, "hand");
      const claimed = await act(call, part.id, "assign", { assigned: "  Cal " });
      assert.equal(claimed.assigned, "Cal");
      const again = await act(call, part.id, "assign", { assigned: "Cal" });
      assert.deepEqual(again, claimed, "same version, no second handWorkers entry");
      const spaced = await act(call, part.id, "assign", { assigned: " Cal" });
      assert.deepEqual(spaced, claimed);
    });
    await t.step("someone else holds it: 409 conflict naming the holder", async () => {
      const part = await partIn(call, "cnc", { assigned: "Dana" });
      const res = await call("POST", `/api/parts/${part.id}/assign`, { assigned: "Eli" });
      const err = await expectError(res, 409, "conflict", { error: "Dana" });
      assert.equal(err.assigned, "Dana");
      await assertUnchanged(call, part);
    });
    await t.step("a missing, blank or wrong-typed name is 400", async () => {
      const part = await partIn(call, "hand");
      const bodies: [string | undefined, Record<string, string>][] = [
        [undefined, {}],
        ["{}", {}],
        ["", { "Content-Type": "application/json" }],
        ['{"assigned":""}', {}],
        ['{"assigned":"   "}', {}],
        ['{"assigned":null}', {}],
        ['{"assigned":5}', {}],
        ['{"assigned":["x"]}', {}],
        [JSON.stringify({ assigned: "x".repeat(101) }), {}],
      ];
      for (const [body, headers] of bodies) {
        const res = await call("POST", `/api/parts/${part.id}/assign`, body, headers);
        await expectError(res, 400, "validation_failed", { field: "assigned", error: /assigned/i });
      }
      await assertUnchanged(call, part);
    });
  },
);

contract("unclaim: clears holder and claimedDate; status rule", async ({ call, t }) => {
  await t.step("In Progress -> Already Started", async () => {
    const part = await partIn(call, "cnc", { assigned: "Fay" });
    assert.equal(part.status, "In Progress");
    const released = await act(call, part.id, "unclaim");
    assert.equal(released.assigned, null);
    assert.equal(released.claimedDate, null);
    assert.equal(released.status, "Already Started");
    assert.equal(released.category, "cnc");
    assert.equal(released.version, part.version + 1);
  });
  await t.step("any other status -> Pending", async () => {
    for (const status of ["Reviewed", "Already Started", "Pending", "Completed"]) {
      const part = await partIn(call, "hand");
      const held = await expectPart(
        await call("PUT", `/api/parts/${part.id}`, { assigned: "Gus", status }),
      );
      assert.equal(held.status, status);
      const released = await act(call, part.id, "unclaim");
      assert.equal(released.assigned, null);
      assert.equal(released.status, "Pending", `from ${status}`);
    }
  });
  await t.step("unclaiming an unclaimed part is a no-op", async () => {
    const part = await partIn(call, "cnc", { assigned: "Hal" });
    const released = await act(call, part.id, "unclaim");
    const again = await act(call, part.id, "unclaim");
    assert.deepEqual(again, released, "same version");
  });
  await t.step("hand workers are remembered across claims", async () => {
    const part = await partIn(call, "hand", { assigned: "Ivy" });
    await act(call, part.id, "unclaim");
    const next = await act(call, part.id, "assign", { assigned: "Jon" });
    assert.deepEqual(workers(next).map((w) => w.name), ["Ivy", "Jon"]);
    const released = await act(call, part.id, "unclaim");
    assert.deepEqual(workers(released).map((w) => w.name), ["Ivy", "Jon"]);
  });
});

contract(
  "complete: fabrication -> completed, miscInfo merged, repeat is a no-op",
  async ({ call, t }) => {
    await t.step("merge", async () => {
      const part = await partIn(call, "hand", { assigned: "Kim" });
      await act(call, part.id, "unclaim");
      await act(call, part.id, "assign", { assigned: "Lee" });
      const done = await act(call, part.id, "complete", {
        miscInfo: { completedIncorrectly: true, storage: "Done shelf" },
      });
      assert.equal(done.category, "completed");
      assert.equal(done.status, "Completed");
      assert.equal(done.assigned, "Lee");
      assert.equal(done.miscInfo?.completedIncorrectly, true);
      assert.equal(done.miscInfo?.storage, "Done shelf");
      assert.deepEqual(workers(done).map((w) => w.name), ["Kim", "Lee"], "merge keeps handWorkers");
      const again = await act(call, part.id, "complete");
      assert.deepEqual(again, done);
    });
    await t.step("an unclaimed part can be completed", async () => {
      const part = await partIn(call, "cnc");
      const done = await act(call, part.id, "complete", {});
      assert.equal(done.category, "completed");
      assert.equal(done.assigned, null);
      assert.equal(done.miscInfo, null, "an absent miscInfo leaves it alone");
    });
  },
);

contract("revert: completed -> cnc or hand by type, In Progress", async ({ call, t }) => {
  for (const [type, stage] of [["cnc", "cnc"], ["hand", "hand"], [null, "hand"]] as const) {
    await t.step(`type ${type}`, async () => {
      const part = await partIn(call, "completed", { type, assigned: "Max" });
      const back = await act(call, part.id, "revert");
      assert.equal(back.category, stage);
      assert.equal(back.status, "In Progress");
      assert.equal(back.version, part.version + 1);
      const again = await call("POST", `/api/parts/${part.id}/revert`);
      await expectError(again, 409, "invalid_transition", { error: `'${stage}'` });
      const redone = await act(call, part.id, "complete");
      assert.equal(redone.category, "completed");
    });
  }
  await t.step("a type changed while completed decides the stage", async () => {
    const part = await partIn(call, "completed", { type: "cnc" });
    await expectPart(await call("PUT", `/api/parts/${part.id}`, { type: "hand" }));
    const back = await act(call, part.id, "revert");
    assert.equal(back.category, "hand");
  });
});

contract(
  "workflow bodies are optional: none, {}, and an empty JSON body all work",
  async ({ call, t }) => {
    const variants: [string, string | undefined, Record<string, string>][] = [
      ["no body", undefined, {}],
      ["{}", "{}", {}],
      ["empty JSON body", "", { "Content-Type": "application/json" }],
      ["whitespace JSON body", " \n ", { "Content-Type": "application/json" }],
      ["charset", "{}", { "Content-Type": "application/json; charset=utf-8" }],
    ];
    for (const [label, body, headers] of variants) {
      await t.step(label, async () => {
        const part = await createPart(call, { type: "cnc" });
        const send = (action: Action) =>
          call("POST", `/api/parts/${part.id}/${action}`, body, headers);
        assert.equal((await expectPart(await send("approve"))).category, "cnc");
        await act(call, part.id, "assign", { assigned: "Ned" });
        assert.equal((await expectPart(await send("unclaim"))).assigned, null);
        assert.equal((await expectPart(await send("complete"))).category, "completed");
        assert.equal((await expectPart(await send("revert"))).category, "cnc");
      });
    }
  },
);

contract(
  "a whole life: review -> hand -> two workers -> completed -> reverted -> completed",
  async ({ call }) => {
    const part = await createPart(call, { type: "hand", notes: "life" });
    let p = await act(call, part.id, "approve", { reviewer: "Ora" });
    p = await act(call, p.id, "assign", { assigned: "Pia" });
    p = await act(call, p.id, "unclaim");
    assert.equal(p.status, "Already Started");
    p = await act(call, p.id, "assign", { assigned: "Quin" });
    p = await act(call, p.id, "complete", { miscInfo: { storage: "Shelf" } });
    p = await act(call, p.id, "revert");
    assert.equal(p.category, "hand");
    assert.equal(p.assigned, "Quin");
    p = await act(call, p.id, "complete");
    assert.equal(p.version, part.version + 7);
    assert.equal(p.miscInfo?.reviewer, "Ora");
    assert.equal(p.miscInfo?.storage, "Shelf");
    assert.deepEqual(workers(p).map((w) => w.name), ["Pia", "Quin"]);
    assert.deepEqual(await getPart(call, p.id), p);
  },
);
