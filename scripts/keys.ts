/**
 * Manage per-person API keys in the configured database (DATABASE_URL).
 *
 *   deno task keys create --name "Alex Chen" --role member
 *   deno task keys list
 *   deno task keys revoke 3
 */
import { parseArgs } from "node:util";
import { issueKey } from "../src/auth.ts";
import { KeysRepo } from "../src/db/keys-repo.ts";
import { ROLES } from "../src/domain/roles.ts";
import { toKey } from "../src/routes/keys.ts";
import { KeyCreateInput } from "../src/schemas/keys.ts";
import { openConfiguredDatabase } from "./db.ts";

const USAGE = `Usage:
  deno task keys create --name "<holder>" --role <${ROLES.join("|")}>
  deno task keys list
  deno task keys revoke <id>`;

function fail(message: string): never {
  console.error(message);
  console.error(USAGE);
  Deno.exit(2);
}

const { positionals, values } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { name: { type: "string" }, role: { type: "string" }, json: { type: "boolean" } },
});
const [command, ...rest] = positionals;
if (!command || !["create", "list", "revoke"].includes(command)) fail("Unknown command");

const { database } = await openConfiguredDatabase();
const keys = new KeysRepo(database.db);
try {
  if (command === "create") {
    const input = KeyCreateInput.safeParse({ name: values.name, role: values.role });
    if (!input.success) fail(input.error.issues.map((i) => i.message).join("; "));
    const { row, key } = await issueKey(keys, input.data.name, input.data.role, Date.now());
    if (values.json) console.log(JSON.stringify({ ...toKey(row), key }));
    else {
      console.log(`Created key ${row.id} for ${row.name} (${row.role}).`);
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
        revoked: k.revokedAt ?? "",
      })));
    }
  } else {
    const id = Number(rest[0]);
    if (!Number.isInteger(id) || id <= 0) fail("revoke needs a numeric key id (see `list`)");
    const row = await keys.revoke(id, Date.now());
    if (!row) fail(`No key with id ${id}`);
    if (values.json) console.log(JSON.stringify(toKey(row)));
    else console.log(`Key ${row.id} (${row.name}, ${row.prefix}…) is revoked.`);
  }
} finally {
  database.close();
}
