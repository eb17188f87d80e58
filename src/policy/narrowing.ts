// The conditions that narrow an open principal ("*", or an AWS principal with a
// wildcard) to fixed accounts or organizations: the S3 rule for "not public".
// A condition narrows only under an operator that a caller without a matching
// value fails, also when the key is absent, and only with fixed values. Shapes
// that look narrow and are not (negated operators, …IfExists, Null,
// ForAllValues:, wildcards or policy variables in values) narrow nothing.
import { isRecord } from "../util/record.ts";

/** Condition keys that restrict the caller to an organization or an account. */
export const NARROWING_CONDITION_KEYS = [
  "aws:PrincipalOrgID",
  "aws:PrincipalOrgPaths",
  "aws:PrincipalAccount",
  "aws:SourceAccount",
  "aws:SourceOrgID",
] as const;

/**
 * Operators that a caller without a matching value fails, also when the key is
 * absent. StringLike counts only because its values must be fixed, which makes
 * it an equality test.
 */
export const NARROWING_OPERATORS = [
  "StringEquals",
  "StringEqualsIgnoreCase",
  "StringLike",
] as const;

export type NarrowedKind = "organization" | "organization-path" | "account";

export interface Narrowed {
  kind: NarrowedKind;
  id: string;
}

const KIND_OF_KEY = new Map<string, NarrowedKind>([
  ["aws:principalorgid", "organization"],
  ["aws:sourceorgid", "organization"],
  ["aws:principalorgpaths", "organization-path"],
  ["aws:principalaccount", "account"],
  ["aws:sourceaccount", "account"],
]);
const OPERATORS = new Set(NARROWING_OPERATORS.map((op) => op.toLowerCase()));
// ForAnyValue: needs at least one matching value, so a missing key fails, as it should.
const ANY_VALUE_PREFIX = "foranyvalue:";

/** A value that names exactly one thing: not empty, no wildcard, no policy variable. */
export function isFixedValue(value: unknown): boolean {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0;
  if (typeof value !== "string" || value === "") return false;
  return !value.includes("*") && !value.includes("?") && !value.includes("${");
}

/**
 * An organization path (`o-id/r-root/ou-id/…`) names one organization by its
 * first segment. A wildcard after a fixed organization (`o-a1b2c3d4e5/*`, as in
 * AWS's examples) only picks accounts within it; one in the organization
 * segment (`o-*`) does not.
 */
function isFixedOrgPath(value: unknown): boolean {
  if (typeof value !== "string") return false;
  const slash = value.indexOf("/");
  return slash > 0 && isFixedValue(value.slice(0, slash));
}

function narrowingValues(operator: string, key: string, values: unknown): string[] | undefined {
  let base = operator.toLowerCase();
  if (base.startsWith(ANY_VALUE_PREFIX)) base = base.slice(ANY_VALUE_PREFIX.length);
  if (!OPERATORS.has(base)) return undefined;
  const list: unknown[] = Array.isArray(values) ? values : [values];
  // Only StringLike reads wildcards; under StringEquals an org path must be fixed throughout.
  const fixed =
    key === "aws:principalorgpaths" && base === "stringlike" ? isFixedOrgPath : isFixedValue;
  if (list.length === 0 || !list.every(fixed)) return undefined;
  return list.map(String);
}

/**
 * Who the statement's narrowing conditions let in; empty when none narrows.
 * Conditions are ANDed, so every narrowing condition bounds the callers on its
 * own: each one found is listed, and the others (loose or unrelated) are ignored.
 */
export function narrowedCallers(condition: unknown): Narrowed[] {
  if (!isRecord(condition)) return [];
  const found: Narrowed[] = [];
  for (const [operator, keys] of Object.entries(condition)) {
    if (!isRecord(keys)) continue;
    for (const [key, values] of Object.entries(keys)) {
      const lower = key.toLowerCase();
      const kind = KIND_OF_KEY.get(lower);
      if (kind === undefined) continue;
      const ids = narrowingValues(operator, lower, values);
      if (ids !== undefined) for (const id of ids) found.push({ kind, id });
    }
  }
  return found;
}
