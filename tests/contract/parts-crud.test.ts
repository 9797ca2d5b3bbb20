import assert from "node:assert/strict";
import { MessageSchema } from "../../src/schemas/common.ts";
import { newPart } from "../helpers.ts";
import {
  act,
  assertUnchanged,
  contract,
  createPart,
  expectError,
  expectList,
  expectOk,
  expectPart,
  getPart,
  ISO_Z,
  partIn,
  token,
} from "./_support.ts";

contract(
  "POST /api/parts creates a part in review with the documented defaults",
  async ({ call, target }) => {
    const partId = token("CRUD");
    const before = Date.now();
    const part = await expectPart(
      await call("POST", "/api/parts", { partId, material: "Delrin", subsystem: "Intake" }),
      201,
    );
    const after = Date.now();
    assert.ok(Number.isInteger(part.id) && part.id > 0);
    assert.equal(part.partId, partId);
    assert.equal(part.material, "Delrin");
    assert.equal(part.subsystem, "Intake");
    assert.equal(part.name, null);
    assert.equal(part.type, null);
    assert.equal(part.amount, 1);
    assert.equal(part.assigned, null);
    assert.equal(part.status, "Pending");
    assert.equal(part.category, "review");
    assert.equal(part.notes, null);
    assert.equal(part.file, null);
    assert.equal(part.onshapeUrl, null);
    assert.equal(part.claimedDate, null);
    assert.equal(part.miscInfo, null);
    assert.match(part.createdAt, ISO_Z);
    assert.match(part.updatedAt, ISO_Z);
    assert.equal(part.createdAt, part.updatedAt);
    if (!target.remote) {
      const created = Date.parse(part.createdAt);
      assert.ok(created >= before - 1 && created <= after + 1, "createdAt is the real time");
    }
    assert.deepEqual(await getPart(call, part.id), part);
  },
);

contract("POST /api/parts stores every field given in camelCase", async ({ call }) => {
  const body = {
    partId: token("FULL"),
    name: "Gearbox plate",
    type: "cnc",
    material: "6061 aluminum 1/4in plate",
    subsystem: "Drivetrain",
    amount: 4,
    assigned: "Alex",
    status: "Already Started",
    notes: "Deburr the edges.\nTwo passes.",
    file: "plate-v3.step",
    onshapeUrl: "https://cad.onshape.com/documents/abc",
    claimedDate: "2026-01-15T10:30:00.000Z",
    miscInfo: { storage: "Bin 4", nested: { list: [1, "two", null, true] } },
  };
  const part = await expectPart(await call("POST", "/api/parts", body), 201);
  for (const [key, value] of Object.entries(body)) {
    assert.deepEqual(part[key as keyof typeof part], value, key);
  }
  assert.equal(part.category, "review");
  assert.deepEqual(await getPart(call, part.id), part);
});

contract("POST /api/parts accepts the snake_case aliases", async ({ call, t }) => {
  await t.step("part_id, misc_info, onshape_url, claimed_date", async () => {
    const partId = token("SNAKE");
    const part = await expectPart(
      await call("POST", "/api/parts", {
        part_id: partId,
        material: "Steel",
        subsystem: "Climber",
        misc_info: { storage: "Shelf 2" },
        onshape_url: "http://cad.example.com/x",
        claimed_date: "2026-02-01T08:00:00Z",
      }),
      201,
    );
    assert.equal(part.partId, partId);
    assert.deepEqual(part.miscInfo, { storage: "Shelf 2" });
    assert.equal(part.onshapeUrl, "http://cad.example.com/x");
    assert.equal(part.claimedDate, "2026-02-01T08:00:00.000Z");
  });
  await t.step("the camelCase key wins when both spellings are sent", async () => {
    const partId = token("BOTH");
    const part = await expectPart(
      await call("POST", "/api/parts", {
        partId,
        part_id: "ignored",
        material: "Steel",
        subsystem: "Climber",
      }),
      201,
    );
    assert.equal(part.partId, partId);
  });
  await t.step("aliases work on PUT too", async () => {
    const part = await createPart(call);
    const updated = await expectPart(
      await call("PUT", `/api/parts/${part.id}`, {
        misc_info: { a: 1 },
        onshape_url: "https://example.com/doc",
        claimed_date: "2026-03-01T00:00:00.000Z",
        part_id: `${part.partId}-b`,
      }),
    );
    assert.deepEqual(updated.miscInfo, { a: 1 });
    assert.equal(updated.onshapeUrl, "https://example.com/doc");
    assert.equal(updated.claimedDate, "2026-03-01T00:00:00.000Z");
    assert.equal(updated.partId, `${part.partId}-b`);
  });
});

contract("blank optional strings are stored as null", async ({ call, t }) => {
  const blanks = {
    name: "",
    type: "",
    notes: "   ",
    file: "",
    onshapeUrl: "",
    assigned: " ",
    claimedDate: "",
  };
  await t.step("on create", async () => {
    const part = await createPart(call, blanks);
    for (const key of Object.keys(blanks)) {
      assert.equal(part[key as keyof typeof part], null, key);
    }
  });
  await t.step("on update", async () => {
    const part = await createPart(call, {
      name: "n",
      type: "hand",
      notes: "x",
      file: "f.step",
      onshapeUrl: "https://e.com",
      claimedDate: "2026-01-01T00:00:00Z",
    });
    const updated = await expectPart(await call("PUT", `/api/parts/${part.id}`, blanks));
    for (const key of Object.keys(blanks)) {
      assert.equal(updated[key as keyof typeof updated], null, key);
    }
  });
});

contract("unknown body keys are ignored, server-owned fields cannot be set", async ({ call }) => {
  const body = newPart({
    id: 987654,
    version: 99,
    createdAt: "2000-01-01T00:00:00.000Z",
    updatedAt: "2000-01-01T00:00:00.000Z",
    color: "red",
    nested: { deep: [1, 2] },
  });
  const part = await expectPart(await call("POST", "/api/parts", body), 201);
  assert.notEqual(part.id, 987654);
  assert.equal(part.version, 1);
  assert.notEqual(part.createdAt, "2000-01-01T00:00:00.000Z");
  assert.ok(!("color" in part));
  const updated = await expectPart(
    await call("PUT", `/api/parts/${part.id}`, { version: 50, color: "blue", name: "Renamed" }),
  );
  assert.equal(updated.name, "Renamed");
  assert.equal(updated.version, 2);
  assert.ok(!("color" in updated));
});

contract(
  "strings are trimmed; whitespace-only required fields are missing",
  async ({ call, t }) => {
    await t.step("trimmed", async () => {
      const partId = token("TRIM");
      const part = await expectPart(
        await call("POST", "/api/parts", {
          partId: `  ${partId}\t`,
          material: "  Polycarbonate ",
          subsystem: "\nShooter  ",
          name: "  Hood  ",
        }),
        201,
      );
      assert.equal(part.partId, partId);
      assert.equal(part.material, "Polycarbonate");
      assert.equal(part.subsystem, "Shooter");
      assert.equal(part.name, "Hood");
    });
    for (const field of ["partId", "material", "subsystem"]) {
      await t.step(`${field} of only spaces is required`, async () => {
        const tok = token("BLANKREQ");
        const res = await call("POST", "/api/parts", newPart({ notes: tok, [field]: "   " }));
        await expectError(res, 400, "validation_failed", { field, error: /required/i });
        const res2 = await call("GET", `/api/parts?search=${tok}`);
        assert.equal((await expectList(res2)).total, 0, "nothing was created");
      });
      await t.step(`${field} missing is required`, async () => {
        const body = newPart();
        delete body[field];
        const res = await call("POST", "/api/parts", body);
        const err = await expectError(res, 400, "validation_failed", { field, error: /required/i });
        assert.ok(err.issues?.some((i) => i.path === field));
      });
    }
  },
);

contract("POST with category: review is fine, any other stage is refused", async ({ call }) => {
  const part = await createPart(call, { category: "review" });
  assert.equal(part.category, "review");
  const tok = token("CATCREATE");
  for (const category of ["cnc", "hand", "completed"]) {
    const res = await call("POST", "/api/parts", newPart({ partId: tok, category }));
    await expectError(res, 400, "validation_failed", { field: "category", error: /workflow/ });
  }
  assert.equal((await expectList(await call("GET", `/api/parts?search=${tok}`))).total, 0);
});

contract("both /api/parts and /api/parts/ list and create", async ({ call }) => {
  const tok = token("SLASH");
  const a = await expectPart(
    await call("POST", "/api/parts", newPart({ partId: `${tok}-a` })),
    201,
  );
  const b = await expectPart(
    await call("POST", "/api/parts/", newPart({ partId: `${tok}-b` })),
    201,
  );
  for (const path of ["/api/parts", "/api/parts/"]) {
    const res = await call("GET", `${path}?search=${tok}`);
    assert.equal(res.status, 200, `${path} must not redirect`);
    const listed = await expectList(res);
    assert.deepEqual(listed.parts.map((p) => p.id).sort(), [a.id, b.id].sort());
    assert.equal(listed.total, 2);
  }
});

contract("GET /api/parts/{id} returns the part; unknown id is 404", async ({ call }) => {
  const part = await createPart(call, { notes: "hello" });
  assert.deepEqual(await getPart(call, part.id), part);
  await expectError(await call("GET", "/api/parts/999999999999"), 404, "not_found", {
    error: /not found/i,
  });
});

contract("PUT changes only the fields sent", async ({ call, t }) => {
  const part = await createPart(call, {
    type: "cnc",
    notes: "original",
    amount: 2,
    miscInfo: { storage: "Bin 1" },
  });
  await t.step("one field", async () => {
    const updated = await expectPart(await call("PUT", `/api/parts/${part.id}`, { amount: 7 }));
    assert.equal(updated.amount, 7);
    assert.equal(updated.version, part.version + 1);
    assert.equal(updated.createdAt, part.createdAt);
    assert.ok(Date.parse(updated.updatedAt) >= Date.parse(part.updatedAt));
    const { amount: _a, version: _v, updatedAt: _u, ...rest } = updated;
    const { amount: _a2, version: _v2, updatedAt: _u2, ...restBefore } = part;
    assert.deepEqual(rest, restBefore);
  });
  await t.step("every editable field", async () => {
    const edit = {
      partId: `${part.partId}-r2`,
      name: "New name",
      type: "hand",
      material: "Wood",
      subsystem: "Arm",
      amount: 3,
      assigned: "Sam",
      status: "Already Started",
      notes: "changed",
      file: "new.dxf",
      onshapeUrl: "https://cad.onshape.com/new",
      claimedDate: "2026-05-05T05:05:05.005Z",
      miscInfo: { only: "this" },
    };
    const updated = await expectPart(await call("PUT", `/api/parts/${part.id}`, edit));
    for (const [key, value] of Object.entries(edit)) {
      assert.deepEqual(updated[key as keyof typeof updated], value, key);
    }
    assert.equal(updated.category, "review", "a type change in review keeps the stage");
    assert.deepEqual(await getPart(call, part.id), updated);
  });
  await t.step("an empty body or identical values change nothing", async () => {
    const current = await getPart(call, part.id);
    const same = await expectPart(await call("PUT", `/api/parts/${part.id}`, {}));
    assert.deepEqual(same, current);
    const again = await expectPart(
      await call("PUT", `/api/parts/${part.id}`, { name: current.name, amount: current.amount }),
    );
    assert.deepEqual(again, current, "same version when nothing changed");
  });
  await t.step("required fields cannot be blanked", async () => {
    const current = await getPart(call, part.id);
    for (const field of ["partId", "material", "subsystem"]) {
      const res = await call("PUT", `/api/parts/${part.id}`, { [field]: " " });
      await expectError(res, 400, "validation_failed", { field, error: /required/i });
      const res2 = await call("PUT", `/api/parts/${part.id}`, { [field]: null });
      await expectError(res2, 400, "validation_failed", { field });
    }
    await assertUnchanged(call, current);
  });
});

contract("PUT replaces miscInfo whole", async ({ call }) => {
  const part = await createPart(call, { miscInfo: { a: 1, b: { c: 2 } } });
  const updated = await expectPart(
    await call("PUT", `/api/parts/${part.id}`, { miscInfo: { c: 3 } }),
  );
  assert.deepEqual(updated.miscInfo, { c: 3 });
  const cleared = await expectPart(await call("PUT", `/api/parts/${part.id}`, { miscInfo: null }));
  assert.equal(cleared.miscInfo, null);
  const empty = await expectPart(await call("PUT", `/api/parts/${part.id}`, { miscInfo: {} }));
  assert.deepEqual(empty.miscInfo, {});
});

contract("PUT type moves a part in fabrication between cnc and hand", async ({ call, t }) => {
  await t.step("cnc -> hand -> cnc", async () => {
    const part = await partIn(call, "cnc");
    const toHand = await expectPart(await call("PUT", `/api/parts/${part.id}`, { type: "hand" }));
    assert.equal(toHand.type, "hand");
    assert.equal(toHand.category, "hand");
    assert.equal(toHand.status, part.status, "status is not touched");
    const toCnc = await expectPart(await call("PUT", `/api/parts/${part.id}`, { type: "cnc" }));
    assert.equal(toCnc.category, "cnc");
  });
  await t.step("no type means hand work", async () => {
    const part = await partIn(call, "cnc");
    const untyped = await expectPart(await call("PUT", `/api/parts/${part.id}`, { type: null }));
    assert.equal(untyped.type, null);
    assert.equal(untyped.category, "hand");
    const blank = await partIn(call, "cnc");
    const blanked = await expectPart(await call("PUT", `/api/parts/${blank.id}`, { type: "" }));
    assert.equal(blanked.type, null);
    assert.equal(blanked.category, "hand");
  });
  await t.step("a claimed part keeps its holder when it moves", async () => {
    const part = await partIn(call, "cnc", { assigned: "Rin" });
    const moved = await expectPart(await call("PUT", `/api/parts/${part.id}`, { type: "hand" }));
    assert.equal(moved.category, "hand");
    assert.equal(moved.assigned, "Rin");
    assert.equal(moved.claimedDate, part.claimedDate);
  });
  await t.step("review and completed parts keep their stage", async () => {
    const review = await partIn(call, "review", { type: "cnc" });
    const r = await expectPart(await call("PUT", `/api/parts/${review.id}`, { type: "hand" }));
    assert.equal(r.category, "review");
    const done = await partIn(call, "completed", { type: "cnc" });
    const d = await expectPart(await call("PUT", `/api/parts/${done.id}`, { type: "hand" }));
    assert.equal(d.category, "completed");
    assert.equal(d.type, "hand");
  });
});

contract(
  "PUT category: equal to the current stage is ignored, different is 400",
  async ({ call, t }) => {
    for (const stage of ["review", "cnc", "hand", "completed"] as const) {
      await t.step(stage, async () => {
        const part = await partIn(call, stage);
        const same = await expectPart(
          await call("PUT", `/api/parts/${part.id}`, { category: stage }),
        );
        assert.deepEqual(same, part, "no change, same version");
        const withEdit = await expectPart(
          await call("PUT", `/api/parts/${part.id}`, { category: stage, notes: "edited" }),
        );
        assert.equal(withEdit.notes, "edited");
        assert.equal(withEdit.category, stage);
        const other = stage === "completed" ? "review" : "completed";
        const res = await call("PUT", `/api/parts/${part.id}`, { category: other, notes: "nope" });
        await expectError(res, 400, "validation_failed", {
          field: "category",
          error: /workflow actions/,
        });
        await assertUnchanged(call, withEdit);
      });
    }
  },
);

contract("PUT a new assigned on a hand part appends to handWorkers", async ({ call, t }) => {
  await t.step("hand part", async () => {
    const part = await partIn(call, "hand", { overrides: { miscInfo: { storage: "Cart" } } });
    const first = await expectPart(await call("PUT", `/api/parts/${part.id}`, { assigned: "Ana" }));
    assert.equal(first.assigned, "Ana");
    const workers = first.miscInfo?.handWorkers as { name: string; timestamp: string }[];
    assert.equal(workers.length, 1);
    assert.equal(workers[0].name, "Ana");
    assert.ok(!Number.isNaN(Date.parse(workers[0].timestamp)));
    assert.equal(first.miscInfo?.storage, "Cart", "other miscInfo keys are kept");
    const same = await expectPart(await call("PUT", `/api/parts/${part.id}`, { assigned: "Ana" }));
    assert.deepEqual(same, first, "the same holder is not a new worker");
    const second = await expectPart(
      await call("PUT", `/api/parts/${part.id}`, { assigned: "Ben" }),
    );
    assert.deepEqual(
      (second.miscInfo?.handWorkers as { name: string }[]).map((w) => w.name),
      ["Ana", "Ben"],
    );
  });
  await t.step("with a new miscInfo in the same PUT, the worker lands in the new one", async () => {
    const part = await partIn(call, "hand");
    const updated = await expectPart(
      await call("PUT", `/api/parts/${part.id}`, { assigned: "Cy", miscInfo: { storage: "B2" } }),
    );
    assert.equal(updated.miscInfo?.storage, "B2");
    assert.deepEqual(
      (updated.miscInfo?.handWorkers as { name: string }[]).map((w) => w.name),
      ["Cy"],
    );
  });
  await t.step("cnc and review parts get no handWorkers", async () => {
    for (const stage of ["cnc", "review"] as const) {
      const part = await partIn(call, stage, { type: "cnc" });
      const updated = await expectPart(
        await call("PUT", `/api/parts/${part.id}`, { assigned: "Dee" }),
      );
      assert.equal(updated.assigned, "Dee");
      assert.equal(updated.miscInfo, null);
    }
  });
});

contract("DELETE removes a part; afterwards every id route is 404", async ({ call }) => {
  const part = await createPart(call);
  const deleted = await expectOk(await call("DELETE", `/api/parts/${part.id}`), MessageSchema);
  assert.equal(deleted.message, "Part deleted successfully");
  const again = await call("GET", `/api/parts/${part.id}`);
  await expectError(again, 404, "not_found", { error: /not found/i });
  await expectError(await call("DELETE", `/api/parts/${part.id}`), 404, "not_found");
  await expectError(await call("PUT", `/api/parts/${part.id}`, { name: "x" }), 404, "not_found");
  for (const action of ["approve", "assign", "unclaim", "complete", "revert"]) {
    const r = await call("POST", `/api/parts/${part.id}/${action}`, { assigned: "Zed" });
    await expectError(r, 404, "not_found");
  }
});

contract("DELETE answers with the documented message", async ({ call }) => {
  const part = await partIn(call, "completed", { assigned: "Eve" });
  const res = await call("DELETE", `/api/parts/${part.id}`);
  const body = await expectOk(res, MessageSchema);
  assert.deepEqual(body, { message: "Part deleted successfully" });
  await expectError(await call("GET", `/api/parts/${part.id}`), 404, "not_found");
  const listed = await expectList(await call("GET", `/api/parts?search=${part.partId}`));
  assert.equal(listed.total, 0);
});

contract("a part created and moved keeps real timestamps", async ({ call }) => {
  const part = await createPart(call, { type: "cnc" });
  await new Promise((r) => setTimeout(r, 5));
  const approved = await act(call, part.id, "approve");
  assert.equal(approved.createdAt, part.createdAt);
  assert.ok(Date.parse(approved.updatedAt) > Date.parse(part.updatedAt));
  assert.match(approved.updatedAt, ISO_Z);
});
