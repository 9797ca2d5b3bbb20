/** Realistic parts for load tests: a build season's worth, spread over every stage. */
import type { NewPartRow } from "../../src/db/schema.ts";

const SUBSYSTEMS = [
  ["DT", "Drivetrain"],
  ["IN", "Intake"],
  ["EL", "Elevator"],
  ["SH", "Shooter"],
  ["CL", "Climber"],
  ["AR", "Arm"],
  ["BM", "Bumpers"],
  ["EE", "End effector"],
] as const;
const THINGS = [
  "bracket",
  "plate",
  "spacer",
  "gusset",
  "shaft",
  "standoff",
  "mount",
  "hook",
  "roller",
  "pulley",
  "bearing block",
  "side plate",
  "tube",
];
const MATERIALS = [
  "6061-T6 aluminum, 1/4in plate",
  "6061-T6 aluminum, 1/8in plate",
  "Polycarbonate, 1/8in sheet",
  "Delrin rod, 1in",
  "1/2in hex shaft, steel",
  "1x1in aluminum box tube",
  "2x1in aluminum box tube",
  "7075 aluminum, 1/2in plate",
];
const PEOPLE = ["Alex Chen", "Sam Rivera", "Priya Shah", "Jordan Lee", "Maya Brooks", "Eli Park"];

/**
 * Words used by the search benchmark. Each appears in the notes of about 1 part in 10, so a
 * search for one of them matches 5–20 % of rows.
 */
export const SEARCH_WORDS = ["deburr", "anodize", "countersink", "chamfer", "tolerance"];

/** A deterministic pseudo-random generator, so every run seeds the same data. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` parts: ~20 % review, 30 % cnc, 30 % hand, 20 % completed. */
export function benchParts(n: number, now: number, seed = 3322): NewPartRow[] {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const rows: NewPartRow[] = [];
  for (let i = 0; i < n; i++) {
    const [code, subsystem] = pick(SUBSYSTEMS);
    const r = random();
    const category = r < 0.2 ? "review" : r < 0.5 ? "cnc" : r < 0.8 ? "hand" : "completed";
    const type = category === "cnc" ? "cnc" : category === "hand" ? "hand" : pick(["cnc", "hand"]);
    const notes = SEARCH_WORDS.filter(() => random() < 0.1);
    const held = category === "completed" || (category !== "review" && random() < 0.3);
    const person = pick(PEOPLE);
    const created = now - Math.floor(random() * 60 * 86_400_000);
    rows.push({
      partId: `3322-${code}-${String(i + 1).padStart(5, "0")}`,
      name: `${subsystem} ${pick(THINGS)} ${i + 1}`,
      type: type as "cnc" | "hand",
      material: pick(MATERIALS),
      subsystem,
      amount: 1 + Math.floor(random() * 8),
      category,
      status: category === "review"
        ? "Pending"
        : category === "completed"
        ? "Completed"
        : held
        ? "In Progress"
        : "Reviewed",
      assigned: held ? person : null,
      claimedDate: held ? created + 86_400_000 : null,
      notes: notes.length ? `Before assembly: ${notes.join(", ")}.` : null,
      miscInfo: category === "hand" && held
        ? { handWorkers: [{ name: person, timestamp: new Date(created).toISOString() }] }
        : null,
      createdAt: created,
      updatedAt: created,
    });
  }
  return rows;
}
