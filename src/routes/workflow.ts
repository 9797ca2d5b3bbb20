import { createRoute, z } from "@hono/zod-openapi";
import type { App, RouteContext } from "../context.ts";
import { partEtag, toPart } from "../db/parts-repo.ts";
import { ifMatch } from "./conditional.ts";
import { checkHolderChange, type HolderVerdict } from "../domain/claims.ts";
import { type Action, type ActionInput, decide, type EventAction } from "../domain/workflow.ts";
import { ApiError } from "../errors.ts";
import type { Role } from "../domain/roles.ts";
import { errors, IdParams, jsonResponse } from "../schemas/common.ts";
import {
  ApproveInput,
  AssignInput,
  CompleteInput,
  MAX_MISC_BYTES,
  MISC_TOO_LARGE,
  miscInfoBytes,
  PartSchema,
} from "../schemas/parts.ts";
import { access } from "./access.ts";

const EmptyInput = z.object({}).openapi("EmptyBody");

const ACTION_DOCS: Record<Action, { summary: string; body: z.ZodType; required: boolean }> = {
  approve: {
    summary: "Approve a part in review into CNC or hand fabrication (by its type)",
    body: ApproveInput,
    required: false,
  },
  assign: {
    summary: "Claim a part in fabrication for a person (a member's personal key: only for " +
      "its holder)",
    body: AssignInput,
    required: false,
  },
  unclaim: {
    summary: "Release a claimed part (a member's personal key: only its holder's own claim)",
    body: EmptyInput,
    required: false,
  },
  complete: {
    summary: "Mark a part in fabrication as completed",
    body: CompleteInput,
    required: false,
  },
  revert: {
    summary: "Send a completed part back to fabrication",
    body: EmptyInput,
    required: false,
  },
};

const ACTION_ROLES: Record<Action, Role> = {
  approve: "lead",
  assign: "member",
  unclaim: "member",
  complete: "member",
  revert: "lead",
};

const EVENT_OF: Record<Action, EventAction> = {
  approve: "approved",
  assign: "assigned",
  unclaim: "unclaimed",
  complete: "completed",
  revert: "reverted",
};

function actionRoute(action: Action) {
  const doc = ACTION_DOCS[action];
  return createRoute({
    method: "post",
    path: `/api/parts/{id}/${action}`,
    operationId: `${action}Part`,
    summary: doc.summary,
    tags: ["Workflow"],
    ...access(ACTION_ROLES[action]),
    request: {
      params: IdParams,
      body: { content: { "application/json": { schema: doc.body } }, required: doc.required },
    },
    responses: {
      200: jsonResponse(PartSchema, "The part after the action (unchanged if it already held)"),
      400: errors[400],
      401: errors[401],
      403: errors[403],
      404: errors[404],
      409: errors[409],
      413: errors[413],
      415: errors[415],
    },
  });
}

/** A 403 for a holder change the key may not make; nothing has been written. */
export function holderForbidden(verdict: Extract<HolderVerdict, { ok: false }>): ApiError {
  return new ApiError("forbidden", verdict.message, {
    details: verdict.details,
    requiredRole: "lead",
  });
}

/** The five workflow actions; each is one compare-and-set write decided by the domain. */
export function registerWorkflowRoutes(app: App, ctx: RouteContext): void {
  for (const action of ["approve", "assign", "unclaim", "complete", "revert"] as const) {
    app.openapi(actionRoute(action), async (c) => {
      const id = Number(c.req.valid("param").id);
      const input = { ...(c.req.valid("json") as ActionInput) };
      const principal = c.get("principal");
      let onBehalfOf: string | null = null;
      if (action === "assign" && !input.assigned) {
        // A personal key claims for its holder; the shared key must say who.
        if (principal.keyId === null) {
          throw new ApiError("validation_failed", "Assigned is required", {
            field: "assigned",
            issues: [{ path: "assigned", message: "Assigned is required" }],
          });
        }
        input.assigned = principal.name;
      } else if (action === "assign") {
        // Decided on the input alone, before the part is read: nothing is written on a 403.
        const verdict = checkHolderChange(principal, null, input.assigned!.trim());
        if (!verdict.ok) throw holderForbidden(verdict);
        input.assigned = verdict.holder;
        onBehalfOf = verdict.onBehalfOf;
      }
      const checkVersion = ifMatch(c);
      const result = await ctx.repo.mutate(
        id,
        (row) => {
          checkVersion?.(row);
          const outcome = decide(action, row, input, ctx.now());
          if (outcome.kind === "rejected") {
            throw new ApiError(outcome.code, outcome.message, {
              category: row.category,
              ...(outcome.code === "conflict" ? { assigned: row.assigned } : {}),
            });
          }
          if (outcome.kind === "change" && (input.miscInfo || input.reviewer)) {
            // What the client merges in may not push the stored miscInfo past its limit.
            const merged = miscInfoBytes(outcome.patch.miscInfo ?? null);
            if (merged > MAX_MISC_BYTES && merged > miscInfoBytes(row.miscInfo)) {
              throw new ApiError("validation_failed", `${MISC_TOO_LARGE} (after merging)`, {
                field: "miscInfo",
                issues: [{ path: "miscInfo", message: `${MISC_TOO_LARGE} (after merging)` }],
              });
            }
          }
          if (outcome.kind === "unchanged") return null;
          if (action === "unclaim") {
            // Whose claim this releases is known only now, from the row being changed.
            const verdict = checkHolderChange(principal, row.assigned, null);
            if (!verdict.ok) throw holderForbidden(verdict);
            return { patch: outcome.patch, action: "unclaimed", onBehalfOf: verdict.onBehalfOf };
          }
          return { patch: outcome.patch, action: EVENT_OF[action], onBehalfOf };
        },
        ctx.now,
        { name: principal.name },
      );
      if (!result) throw new ApiError("not_found", "Part not found");
      c.header("ETag", partEtag(result.row));
      return c.json(toPart(result.row), 200);
    });
  }
}
