/**
 * Acting for others, from outside over HTTP. With a personal member key one claims and releases
 * parts only as oneself (assign, unclaim, and the same through PUT and create): anything else is
 * a 403 that changes nothing and writes no event. Leads and admins may act for others, and the
 * event says who did it (`actor`) and for whom (`onBehalfOf`). The shared SECRET_KEY keeps its
 * old behaviour exactly: the frontend sends the name it is told.
 */
import assert from "node:assert/strict";
import { ErrorSchema } from "../../src/schemas/common.ts";
import { CreatedKeySchema } from "../../src/schemas/keys.ts";
import { HistorySchema } from "../../src/schemas/events.ts";
import { type Part, PartSchema } from "../../src/schemas/parts.ts";
import { api, newPart, type Target, target } from "../helpers.ts";

type Call = ReturnType<typeof api>;

interface People {
  call: Call;
  /** Sends with a personal key. */
  as(key: string): (method: string, path: string, body?: unknown) => Promise<Response>;
  alex: { name: string; key: string };
  sam: { name: string; key: string };
  morgan: { name: string; key: string };
}

async function people(t: Target): Promise<People> {
  const call = api(t);
  const suffix = crypto.randomUUID().slice(0, 6);
  const make = async (first: string, role: string) => {
    const name = `${first} ${suffix}`;
    const res = await call("POST", "/api/keys", { name, role });
    assert.equal(res.status, 201);
    return { name, key: CreatedKeySchema.parse(await res.json()).key };
  };
  return {
    call,
    as: (key) => (method, path, body) => call(method, path, body, { "X-API-Key": key }),
    alex: await make("Alex", "member"),
    sam: await make("Sam", "member"),
    morgan: await make("Morgan", "lead"),
  };
}

async function part(call: Call, path: string): Promise<Part> {
  const res = await call("GET", path);
  assert.equal(res.status, 200);
  return PartSchema.parse(await res.json());
}

/** A CNC part in fabrication, claimed by `holder` through the shared key when given. */
async function cncPart(call: Call, holder?: string): Promise<Part> {
  const created = PartSchema.parse(
    await (await call("POST", "/api/parts", newPart({ type: "cnc" }))).json(),
  );
  assert.equal((await call("POST", `/api/parts/${created.id}/approve`)).status, 200);
  if (holder) {
    const res = await call("POST", `/api/parts/${created.id}/assign`, { assigned: holder });
    assert.equal(res.status, 200, await res.clone().text());
  }
  return await part(call, `/api/parts/${created.id}`);
}

async function events(call: Call, id: number) {
  const res = await call("GET", `/api/parts/${id}/history?limit=500`);
  return HistorySchema.parse(await res.json()).events;
}

/** A 403 naming the problem, after which the part and its history are exactly as before. */
async function refused(p: People, res: Response, before: Part, pattern: RegExp) {
  const text = await res.text();
  assert.equal(res.status, 403, text);
  const body = ErrorSchema.parse(JSON.parse(text));
  assert.equal(body.code, "forbidden");
  assert.match(body.error, pattern);
  assert.ok(body.details);
  assert.deepEqual(await part(p.call, `/api/parts/${before.id}`), before, "nothing changed");
  assert.equal((await events(p.call, before.id)).at(0)?.version, before.version, "no event");
}

Deno.test("a member claims and releases only as themselves", async (t) => {
  const tg = await target();
  try {
    const p = await people(tg);
    const alex = p.as(p.alex.key);

    await t.step("assign in someone else's name: 403, nothing changed", async () => {
      const free = await cncPart(p.call);
      const res = await alex("POST", `/api/parts/${free.id}/assign`, { assigned: p.sam.name });
      await refused(p, res, free, new RegExp(`only for its holder \\(${p.alex.name}\\)`));
    });

    await t.step("assign as oneself, however spelled: stored as the key's name", async () => {
      const free = await cncPart(p.call);
      const res = await alex("POST", `/api/parts/${free.id}/assign`, {
        assigned: `  ${p.alex.name.toUpperCase()} `,
      });
      assert.equal(res.status, 200);
      assert.equal(PartSchema.parse(await res.json()).assigned, p.alex.name);
      const [event] = await events(p.call, free.id);
      assert.equal(event.action, "assigned");
      assert.equal(event.actor, p.alex.name);
      assert.equal(event.onBehalfOf, undefined, "acting for oneself is not acting for others");
    });

    await t.step("unclaim someone else's claim: 403, nothing changed", async () => {
      const held = await cncPart(p.call, p.sam.name);
      const res = await alex("POST", `/api/parts/${held.id}/unclaim`);
      await refused(p, res, held, new RegExp(`claimed by ${p.sam.name}`));
      // Claiming it over Sam's head is the usual conflict, not a takeover.
      const grab = await alex("POST", `/api/parts/${held.id}/assign`);
      assert.equal(grab.status, 409);
      assert.equal(ErrorSchema.parse(await grab.json()).code, "conflict");
    });

    await t.step("unclaim one's own claim", async () => {
      const mine = await cncPart(p.call, p.alex.name);
      const res = await alex("POST", `/api/parts/${mine.id}/unclaim`);
      assert.equal(res.status, 200);
      assert.equal(PartSchema.parse(await res.json()).assigned, null);
    });

    await t.step("the same through PUT: no claiming or releasing for others", async () => {
      const free = await cncPart(p.call);
      await refused(
        p,
        await alex("PUT", `/api/parts/${free.id}`, { assigned: p.sam.name }),
        free,
        /only for its holder/,
      );
      const held = await cncPart(p.call, p.sam.name);
      for (const assigned of [null, "", p.alex.name]) {
        await refused(
          p,
          await alex("PUT", `/api/parts/${held.id}`, { assigned }),
          held,
          new RegExp(`claimed by ${p.sam.name}`),
        );
      }
      // Editing other fields of Sam's part, sending `assigned` back unchanged, is fine.
      const edit = await alex("PUT", `/api/parts/${held.id}`, {
        assigned: p.sam.name,
        notes: "deburr both faces",
      });
      assert.equal(edit.status, 200, await edit.clone().text());
      const edited = PartSchema.parse(await edit.json());
      assert.equal(edited.assigned, p.sam.name);
      assert.equal(edited.notes, "deburr both faces");
    });

    await t.step("creating a part already claimed for someone else: 403, no part", async () => {
      const body = newPart({ assigned: p.sam.name });
      const res = await alex("POST", "/api/parts", body);
      assert.equal(res.status, 403);
      await res.body?.cancel();
      const search = await p.call("GET", `/api/parts?search=${body.partId}`);
      assert.equal((await search.json()).total, 0);
      const own = await alex("POST", "/api/parts", newPart({ assigned: p.alex.name }));
      assert.equal(own.status, 201);
      assert.equal(PartSchema.parse(await own.json()).assigned, p.alex.name);
    });
  } finally {
    tg.close();
  }
});

Deno.test("a lead acts for others, and the event says who did it for whom", async () => {
  const tg = await target();
  try {
    const p = await people(tg);
    const morgan = p.as(p.morgan.key);
    const free = await cncPart(p.call);
    const claim = await morgan("POST", `/api/parts/${free.id}/assign`, { assigned: p.sam.name });
    assert.equal(claim.status, 200);
    assert.equal(PartSchema.parse(await claim.json()).assigned, p.sam.name);
    let [event] = await events(p.call, free.id);
    assert.equal(event.action, "assigned");
    assert.equal(event.actor, p.morgan.name);
    assert.equal(event.onBehalfOf, p.sam.name);
    assert.deepEqual(event.changes?.assigned, { from: null, to: p.sam.name });

    const release = await morgan("POST", `/api/parts/${free.id}/unclaim`);
    assert.equal(release.status, 200);
    [event] = await events(p.call, free.id);
    assert.equal(event.action, "unclaimed");
    assert.equal(event.actor, p.morgan.name);
    assert.equal(event.onBehalfOf, p.sam.name, "whose claim was released");

    const self = await morgan("POST", `/api/parts/${free.id}/assign`);
    assert.equal(self.status, 200);
    [event] = await events(p.call, free.id);
    assert.equal(event.actor, p.morgan.name);
    assert.equal(event.onBehalfOf, undefined);

    // The activity feed carries the same events.
    const feed = await p.call("GET", `/api/activity?part=${free.id}&order=asc`);
    const fed = (await feed.json()).events as Record<string, unknown>[];
    assert.deepEqual(fed.map((e) => e.onBehalfOf ?? null), [
      null,
      null,
      p.sam.name,
      p.sam.name,
      null,
    ]);
  } finally {
    tg.close();
  }
});

Deno.test("the shared key claims and releases for anyone, exactly as before", async () => {
  const tg = await target();
  try {
    const call = api(tg);
    const free = await cncPart(call);
    const claim = await call("POST", `/api/parts/${free.id}/assign`, { assigned: "Sam Rivera" });
    assert.equal(claim.status, 200);
    assert.equal(PartSchema.parse(await claim.json()).assigned, "Sam Rivera");
    const release = await call("POST", `/api/parts/${free.id}/unclaim`, {});
    assert.equal(release.status, 200);
    assert.equal(PartSchema.parse(await release.json()).assigned, null);
    const put = await call("PUT", `/api/parts/${free.id}`, { assigned: "priya" });
    assert.equal(PartSchema.parse(await put.json()).assigned, "priya", "stored as sent");
    const history = await events(call, free.id);
    for (const e of history) {
      assert.equal(e.actor, "shared key");
      assert.ok(!("onBehalfOf" in e), "the event shape is the one old clients know");
    }
    assert.deepEqual(history.map((e) => e.action), [
      "updated",
      "unclaimed",
      "assigned",
      "approved",
      "created",
    ]);
  } finally {
    tg.close();
  }
});
