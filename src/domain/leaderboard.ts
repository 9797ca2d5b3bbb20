/** Credit for completed parts: the holder scores 1, every other hand worker 0.5 per entry. */

export interface Credit {
  assigned: string | null;
  miscInfo: Record<string, unknown> | null;
}

export interface Score {
  name: string;
  score: number;
}

function handWorkerNames(miscInfo: Record<string, unknown> | null): string[] {
  const workers = miscInfo?.handWorkers;
  if (!Array.isArray(workers)) return [];
  const names: string[] = [];
  for (const worker of workers) {
    const name = (worker as { name?: unknown } | null)?.name;
    if (typeof name === "string" && name.trim() !== "") names.push(name.trim());
  }
  return names;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Scores sorted by score (highest first), then name as people read it (case-insensitive). */
export function leaderboard(credits: Iterable<Credit>): Score[] {
  const scores = new Map<string, number>();
  const add = (name: string, points: number) => scores.set(name, (scores.get(name) ?? 0) + points);
  for (const { assigned, miscInfo } of credits) {
    const holder = assigned?.trim() || null;
    if (holder) add(holder, 1);
    for (const name of handWorkerNames(miscInfo)) {
      if (name !== holder) add(name, 0.5);
    }
  }
  return [...scores].map(([name, score]) => ({ name, score }))
    .sort((a, b) =>
      b.score - a.score || byText(a.name.toLowerCase(), b.name.toLowerCase()) ||
      byText(a.name, b.name)
    );
}
