// Who a policy lets in, in the terms a reviewer thinks in: accounts, organizations,
// other principals, or everyone. Read from the Allow statements only: a Deny can
// take access away under conditions no static reading can settle, so Deny
// statements show up as statement changes instead. Actions are not looked at:
// any Allow counts as access, which errs on the side of showing too much.

import { normalizeStatement, statementList } from "./canonical.ts";
import { findPublicStatements } from "./public-access.ts";
import type { NormalizedPrincipal, PolicyDocumentInput } from "./types.ts";

export const GRANTEE_KINDS = [
  "everyone",
  "organization",
  "organization-path",
  "account",
  "principal",
  "service",
] as const;

export type GranteeKind = (typeof GRANTEE_KINDS)[number];

export interface Grantee {
  kind: GranteeKind;
  /** The account ID, organization ID, path, ARN or service name; "*" for everyone. */
  id: string;
}

export interface AccessChange {
  gained: Grantee[];
  lost: Grantee[];
}

const ACCOUNT_ID = /^\d{12}$/;

// The condition keys that narrow an open principal (see public-access.ts), by what they name.
const NARROWING_KINDS = new Map<string, GranteeKind>([
  ["aws:principalorgid", "organization"],
  ["aws:sourceorgid", "organization"],
  ["aws:principalorgpaths", "organization-path"],
  ["aws:principalaccount", "account"],
  ["aws:sourceaccount", "account"],
]);
const POSITIVE_OPERATORS = new Set(["stringequals", "stringequalsignorecase", "stringlike"]);

function isOpen(principal: NormalizedPrincipal | undefined): boolean {
  return principal === "*" || (principal?.AWS?.includes("*") ?? false);
}

function named(principal: NormalizedPrincipal | undefined): Grantee[] {
  if (principal === undefined || principal === "*") return [];
  const found: Grantee[] = [];
  for (const [type, values] of Object.entries(principal)) {
    for (const value of values) {
      if (value === "*") continue; // an open principal, handled with its conditions
      if (type === "AWS") {
        found.push({ kind: ACCOUNT_ID.test(value) ? "account" : "principal", id: value });
      } else if (type === "Service") {
        found.push({ kind: "service", id: value });
      } else {
        found.push({ kind: "principal", id: `${type}:${value}` });
      }
    }
  }
  return found;
}

function fromConditions(condition: Record<string, Record<string, string[]>>): Grantee[] {
  const found: Grantee[] = [];
  for (const [operator, keys] of Object.entries(condition)) {
    const base = operator.toLowerCase().replace(/^foranyvalue:/, "");
    if (!POSITIVE_OPERATORS.has(base)) continue;
    for (const [key, values] of Object.entries(keys)) {
      const kind = NARROWING_KINDS.get(key.toLowerCase());
      if (kind !== undefined) for (const id of values) found.push({ kind, id });
    }
  }
  return found;
}

function keyOf(grantee: Grantee): string {
  return `${grantee.kind}\u0000${grantee.id}`;
}

function sorted(list: Iterable<Grantee>): Grantee[] {
  const rank = (kind: GranteeKind) => GRANTEE_KINDS.indexOf(kind);
  return [...list].sort((a, b) =>
    a.kind === b.kind ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : rank(a.kind) - rank(b.kind),
  );
}

/** Everyone the Allow statements let in, without duplicates, everyone first, then by ID. */
export function grantees(document: PolicyDocumentInput): Grantee[] {
  const unique = new Map<string, Grantee>();
  const add = (grantee: Grantee) => unique.set(keyOf(grantee), grantee);
  // The guardrail decides what is public, so that both always agree.
  const publicIndexes = new Set(findPublicStatements(document).map((s) => s.index));
  statementList(document).forEach((raw, index) => {
    if (raw.Effect !== "Allow") return;
    if (publicIndexes.has(index)) {
      add({ kind: "everyone", id: "*" });
      return;
    }
    const statement = normalizeStatement(raw);
    named(statement.Principal).forEach(add);
    if (isOpen(statement.Principal) || statement.NotPrincipal !== undefined) {
      // Not public, so a condition narrows it; the condition names who gets in.
      const narrowed = fromConditions(statement.Condition ?? {});
      if (narrowed.length === 0) add({ kind: "everyone", id: "*" });
      narrowed.forEach(add);
    }
  });
  return sorted(unique.values());
}

/** Who gains and who loses access when `live` (undefined: no policy) becomes `desired`. */
export function accessChange(
  live: PolicyDocumentInput | undefined,
  desired: PolicyDocumentInput,
): AccessChange {
  const before = new Map((live === undefined ? [] : grantees(live)).map((g) => [keyOf(g), g]));
  const after = new Map(grantees(desired).map((g) => [keyOf(g), g]));
  return {
    gained: sorted([...after].filter(([key]) => !before.has(key)).map(([, g]) => g)),
    lost: sorted([...before].filter(([key]) => !after.has(key)).map(([, g]) => g)),
  };
}

/**
 * Whether the change switches from account IDs to an organization, the case for
 * which PutDestinationPolicy wants forceUpdate: the senders' subscription filters
 * must be updated first, or they may stop working.
 */
export function switchesToOrganization(
  live: PolicyDocumentInput | undefined,
  desired: PolicyDocumentInput,
): boolean {
  if (live === undefined) return false;
  const before = grantees(live);
  const after = grantees(desired);
  return (
    before.some((g) => g.kind === "account") &&
    !before.some((g) => g.kind === "organization") &&
    after.some((g) => g.kind === "organization")
  );
}

/** "account 111122223333", "organization o-a1b2c3d4e5", "everyone (any AWS account)". */
export function describeGrantee(grantee: Grantee): string {
  switch (grantee.kind) {
    case "everyone":
      return "everyone (any AWS account)";
    case "organization-path":
      return `organization path ${grantee.id}`;
    default:
      return `${grantee.kind} ${grantee.id}`;
  }
}
