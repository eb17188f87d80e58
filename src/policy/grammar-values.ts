// Validators for the IAM value shapes that zod's built-in unions report poorly: a failed
// union only says "invalid input", while users need to know which element of which field is
// wrong and what would have been accepted. Each returns a fresh copy, so a validated document
// never shares objects with the caller's input.

import { describeValue, didYouMean, quote, type PathSegment } from "./issues.ts";
import { isRecord } from "../util/record.ts";
import type {
  ConditionBlock,
  ConditionScalar,
  ConditionValue,
  Principal,
  PrincipalMap,
  PrincipalType,
  StringOrList,
} from "./types.ts";

export type Report = (path: readonly PathSegment[], message: string) => void;

/** Returns the validated copy, or undefined after reporting at least one problem. */
export type Validator<T> = (value: unknown, report: Report) => T | undefined;

const PRINCIPAL_TYPES: readonly PrincipalType[] = ["AWS", "Service", "Federated", "CanonicalUser"];

// Operators are plain words (StringEquals, ArnLikeIfExists, Null) with an optional set prefix.
// Checking the shape rather than a closed list keeps future operators usable while still
// rejecting keys such as "__proto__" or accidental whitespace.
const CONDITION_OPERATOR = /^(?:ForAnyValue:|ForAllValues:)?[A-Za-z]+$/;
// Every condition key is "<prefix>:<name>"; the name may hold tag keys with spaces. The
// prefix is a service (aws, sts) or, in web-identity keys, an identity provider's host and
// path: oidc.eks.us-east-1.amazonaws.com/id/<id>:sub.
const CONDITION_KEY = /^[A-Za-z0-9][A-Za-z0-9./-]*:.+$/;

export function stringOrList(field: string): Validator<StringOrList> {
  return (value, report) => {
    if (typeof value === "string") {
      if (value !== "") return value;
      report([], `${field} must not be an empty string`);
      return undefined;
    }
    if (!Array.isArray(value)) {
      report([], `${field} must be a string or an array of strings, got ${describeValue(value)}`);
      return undefined;
    }
    if (value.length === 0) {
      report([], `${field} must not be an empty array; omit the field or list at least one value`);
      return undefined;
    }
    let invalid = 0;
    value.forEach((item: unknown, index) => {
      if (typeof item !== "string" || item === "") {
        invalid += 1;
        report(
          [index],
          `${field}[${index}] must be a non-empty string, got ${describeValue(item)}`,
        );
      }
    });
    return invalid === 0 ? (value as string[]).slice() : undefined;
  };
}

export function principal(field: "Principal" | "NotPrincipal"): Validator<Principal> {
  const expected = `"*" or an object with ${PRINCIPAL_TYPES.join(", ")} keys`;
  return (value, report) => {
    if (value === "*") return "*";
    if (!isRecord(value)) {
      report([], `${field} must be ${expected}, got ${describeValue(value)}`);
      return undefined;
    }
    const keys = Object.keys(value);
    if (keys.length === 0) {
      report([], `${field} must name at least one of ${PRINCIPAL_TYPES.join(", ")}`);
      return undefined;
    }
    const result: PrincipalMap = {};
    let valid = true;
    for (const key of keys) {
      if (!isPrincipalType(key)) {
        valid = false;
        report(
          [key],
          `${field} type ${quote(key)} is not allowed${didYouMean(key, PRINCIPAL_TYPES)}; ` +
            `allowed: ${PRINCIPAL_TYPES.join(", ")}`,
        );
        continue;
      }
      const values = stringOrList(`${field}.${key}`)(value[key], (path, message) => {
        report([key, ...path], message);
      });
      if (values === undefined) valid = false;
      else result[key] = values;
    }
    return valid ? result : undefined;
  };
}

export const condition: Validator<ConditionBlock> = (value, report) => {
  if (!isRecord(value)) {
    report(
      [],
      `Condition must be an object of operator -> { condition key -> value }, got ${describeValue(value)}`,
    );
    return undefined;
  }
  let valid = true;
  const operators: [string, Record<string, ConditionValue>][] = [];
  for (const operator of Object.keys(value)) {
    if (!CONDITION_OPERATOR.test(operator)) {
      valid = false;
      report(
        [operator],
        `Condition operator ${quote(operator)} is not an operator name such as "StringEquals" ` +
          `or "ForAnyValue:StringLike"`,
      );
      continue;
    }
    const block = conditionKeys(operator, value[operator], (path, message) => {
      report([operator, ...path], message);
    });
    if (block === undefined) valid = false;
    else operators.push([operator, block]);
  }
  return valid ? Object.fromEntries(operators) : undefined;
};

function conditionKeys(
  operator: string,
  value: unknown,
  report: Report,
): Record<string, ConditionValue> | undefined {
  if (!isRecord(value)) {
    report(
      [],
      `Condition operator ${operator} must map condition keys to values, got ${describeValue(value)}`,
    );
    return undefined;
  }
  let valid = true;
  const entries: [string, ConditionValue][] = [];
  for (const key of Object.keys(value)) {
    if (!CONDITION_KEY.test(key)) {
      valid = false;
      report(
        [key],
        `condition key ${quote(key)} under ${operator} must look like "service:name", ` +
          `e.g. "aws:PrincipalOrgID"`,
      );
      continue;
    }
    const checked = conditionValue(value[key], (path, detail) => {
      report([key, ...path], `condition value for ${quote(key)} under ${operator} ${detail}`);
    });
    if (checked === undefined) valid = false;
    else entries.push([key, checked]);
  }
  return valid ? Object.fromEntries(entries) : undefined;
}

function conditionValue(value: unknown, report: Report): ConditionValue | undefined {
  const allowed = "must be a string, number or boolean, or a non-empty array of them";
  if (isConditionScalar(value)) return value;
  if (!Array.isArray(value)) {
    report([], `${allowed}; got ${describeValue(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    report([], `${allowed}; got an empty array`);
    return undefined;
  }
  let invalid = 0;
  value.forEach((item: unknown, index) => {
    if (!isConditionScalar(item)) {
      invalid += 1;
      report([index], `[${index}] must be a string, number or boolean, got ${describeValue(item)}`);
    }
  });
  return invalid === 0 ? (value as ConditionScalar[]).slice() : undefined;
}

function isConditionScalar(value: unknown): value is ConditionScalar {
  return (
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

function isPrincipalType(key: string): key is PrincipalType {
  return (PRINCIPAL_TYPES as readonly string[]).includes(key);
}
