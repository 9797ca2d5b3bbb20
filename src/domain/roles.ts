/** Who may do what. Roles are ordered: each one may do everything the previous may. */

export const ROLES = ["viewer", "member", "lead", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** True when `held` is at least `needed`. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** What each role adds, for documentation and error messages. */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: "read parts, lists, stats and the leaderboard",
  member: "also create and edit parts, claim, unclaim and complete",
  lead: "also approve, revert and delete parts",
  admin: "also create, list and revoke API keys",
};
