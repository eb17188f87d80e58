// Guardrail against policies that let any AWS account subscribe to a destination.
//
// A statement is public when it allows everyone ("*" as principal, or everyone except a few
// via NotPrincipal) and no condition limits callers to an organization or account. Only
// conditions that really narrow count: a negated operator (StringNotEquals), an ...IfExists
// operator, Null, or a ForAllValues: set operator is satisfied when the key is absent or
// differs, which is exactly the case for arbitrary outside callers; so are Like patterns
// made only of wildcards.

import { statementList } from "./canonical.ts";
import { isRecord, quote } from "./issues.ts";
import type { PolicyDocumentInput, PolicyStatement, Principal } from "./types.ts";

export interface PublicStatement {
  /** Position in the document's Statement list (0 for a single-statement object). */
  index: number;
  sid?: string;
}

/** Condition keys that restrict the caller to an organization or an account. */
export const NARROWING_CONDITION_KEYS = [
  "aws:PrincipalOrgID",
  "aws:PrincipalOrgPaths",
  "aws:PrincipalAccount",
  "aws:SourceAccount",
  "aws:SourceOrgID",
] as const;

const NARROWING_KEYS = new Set(NARROWING_CONDITION_KEYS.map((key) => key.toLowerCase()));
const EQUALITY_OPERATORS = new Set(["stringequals", "stringequalsignorecase"]);
const LIKE_OPERATORS = new Set(["stringlike"]);
const WILDCARDS_ONLY = /^[*?]*$/;

function grantsEveryone(principal: Principal | undefined): boolean {
  if (principal === undefined) return false;
  if (principal === "*") return true;
  const aws = principal.AWS;
  return aws === "*" || (Array.isArray(aws) && aws.includes("*"));
}

function narrows(operator: string, values: unknown): boolean {
  let base = operator.toLowerCase();
  // ForAnyValue: needs at least one matching value, so a missing key fails, as it should.
  if (base.startsWith("foranyvalue:")) base = base.slice("foranyvalue:".length);
  const list: unknown[] = Array.isArray(values) ? values : [values];
  if (EQUALITY_OPERATORS.has(base)) return true;
  if (LIKE_OPERATORS.has(base)) {
    return list.every((value) => typeof value !== "string" || !WILDCARDS_ONLY.test(value));
  }
  return false;
}

function hasNarrowingCondition(statement: PolicyStatement): boolean {
  const condition = statement.Condition;
  if (!isRecord(condition)) return false;
  return Object.entries(condition).some(
    ([operator, keys]) =>
      isRecord(keys) &&
      Object.entries(keys).some(
        ([key, values]) => NARROWING_KEYS.has(key.toLowerCase()) && narrows(operator, values),
      ),
  );
}

function isPublic(statement: PolicyStatement): boolean {
  if (statement.Effect !== "Allow") return false;
  // Allow + NotPrincipal grants every principal except the listed ones.
  const everyone = grantsEveryone(statement.Principal) || statement.NotPrincipal !== undefined;
  return everyone && !hasNarrowingCondition(statement);
}

/** The Allow statements that any AWS principal can use, in document order. */
export function findPublicStatements(document: PolicyDocumentInput): PublicStatement[] {
  const found: PublicStatement[] = [];
  statementList(document).forEach((statement, index) => {
    if (!isPublic(statement)) return;
    const sid = statement.Sid;
    found.push(sid === undefined || sid === "" ? { index } : { index, sid });
  });
  return found;
}

export function statementLabel(index: number, sid: string | undefined): string {
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
    `${names.join(", ")} ${verb} any AWS principal without a condition on ` +
    NARROWING_CONDITION_KEYS.join(", ")
  );
}
