/**
 * Runs the project's pinned wrangler (runtimes/worker, the last release for Node 20) under Node,
 * installing it from its lock file on first use.
 *
 *   deno task wrangler d1 migrations apply DB --remote
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TOOLING = `${ROOT}runtimes/worker`;
const WRANGLER = `${TOOLING}/node_modules/wrangler/bin/wrangler.js`;

/** Installs runtimes/worker's packages (wrangler, workerd) if they are missing. */
export async function ensureWrangler(): Promise<void> {
  if (existsSync(WRANGLER)) return;
  console.log("Installing wrangler into runtimes/worker (npm ci)...");
  const { success } = await new Deno.Command("npm", {
    args: ["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    cwd: TOOLING,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!success) throw new Error("npm ci in runtimes/worker failed");
}

/** Environment for wrangler: no usage metrics (this machine reaches no Cloudflare host). */
export function wranglerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { WRANGLER_SEND_METRICS: "false", ...extra };
}

/** A wrangler command, run by Node from the project root. */
export function wrangler(
  args: string[],
  options: Omit<Deno.CommandOptions, "args" | "cwd"> = {},
): Deno.Command {
  return new Deno.Command("node", {
    ...options,
    args: [WRANGLER, ...args],
    cwd: ROOT,
    env: wranglerEnv(options.env as Record<string, string> | undefined),
  });
}

if (import.meta.main) {
  await ensureWrangler();
  const { code } = await wrangler(Deno.args, {
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  Deno.exit(code);
}
