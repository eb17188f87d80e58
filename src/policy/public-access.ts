// Guardrail against policies that let any AWS account subscribe to a destination.
//
// The rule is the one S3 uses to decide whether a bucket policy is public: an
// Allow statement is not public only when it names its callers by fixed values.
// Either every principal is a fixed value (an account, a role, a service: no
// `*`, no `?`, no `${…}` policy variable), or a condition narrows the caller to
// fixed accounts or organizations: a key of NARROWING_CONDITION_KEYS, under an
// operator that a caller without a matching value fails, with only fixed values.
//
// Everything else counts as public, including what looks narrow but is not:
// a wildcard or policy variable in a value (`o-*`, `${aws:PrincipalOrgID}`,
// account prefixes `0*`…`9*`), a negated operator (StringNotEquals), an
// …IfExists operator or Null (satisfied when the key is absent), a ForAllValues:
// operator (satisfied by an empty set), a wildcard in any principal
// (`arn:aws:iam::*:root`), and NotPrincipal (everyone but a few). The one
// refinement: an organization path may hold wildcards after its fixed
// organization ID. docs/public-access.md lists the shapes and their verdicts.

import { statementList } from "./canonical.ts";
import { quote } from "./issues.ts";
import { isRecord } from "../util/record.ts";
import type { PolicyDocumentInput, PolicyStatement, Principal } from "./types.ts";

export interface PublicStatement {
  /** Position in the document's Statement list (0 for a single-statement object). */
  index: number;
  sid?: string;
}

/** Condition keys that restrict the caller to an organization or an account. */
const NARROWING_CONDITION_KEYS = [
  "aws:PrincipalOrgID",
  "aws:PrincipalOrgPaths",
  "aws:PrincipalAccount",
  "aws:SourceAccount",
  "aws:SourceOrgID",
] as const;

const NARROWING_KEYS = new Set(NARROWING_CONDITION_KEYS.map((key) => key.toLowerCase()));
const ORG_PATHS_KEY = "aws:principalorgpaths";

/**
 * Operators that a caller without a matching value fails, also when the key is
 * absent. StringLike counts only because its values must be fixed, which makes
 * it an equality test.
 */
const NARROWING_OPERATORS = ["StringEquals", "StringEqualsIgnoreCase", "StringLike"] as const;
const OPERATORS = new Set(NARROWING_OPERATORS.map((op) => op.toLowerCase()));
// ForAnyValue: needs at least one matching value, so a missing key fails, as it should.
const ANY_VALUE_PREFIX = "foranyvalue:";

/** A value that names exactly one thing: not empty, no wildcard, no policy variable. */
function isFixedValue(value: unknown): boolean {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0;
  if (typeof value !== "string" || value === "") return false;
  return !value.includes("*") && !value.includes("?") && !value.includes("${");
}

function fixedPrincipals(principal: Principal | undefined): boolean {
  if (principal === undefined || principal === "*") return false;
  // Raw values: a value of an unexpected type fixes nothing.
  const values: unknown[] = Object.values(principal as Record<string, unknown>).flat();
  return (
    values.length > 0 && values.every((value) => typeof value === "string" && isFixedValue(value))
  );
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

function narrows(operator: string, key: string, values: unknown): boolean {
  let base = operator.toLowerCase();
  if (base.startsWith(ANY_VALUE_PREFIX)) base = base.slice(ANY_VALUE_PREFIX.length);
  if (!OPERATORS.has(base)) return false;
  const list: unknown[] = Array.isArray(values) ? values : [values];
  // Only StringLike reads wildcards; under StringEquals an org path must be fixed throughout.
  const fixed = key === ORG_PATHS_KEY && base === "stringlike" ? isFixedOrgPath : isFixedValue;
  return list.length > 0 && list.every(fixed);
}

/** Conditions are ANDed: one fixed narrowing condition is enough, whatever else is there. */
function hasNarrowingCondition(statement: PolicyStatement): boolean {
  const condition = statement.Condition;
  if (!isRecord(condition)) return false;
  return Object.entries(condition).some(
    ([operator, keys]) =>
      isRecord(keys) &&
      Object.entries(keys).some(
        ([key, values]) =>
          NARROWING_KEYS.has(key.toLowerCase()) && narrows(operator, key.toLowerCase(), values),
      ),
  );
}

/** Whether one statement lets callers in that it does not name by fixed values. */
function isPublicStatement(statement: PolicyStatement): boolean {
  if (statement.Effect !== "Allow") return false;
  if (statement.NotPrincipal !== undefined) return true;
  if (fixedPrincipals(statement.Principal)) return false;
  return !hasNarrowingCondition(statement);
}

/** The Allow statements that callers not named by fixed values can use, in document order. */
export function findPublicStatements(document: PolicyDocumentInput): PublicStatement[] {
  const found: PublicStatement[] = [];
  statementList(document).forEach((statement, index) => {
    if (!isPublicStatement(statement)) return;
    const sid = statement.Sid;
    found.push(sid === undefined || sid === "" ? { index } : { index, sid });
  });
  return found;
}

function statementLabel(index: number, sid: string | undefined): string {
  return sid === undefined || sid === ""
    ? `Statement[${index}]`
    : `Statement[${index}] (Sid ${quote(sid)})`;
}

/** A sentence naming every public statement, for a condition or event message. */
export function describePublicStatements(statements: readonly PublicStatement[]): string {
  if (statements.length === 0) return "no statement allows access to every AWS principal";
  const names = statements.map((statement) => statementLabel(statement.index, statement.sid));
  const verb = statements.length === 1 ? "allows" : "allow";
  return (
    `${names.join(", ")} ${verb} callers not named by fixed values: it needs fixed principals ` +
    `(no *, ? or \${…}), or a ${NARROWING_OPERATORS.join(", ")} condition with fixed values on ` +
    NARROWING_CONDITION_KEYS.join(", ")
  );
}
