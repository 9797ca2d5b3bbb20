import type { NewPartRow } from "./schema.ts";
import type { PartsRepo } from "./parts-repo.ts";
import type { FilesService } from "../files/service.ts";

const HOUR = 3_600_000;

/** The sample part that comes with a 3D model, so its CNC card shows a preview. */
const SAMPLE_MODEL = "DT-001_swerve_bracket.stl";
const DAY = 24 * HOUR;

type Sample = Omit<NewPartRow, "createdAt" | "updatedAt"> & { ageHours: number };

/** A season's worth of parts in every stage, as a team might have them mid-build. */
function samples(now: number): Sample[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  return [
    {
      partId: "3322-DT-001",
      name: "Swerve module bracket",
      type: "cnc",
      material: "6061-T6 aluminum, 1/4in plate",
      subsystem: "Drivetrain",
      amount: 4,
      notes: "Check bearing bore against the MK4i drawing before approving.",
      onshapeUrl: "https://cad.onshape.com/documents/0a1b2c3d4e5f60718293a4b5",
      file: SAMPLE_MODEL,
      ageHours: 30,
    },
    {
      partId: "3322-EL-004",
      name: "Elevator carriage plate",
      type: "cnc",
      material: "6061-T6 aluminum, 3/16in plate",
      subsystem: "Elevator",
      amount: 2,
      notes: "Pocketing can be skipped if the router is busy.",
      ageHours: 26,
    },
    {
      partId: "3322-IN-010",
      name: "Intake roller spacer",
      type: "hand",
      material: "Delrin rod, 1in",
      subsystem: "Intake",
      amount: 8,
      notes: "Lathe to 0.500in bore, face both sides.",
      ageHours: 20,
    },
    {
      partId: "3322-CL-002",
      name: "Climber hook",
      type: null,
      material: "7075 aluminum, 1/2in plate",
      subsystem: "Climber",
      amount: 2,
      ageHours: 4,
    },
    {
      partId: "3322-DT-003",
      name: "Bellypan",
      type: "cnc",
      material: "Polycarbonate, 1/8in sheet",
      subsystem: "Drivetrain",
      amount: 1,
      category: "cnc",
      status: "Reviewed",
      miscInfo: { reviewer: "Ms. Patel" },
      ageHours: 72,
    },
    {
      partId: "3322-SH-006",
      name: "Shooter side plate",
      type: "cnc",
      material: "6061-T6 aluminum, 1/4in plate",
      subsystem: "Shooter",
      amount: 2,
      category: "cnc",
      status: "In Progress",
      assigned: "Jordan Lee",
      claimedDate: now - 3 * HOUR,
      miscInfo: { reviewer: "Mr. Okafor", storage: "Bin C3" },
      ageHours: 60,
    },
    {
      partId: "3322-EL-007",
      name: "Elevator tube stop",
      type: "hand",
      material: "1x1in aluminum box tube, 1/16in wall",
      subsystem: "Elevator",
      amount: 4,
      category: "hand",
      status: "Reviewed",
      miscInfo: { reviewer: "Ms. Patel" },
      ageHours: 50,
    },
    {
      partId: "3322-IN-012",
      name: "Intake pivot shaft",
      type: "hand",
      material: "1/2in hex shaft, steel",
      subsystem: "Intake",
      amount: 1,
      category: "hand",
      status: "In Progress",
      assigned: "Sam Rivera",
      claimedDate: now - 2 * HOUR,
      miscInfo: {
        reviewer: "Mr. Okafor",
        handWorkers: [{ name: "Sam Rivera", timestamp: iso(now - 2 * HOUR) }],
      },
      notes: "Cut to 11.25in, drill and tap both ends 10-32.",
      ageHours: 48,
    },
    {
      partId: "3322-SH-009",
      name: "Shooter hood gusset",
      type: "hand",
      material: "6061 aluminum, 1/8in sheet",
      subsystem: "Shooter",
      amount: 6,
      category: "hand",
      status: "Already Started",
      miscInfo: {
        reviewer: "Ms. Patel",
        handWorkers: [{ name: "Priya Shah", timestamp: iso(now - DAY) }],
      },
      notes: "Three of six done; deburr before bending.",
      ageHours: 40,
    },
    {
      partId: "3322-DT-002",
      name: "Gearbox spacer plate",
      type: "cnc",
      material: "6061-T6 aluminum, 1/4in plate",
      subsystem: "Drivetrain",
      amount: 2,
      category: "completed",
      status: "Completed",
      assigned: "Jordan Lee",
      claimedDate: now - 3 * DAY,
      miscInfo: { reviewer: "Mr. Okafor", storage: "Shelf A1" },
      ageHours: 120,
    },
    {
      partId: "3322-EL-001",
      name: "Elevator belt clamp",
      type: "hand",
      material: "Polycarbonate, 1/4in",
      subsystem: "Elevator",
      amount: 2,
      category: "completed",
      status: "Completed",
      assigned: "Priya Shah",
      claimedDate: now - 2 * DAY,
      miscInfo: {
        reviewer: "Ms. Patel",
        handWorkers: [
          { name: "Alex Chen", timestamp: iso(now - 3 * DAY) },
          { name: "Priya Shah", timestamp: iso(now - 2 * DAY) },
        ],
      },
      ageHours: 110,
    },
    {
      partId: "3322-BM-001",
      name: "Bumper mounting bracket",
      type: "hand",
      material: "1/8in steel angle",
      subsystem: "Bumpers",
      amount: 4,
      category: "completed",
      status: "Completed",
      assigned: "Alex Chen",
      claimedDate: now - 4 * DAY,
      miscInfo: {
        handWorkers: [{ name: "Alex Chen", timestamp: iso(now - 4 * DAY) }],
        storage: "Bumper cart",
      },
      ageHours: 150,
    },
  ];
}

/** Inserts the sample parts if the database has no parts; returns how many were added. */
export async function seedSampleParts(repo: PartsRepo, now: number): Promise<number> {
  if (await repo.count() > 0) return 0;
  const rows = samples(now).map(({ ageHours, ...part }): NewPartRow => ({
    ...part,
    createdAt: now - ageHours * HOUR,
    updatedAt: now - Math.floor(ageHours / 2) * HOUR,
  }));
  await repo.insertMany(rows, { name: "sample data" });
  return rows.length;
}

/** Axis-aligned boxes as binary STL triangles (millimetres), outward normals. */
function boxesStl(boxes: [number, number, number, number, number, number][]): Uint8Array {
  const faces: number[][] = [];
  for (const [x0, y0, z0, x1, y1, z1] of boxes) {
    const v = (i: number) => [i & 1 ? x1 : x0, i & 2 ? y1 : y0, i & 4 ? z1 : z0];
    // Each side as two triangles, corners listed counter-clockwise seen from outside.
    const sides: [number[], number, number, number, number][] = [
      [[0, 0, -1], 0, 2, 3, 1],
      [[0, 0, 1], 4, 5, 7, 6],
      [[0, -1, 0], 0, 1, 5, 4],
      [[0, 1, 0], 2, 6, 7, 3],
      [[-1, 0, 0], 0, 4, 6, 2],
      [[1, 0, 0], 1, 3, 7, 5],
    ];
    for (const [n, a, b, c, d] of sides) {
      faces.push([...n, ...v(a), ...v(b), ...v(c)], [...n, ...v(a), ...v(c), ...v(d)]);
    }
  }
  const bytes = new Uint8Array(84 + 50 * faces.length);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode("3322 sample swerve module bracket"));
  view.setUint32(80, faces.length, true);
  faces.forEach((f, i) => f.forEach((x, j) => view.setFloat32(84 + 50 * i + 4 * j, x, true)));
  return bytes;
}

/** Gives the sample bracket its STL model (an L-bracket with a gusset) as revision 1. */
export async function seedSampleFiles(repo: PartsRepo, files: FilesService): Promise<void> {
  const list = JSON.parse(
    (await repo.listJson({
      search: "3322-DT-001",
      sortField: "createdAt",
      sortOrder: "asc",
      offset: 0,
    })).json,
  ) as { id: number; file: string | null }[];
  const part = list.find((p) => p.file === SAMPLE_MODEL);
  if (!part) return;
  const stl = boxesStl([
    [0, 0, 0, 100, 60, 6],
    [0, 0, 6, 100, 6, 56],
    [47, 6, 6, 53, 40, 40],
  ]);
  await files.upload(part.id, "file", {
    filename: SAMPLE_MODEL,
    kind: "stl",
    contentType: "model/stl",
    content: [stl],
  }, "sample data");
}
