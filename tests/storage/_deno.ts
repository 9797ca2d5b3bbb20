/** Registers the shared contract with `deno test`, one test per case. */
import { CONTRACT, type OpenStore, runCase } from "./contract.ts";

export interface ContractTestOptions extends Omit<Deno.TestDefinition, "name" | "fn"> {
  /** Cases this backend cannot pass, reported as ignored (say why where the list is made). */
  skip?: string[];
}

/** One Deno test per contract case, named `<label>: <case>`. */
export function contractTests(
  label: string,
  open: OpenStore,
  { skip = [], ...options }: ContractTestOptions = {},
): void {
  for (const name of skip) {
    if (!CONTRACT.some((item) => item.name === name)) throw new Error(`no contract case "${name}"`);
  }
  for (const item of CONTRACT) {
    Deno.test({
      ...options,
      name: `${label}: ${item.name}`,
      ignore: options.ignore || skip.includes(item.name),
      fn: () => runCase(item, open),
    });
  }
}
