/** Who may do what. Roles are ordered: each one may do everything the previous may. */

export const ROLES = ["viewer", "member", "lead", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** True when `held` is at least `needed`. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}
