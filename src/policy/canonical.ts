// Two different jobs, kept apart on purpose:
// - canonicalJson is the exact text sent to AWS: deterministic, but faithful to what the user
//   wrote (a scalar Action stays a scalar), so the applied policy reads like the manifest.
// - normalizePolicy is only for comparing: it erases every difference IAM ignores, because
//   AWS does not return a policy byte for byte and string comparison causes perpetual diffs.

import { createHash } from "node:crypto";

import { parseLivePolicy } from "./grammar.ts";
import { isRecord } from "../util/record.ts";
import type {
  NormalizedPolicy,
  NormalizedPrincipal,
  NormalizedStatement,
  Principal,
  PolicyDocumentInput,
  PolicyStatement,
  PolicyVersion,
  StringOrList,
} from "./types.ts";

/** The version IAM assumes when a policy has none. */
export const DEFAULT_POLICY_VERSION: PolicyVersion = "2008-10-17";

// IAM documents "123456789012" and "arn:aws:iam::123456789012:root" as the same principal,
// and some services store one when given the other.
const ACCOUNT_ROOT_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;

/**
 * JSON with object keys sorted at every level and no whitespace; array order is kept.
 * Like JSON.stringify, undefined and function members are skipped and toJSON is honoured.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value) ?? "null";
}

function serialize(value: unknown): string | undefined {
  if (isRecord(value) && typeof value.toJSON === "function") {
    return serialize((value.toJSON as () => unknown)());
  }
  if (Array.isArray(value)) {
    return `[${value.map((item: unknown) => serialize(item) ?? "null").join(",")}]`;
  }
  if (isRecord(value)) {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = serialize(value[key]);
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
    }
    return `{${members.join(",")}}`;
  }
  if (value === undefined || typeof value === "function" || typeof value === "symbol") {
    return undefined;
  }
  return JSON.stringify(value);
}

function sortedSet(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

function toList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

function normalizeValues(value: StringOrList | undefined): string[] | undefined {
  return value === undefined ? undefined : sortedSet(toList(value));
}

function normalizePrincipal(principal: Principal | undefined): NormalizedPrincipal | undefined {
  if (principal === undefined || principal === "*") return principal;
  const result: Exclude<NormalizedPrincipal, "*"> = {};
  for (const type of Object.keys(principal).sort() as (keyof typeof principal)[]) {
    const values = principal[type];
    if (values === undefined) continue;
    const list = toList(values);
    result[type] = sortedSet(
      type === "AWS" ? list.map((value) => value.replace(ACCOUNT_ROOT_ARN, "$1")) : list,
    );
  }
  return result;
}

function normalizeCondition(
  condition: PolicyStatement["Condition"],
): NormalizedStatement["Condition"] {
  if (condition === undefined) return undefined;
  const result: NonNullable<NormalizedStatement["Condition"]> = {};
  for (const operator of Object.keys(condition).sort()) {
    const keys = condition[operator] ?? {};
    const block: Record<string, string[]> = {};
    for (const key of Object.keys(keys).sort()) {
      const values = keys[key];
      // IAM compares condition values as strings: true and "true", 10 and "10" are the same.
      if (values !== undefined) block[key] = sortedSet(toList(values).map(String));
    }
    // An operator without keys, or a Condition without operators, constrains nothing.
    if (Object.keys(block).length > 0) result[operator] = block;
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/** One statement in semantic form; fields absent from the input stay absent. */
export function normalizeStatement(statement: PolicyStatement): NormalizedStatement {
  const normalized: NormalizedStatement = { Effect: statement.Effect };
  // Sid has no effect on access, and AWS's own examples use "" for "no Sid".
  if (statement.Sid !== undefined && statement.Sid !== "") normalized.Sid = statement.Sid;
  const fields = {
    Principal: normalizePrincipal(statement.Principal),
    NotPrincipal: normalizePrincipal(statement.NotPrincipal),
    Action: normalizeValues(statement.Action),
    NotAction: normalizeValues(statement.NotAction),
    Resource: normalizeValues(statement.Resource),
    NotResource: normalizeValues(statement.NotResource),
    Condition: normalizeCondition(statement.Condition),
  };
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined) Object.assign(normalized, { [field]: value });
  }
  return normalized;
}

/** The statements of a document as a list, in document order. */
export function statementList(document: PolicyDocumentInput): PolicyStatement[] {
  return toList(document.Statement);
}

/** The semantic form of a policy: equal forms grant the same access. */
export function normalizePolicy(document: PolicyDocumentInput): NormalizedPolicy {
  const statements = statementList(document)
    .map((statement) => {
      const normalized = normalizeStatement(statement);
      return { normalized, key: canonicalJson(normalized) };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ normalized }) => normalized);
  const result: NormalizedPolicy = {
    Version: document.Version ?? DEFAULT_POLICY_VERSION,
    Statement: statements,
  };
  if (document.Id !== undefined) result.Id = document.Id;
  return result;
}

/** The canonical JSON of the normalized policy: equal exactly when the policies are. */
function semanticKey(document: PolicyDocumentInput): string {
  return canonicalJson(normalizePolicy(document));
}

/**
 * Semantic equality of two policies. Either side may be an unchecked value (a parsed
 * annotation, a policy read back from AWS); anything that is not a policy equals nothing.
 */
export function policiesEqual(a: unknown, b: unknown): boolean {
  const left = parseLivePolicy(a);
  const right = parseLivePolicy(b);
  if (left === undefined || right === undefined) return false;
  return semanticKey(left) === semanticKey(right);
}

/** `sha256:<hex>` of the normalized policy; stable across formatting and ordering changes. */
export function policyHash(document: PolicyDocumentInput): string {
  return `sha256:${createHash("sha256").update(semanticKey(document), "utf8").digest("hex")}`;
}
