/** Who may do what. Roles are ordered: each one may do everything the previous may. */

export const ROLES = ["viewer", "member", "lead", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** True when `held` is at least `needed`. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** What the event log records about keys. */
export const KEY_EVENT_ACTIONS = [
  "key_created",
  "key_revoked",
  "key_role_changed",
  "key_renamed",
] as const;
export type KeyEventAction = (typeof KEY_EVENT_ACTIONS)[number];
