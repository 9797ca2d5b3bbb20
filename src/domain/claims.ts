/**
 * Who may put whose name on a part. With a personal key, a member claims and releases parts
 * only as themselves; leads and admins may act for others, and the event then says for whom.
 * The shared key is the team's own (its frontend sends the name it is told): it may claim for
 * anyone, as before. Pure: no HTTP, no database.
 */
import { type Role, roleAllows } from "./roles.ts";

/** The holder of the key a request carries. */
export interface Claimant {
  /** Null for the shared key. */
  keyId: number | null;
  name: string;
  role: Role;
}

/** One person's name, however it was typed: trimmed, case and Unicode form ignored. */
function normal(name: string): string {
  return name.trim().normalize("NFC").toLowerCase();
}

/** True when two names are the same person's. */
export function samePerson(a: string, b: string): boolean {
  return normal(a) === normal(b);
}

/** True when this key may act for people other than its holder. */
function actsForOthers(who: Claimant): boolean {
  return who.keyId === null || roleAllows(who.role, "lead");
}

export type HolderVerdict =
  | {
    ok: true;
    /** The name to store: the key holder's own spelling when they name themselves. */
    holder: string | null;
    /** Set when a lead or admin acts for someone else with a personal key. */
    onBehalfOf: string | null;
  }
  | { ok: false; message: string; details: string };

/**
 * May `who` change a part's holder from `from` to `to` (null: nobody)? Used by assign (from is
 * the current holder, to the claimant), unclaim (to is null) and edits of `assigned`.
 */
export function checkHolderChange(
  who: Claimant,
  from: string | null,
  to: string | null,
): HolderVerdict {
  const holder = to !== null && who.keyId !== null && samePerson(to, who.name) ? who.name : to;
  if (who.keyId === null) return { ok: true, holder, onBehalfOf: null };
  if (!actsForOthers(who)) {
    if (to !== null && !samePerson(to, who.name)) {
      return {
        ok: false,
        message: `A ${who.role} key claims parts only for its holder (${who.name}), not for ${to}`,
        details: `Claim it as yourself, or ask a lead to assign it to ${to}`,
      };
    }
    if (from !== null && !samePerson(from, who.name)) {
      return {
        ok: false,
        message: `This part is claimed by ${from}: only they or a lead can release or change it`,
        details: `Ask ${from} or a lead to unclaim it`,
      };
    }
    return { ok: true, holder, onBehalfOf: null };
  }
  const person = to ?? from;
  const onBehalfOf = person !== null && !samePerson(person, who.name) ? person : null;
  return { ok: true, holder, onBehalfOf };
}
