/** Who may put whose name on a part (src/domain/claims.ts), table-driven. */
import assert from "node:assert/strict";
import { checkHolderChange, type Claimant, samePerson } from "../../src/domain/claims.ts";

const SHARED: Claimant = { keyId: null, name: "shared key", role: "admin" };
const ALEX: Claimant = { keyId: 1, name: "Alex Chen", role: "member" };
const MORGAN: Claimant = { keyId: 2, name: "Morgan Lee", role: "lead" };
const ADMIN: Claimant = { keyId: 3, name: "Pat Admin", role: "admin" };

Deno.test("same person: trimmed, case and Unicode form ignored", () => {
  assert.ok(samePerson("Alex Chen", "  alex chen "));
  assert.ok(samePerson("Zoë", "Zoe\u0308"));
  assert.ok(!samePerson("Alex Chen", "Alex Cheng"));
});

Deno.test("holder changes: who may, the name stored, and for whom", () => {
  type Row = [Claimant, string | null, string | null, string | null | "denied", string | null];
  // who, from, to → stored holder (or denied), onBehalfOf
  const table: Row[] = [
    // The shared key: anything, as before, never "on behalf of".
    [SHARED, null, "Sam", "Sam", null],
    [SHARED, "Sam", null, null, null],
    [SHARED, "Sam", "Priya", "Priya", null],
    // A member: only themselves, stored in the key's own spelling.
    [ALEX, null, "Alex Chen", "Alex Chen", null],
    [ALEX, null, " alex chen", "Alex Chen", null],
    [ALEX, null, "Sam", "denied", null],
    [ALEX, "Alex Chen", null, null, null],
    [ALEX, "Sam", null, "denied", null],
    [ALEX, "Sam", "Alex Chen", "denied", null],
    [ALEX, "Alex Chen", "Sam", "denied", null],
    // Leads and admins: for anyone; the event names the other person.
    [MORGAN, null, "Sam", "Sam", "Sam"],
    [MORGAN, null, "morgan lee", "Morgan Lee", null],
    [MORGAN, "Sam", null, null, "Sam"],
    [MORGAN, "Morgan Lee", null, null, null],
    [MORGAN, "Sam", "Priya", "Priya", "Priya"],
    [ADMIN, "Sam", null, null, "Sam"],
  ];
  for (const [who, from, to, holder, onBehalfOf] of table) {
    const label = `${who.name}: ${from} → ${to}`;
    const verdict = checkHolderChange(who, from, to);
    if (holder === "denied") {
      assert.equal(verdict.ok, false, label);
      if (!verdict.ok) {
        assert.ok(verdict.message.length > 0 && verdict.details.length > 0, label);
      }
      continue;
    }
    assert.deepEqual(verdict, { ok: true, holder, onBehalfOf }, label);
  }
});

Deno.test("holder changes: the refusal names who holds the part or who was named", () => {
  const claimFor = checkHolderChange(ALEX, null, "Sam");
  assert.ok(!claimFor.ok);
  assert.match(claimFor.message, /only for its holder \(Alex Chen\), not for Sam/);
  const release = checkHolderChange(ALEX, "Sam", null);
  assert.ok(!release.ok);
  assert.match(release.message, /claimed by Sam/);
});
