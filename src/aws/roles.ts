// Which roles the controller may assume: only those its --allowed-role-arns
// flag lists. Nothing in a namespace or an object can add to the list.
import { quote } from "../util/quote.ts";
import { ArnPattern } from "./arn-pattern.ts";

/**
 * A spec.roleArn that no entry of --allowed-role-arns matches. Raised before
 * any AWS call, so a refused role costs nothing and leaks nothing.
 */
export class RoleNotAllowedError extends Error {
  readonly roleArn: string;

  constructor(roleArn: string, allowList: RoleAllowList) {
    super(
      allowList.size === 0
        ? `role ${quote(roleArn)} may not be assumed: no role is allowed until --allowed-role-arns lists it`
        : `role ${quote(roleArn)} may not be assumed: it matches no entry of --allowed-role-arns`,
    );
    this.name = "RoleNotAllowedError";
    this.roleArn = roleArn;
  }
}

/**
 * Exact ARNs or patterns where `*` stands for any run of characters within
 * one segment: it never crosses a `:` or a `/` (see ArnPattern), so
 * `arn:aws:iam::*:role/ldp-*` allows roles named ldp-… in every account, and
 * neither other fields nor roles under a path. The list comes only from the
 * controller's flags; nothing in a namespace or an object can add to it.
 */
export class RoleAllowList {
  readonly #patterns: readonly ArnPattern[];
  readonly entries: readonly string[];

  private constructor(entries: readonly string[]) {
    this.entries = entries;
    this.#patterns = entries.map((entry) => new ArnPattern(entry));
  }

  /** Throws a TypeError naming the first entry that is not a role ARN or pattern. */
  static parse(entries: readonly string[]): RoleAllowList {
    for (const entry of entries) {
      const problem = allowListEntryProblem(entry);
      if (problem) throw new TypeError(`"${entry}" ${problem}`);
    }
    return new RoleAllowList(entries);
  }

  get size(): number {
    return this.entries.length;
  }

  allows(roleArn: string): boolean {
    return this.#patterns.some((p) => p.matches(roleArn));
  }
}

function allowListEntryProblem(entry: string): string | undefined {
  const fields = entry.split(":");
  if (fields.length !== 6 || fields[0] !== "arn" || fields[2] !== "iam" || fields[3] !== "") {
    return "is not an IAM role ARN or pattern such as arn:aws:iam::123456789012:role/name";
  }
  const [, partition = "", , , account = "", resource = ""] = fields;
  if (!/^aws[a-z-]*$/.test(partition)) return `has an unknown partition "${partition}"`;
  if (!/^(\d{12}|\*)$/.test(account)) return "needs a 12-digit account or * in the account field";
  if (!resource.startsWith("role/") || resource === "role/") {
    return 'needs "role/" and a name or pattern in the resource field';
  }
  return undefined;
}
