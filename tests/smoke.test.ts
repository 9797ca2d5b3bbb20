import assert from "node:assert/strict";
import { api, newPart, target } from "./helpers.ts";
import { PartSchema } from "../src/schemas/parts.ts";

Deno.test("a part goes from review to completed", async () => {
  const t = await target();
  try {
    const call = api(t);
    const created = PartSchema.parse(
      await (await call("POST", "/api/parts", newPart({ type: "cnc" }))).json(),
    );
    assert.equal(created.category, "review");
    const approved = PartSchema.parse(
      await (await call("POST", `/api/parts/${created.id}/approve`)).json(),
    );
    assert.equal(approved.category, "cnc");
    const claimed = PartSchema.parse(
      await (await call("POST", `/api/parts/${created.id}/assign`, { assigned: "Alex" })).json(),
    );
    assert.equal(claimed.assigned, "Alex");
    const done = PartSchema.parse(
      await (await call("POST", `/api/parts/${created.id}/complete`, {})).json(),
    );
    assert.equal(done.category, "completed");
    assert.equal(done.status, "Completed");
  } finally {
    t.close();
  }
});
