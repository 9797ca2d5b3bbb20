import { requireRole } from "../auth.ts";
import type { Role } from "../domain/roles.ts";

/** Security requirement shared by every key-protected route. */
export const keyAuth: Record<string, string[]>[] = [{ ApiKeyAuth: [] }, { BearerAuth: [] }];

/** Route options for a protected route: the key requirement, the role check and its docs. */
export function access(role: Role) {
  return {
    security: keyAuth,
    middleware: [requireRole(role)],
    description: `Requires a key with the **${role}** role or higher.`,
    "x-required-role": role,
  };
}
