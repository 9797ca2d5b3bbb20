/**
 * Manage per-person API keys in the configured database (DATABASE_URL). Every change is in the
 * activity feed (kind=key) with the actor "command line (<user>)".
 *
 *   deno task keys create --name "Alex Chen" --role member [--expires 2026-06-30|90d]
 *   deno task keys list
 *   deno task keys update 3 [--role lead] [--name "Alex C."]
 *   deno task keys revoke 3
 */
import { parseArgs } from "node:util";
import { issueKey } from "../src/auth.ts";
import { KeysRepo } from "../src/db/keys-repo.ts";
import { ROLES } from "../src/domain/roles.ts";
import { checkExpiry, toKey } from "../src/routes/keys.ts";
import { KeyCreateInput, KeyUpdateInput } from "../src/schemas/keys.ts";
import { ApiError } from "../src/errors.ts";
import { openConfiguredDatabase } from "./db.ts";

const USAGE = `Usage:
  deno task keys create --name "<holder>" --role <${ROLES.join("|")}> [--expires <when>]
  deno task keys list
  deno task keys update <id> [--role <role>] [--name "<holder>"]
  deno task keys revoke <id>
<when> is an ISO date or time (2026-06-30, 2026-06-30T18:00:00Z) or a span from now (12h, 90d).
Add --json for machine-readable output.`;

function fail(message: string): never {
  console.error(message);
  console.error(USAGE);
  Deno.exit(2);
}

const SPAN_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `--expires`: an ISO date (end of that UTC day), an ISO time, or a span such as 90d. */
function parseExpires(text: string, now: number): string {
  const span = text.match(/^([0-9]{1,5})([hdw])$/);
  if (span) return new Date(now + Number(span[1]) * SPAN_MS[span[2]]).toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return `${text}T23:59:59.999Z`;
  return text;
}

function id(text: string | undefined, command: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) fail(`${command} needs a numeric key id (see \`list\`)`);
  return n;
}

const { positionals, values } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    name: { type: "string" },
    role: { type: "string" },
    expires: { type: "string" },
    json: { type: "boolean" },
  },
});
const [command, ...rest] = positionals;
if (!command || !["create", "list", "update", "revoke"].includes(command)) fail("Unknown command");

const user = Deno.env.get("USER") ?? Deno.env.get("USERNAME");
const actor = { name: user ? `command line (${user})` : "command line" };
const { database } = await openConfiguredDatabase();
const keys = new KeysRepo(database.db);
const show = (row: Parameters<typeof toKey>[0]) =>
  `${row.id} (${row.name}, ${row.role}, ${row.prefix}…)`;
try {
  const now = Date.now();
  if (command === "create") {
    const input = KeyCreateInput.safeParse({
      name: values.name,
      role: values.role,
      expiresAt: values.expires === undefined ? undefined : parseExpires(values.expires, now),
    });
    if (!input.success) fail(input.error.issues.map((i) => i.message).join("; "));
    try {
      checkExpiry(input.data.expiresAt, now);
    } catch (err) {
      fail(err instanceof ApiError ? err.message : String(err));
    }
    const { row, key } = await issueKey(keys, input.data, now, actor);
    if (values.json) console.log(JSON.stringify({ ...toKey(row), key }));
    else {
      const until = row.expiresAt === null ? "" : `, valid until ${toKey(row).expiresAt}`;
      console.log(`Created key ${show(row)} for ${row.name}${until}.`);
      console.log(`Key (shown only now): ${key}`);
    }
  } else if (command === "list") {
    const rows = (await keys.list()).map(toKey);
    if (values.json) console.log(JSON.stringify(rows));
    else if (rows.length === 0) console.log("No keys yet.");
    else {
      console.table(rows.map((k) => ({
        id: k.id,
        name: k.name,
        role: k.role,
        prefix: k.prefix,
        created: k.createdAt,
        lastUsed: k.lastUsedAt ?? "never",
        expires: k.expiresAt ?? "never",
        revoked: k.revokedAt ?? "",
      })));
    }
  } else if (command === "update") {
    const keyId = id(rest[0], "update");
    const input = KeyUpdateInput.safeParse({ name: values.name, role: values.role });
    if (!input.success) fail(input.error.issues.map((i) => i.message).join("; "));
    const result = await keys.update(keyId, input.data, now, actor);
    if (!result) fail(`No key with id ${keyId}`);
    if (result.revoked) fail(`Key ${show(result.row)} is revoked; create a new key instead`);
    if (values.json) console.log(JSON.stringify(toKey(result.row)));
    else if (!result.changed) console.log(`Key ${show(result.row)} already was like that.`);
    else {
      console.log(`Key ${show(result.row)} is updated; its open live streams end within seconds.`);
    }
  } else {
    const keyId = id(rest[0], "revoke");
    const row = await keys.revoke(keyId, now, actor);
    if (!row) fail(`No key with id ${keyId}`);
    if (values.json) console.log(JSON.stringify(toKey(row)));
    else console.log(`Key ${show(row)} is revoked.`);
  }
} finally {
  database.close();
}
