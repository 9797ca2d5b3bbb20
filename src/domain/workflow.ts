/**
 * The fabrication workflow: which action is allowed from which stage and what it changes.
 * Pure: no HTTP, no database. Routes apply the returned patch with a compare-and-set write.
 */

export const CATEGORIES = ["review", "cnc", "hand", "completed"] as const;
export type Category = (typeof CATEGORIES)[number];

export const PART_TYPES = ["cnc", "hand"] as const;
export type PartType = (typeof PART_TYPES)[number];

export const STATUSES = [
  "Pending",
  "Reviewed",
  "In Progress",
  "Already Started",
  "Completed",
] as const;
export type Status = (typeof STATUSES)[number];

export const ACTIONS = ["approve", "assign", "unclaim", "complete", "revert"] as const;
export type Action = (typeof ACTIONS)[number];

/** What the event log records for each kind of change. */
export const EVENT_ACTIONS = [
  "created",
  "updated",
  "approved",
  "assigned",
  "unclaimed",
  "completed",
  "reverted",
  "deleted",
  "file_uploaded",
] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];

export type MiscInfo = Record<string, unknown>;

/** The workflow-relevant fields of a part. */
export interface PartState {
  category: Category;
  type: PartType | null;
  status: Status;
  assigned: string | null;
  claimedDate: number | null;
  miscInfo: MiscInfo | null;
}

export interface ActionInput {
  /** Merged into miscInfo by approve and complete. */
  miscInfo?: MiscInfo | null;
  /** Recorded as miscInfo.reviewer by approve. */
  reviewer?: string | null;
  /** The person claiming the part (assign). */
  assigned?: string | null;
}

export type Outcome =
  | { kind: "change"; patch: Partial<PartState> }
  | { kind: "unchanged" }
  | { kind: "rejected"; code: "invalid_transition" | "conflict"; message: string };

/** The stages each action may start from. */
export const ALLOWED_FROM: Record<Action, readonly Category[]> = {
  approve: ["review"],
  assign: ["cnc", "hand"],
  unclaim: ["cnc", "hand"],
  complete: ["cnc", "hand"],
  revert: ["completed"],
};

/** The fabrication stage a part of this type belongs in (no type means hand work). */
export function fabricationStage(type: PartType | null): "cnc" | "hand" {
  return type === "cnc" ? "cnc" : "hand";
}

function mergeMisc(base: MiscInfo | null, extra: MiscInfo | null | undefined): MiscInfo | null {
  if (!extra || Object.keys(extra).length === 0) return base;
  return { ...(base ?? {}), ...extra };
}

/** Returns miscInfo with `{name, timestamp}` appended to `handWorkers`. */
export function withHandWorker(misc: MiscInfo | null, name: string, now: number): MiscInfo {
  const current = misc?.handWorkers;
  const workers = Array.isArray(current) ? current : [];
  return {
    ...(misc ?? {}),
    handWorkers: [...workers, { name, timestamp: new Date(now).toISOString() }],
  };
}

const STAGE_WORDS: Record<Action, string> = {
  approve: "in review",
  assign: "in CNC or hand fabrication",
  unclaim: "in CNC or hand fabrication",
  complete: "in CNC or hand fabrication",
  revert: "completed",
};

const PAST: Record<Action, string> = {
  approve: "approved",
  assign: "assigned",
  unclaim: "unclaimed",
  complete: "completed",
  revert: "reverted",
};

function rejectStage(action: Action, category: Category): Outcome {
  return {
    kind: "rejected",
    code: "invalid_transition",
    message: `Cannot ${action} a part in stage '${category}': only parts ${
      STAGE_WORDS[action]
    } can be ${PAST[action]}`,
  };
}

/** Decides what `action` does to a part in `state`, at time `now` (ms since epoch). */
export function decide(
  action: Action,
  state: PartState,
  input: ActionInput,
  now: number,
): Outcome {
  // Completing a completed part already holds: a repeat is harmless.
  if (action === "complete" && state.category === "completed") return { kind: "unchanged" };
  if (!ALLOWED_FROM[action].includes(state.category)) return rejectStage(action, state.category);

  switch (action) {
    case "approve": {
      let misc = mergeMisc(state.miscInfo, input.miscInfo);
      if (input.reviewer) misc = { ...(misc ?? {}), reviewer: input.reviewer };
      return {
        kind: "change",
        patch: { category: fabricationStage(state.type), status: "Reviewed", miscInfo: misc },
      };
    }
    case "assign": {
      const name = input.assigned?.trim();
      if (!name) throw new Error("assign requires a name; validate input before deciding");
      if (state.assigned === name) return { kind: "unchanged" };
      if (state.assigned !== null) {
        return {
          kind: "rejected",
          code: "conflict",
          message: `Part is already claimed by ${state.assigned}; unclaim it first`,
        };
      }
      return {
        kind: "change",
        patch: {
          assigned: name,
          status: "In Progress",
          claimedDate: now,
          ...(state.category === "hand"
            ? { miscInfo: withHandWorker(state.miscInfo, name, now) }
            : {}),
        },
      };
    }
    case "unclaim": {
      if (state.assigned === null) return { kind: "unchanged" };
      return {
        kind: "change",
        patch: {
          assigned: null,
          claimedDate: null,
          status: state.status === "In Progress" ? "Already Started" : "Pending",
        },
      };
    }
    case "complete":
      return {
        kind: "change",
        patch: {
          category: "completed",
          status: "Completed",
          miscInfo: mergeMisc(state.miscInfo, input.miscInfo),
        },
      };
    case "revert":
      return {
        kind: "change",
        patch: { category: fabricationStage(state.type), status: "In Progress" },
      };
  }
}

/** Editable fields a PUT may carry (category is never editable). */
export interface PartEdit {
  partId?: string;
  name?: string | null;
  type?: PartType | null;
  material?: string;
  subsystem?: string;
  amount?: number;
  assigned?: string | null;
  status?: Status;
  notes?: string | null;
  file?: string | null;
  onshapeUrl?: string | null;
  claimedDate?: number | null;
  miscInfo?: MiscInfo | null;
}

/**
 * Applies the stage rules of an edit: a type change moves a part in fabrication to the
 * matching stage, and a new holder of a hand part is recorded in handWorkers.
 */
export function planEdit(
  state: PartState,
  edit: PartEdit,
  now: number,
): PartEdit & { category?: Category } {
  const patch: PartEdit & { category?: Category } = { ...edit };
  if ("type" in edit && (state.category === "cnc" || state.category === "hand")) {
    const stage = fabricationStage(edit.type ?? null);
    if (stage !== state.category) patch.category = stage;
  }
  const category = patch.category ?? state.category;
  if (
    edit.assigned && edit.assigned !== state.assigned && category === "hand"
  ) {
    const base = "miscInfo" in edit ? edit.miscInfo ?? null : state.miscInfo;
    patch.miscInfo = withHandWorker(base, edit.assigned, now);
  }
  return patch;
}
