// The IAM policy grammar accepted for destination access policies, as zod schemas, and the
// mapping of zod's issues onto PolicyIssue paths that users can find in their manifests.

import { z } from "zod";

import { condition, principal, stringOrList, type Validator } from "./grammar-values.ts";
import { describeValue, didYouMean, joinPath, quote, type PathSegment } from "./issues.ts";
import { isRecord } from "../util/record.ts";
import type { PolicyDocument, PolicyDocumentInput, PolicyIssue } from "./types.ts";

export const POLICY_VERSIONS = ["2012-10-17", "2008-10-17"] as const;

/** The keys a policy document and a statement may have; anything else is refused. */
export const POLICY_FIELDS = ["Version", "Id", "Statement"];
export const STATEMENT_FIELDS = [
  "Sid",
  "Effect",
  "Principal",
  "NotPrincipal",
  "Action",
  "NotAction",
  "Resource",
  "NotResource",
  "Condition",
];

export type PolicyValidationResult =
  { ok: true; document: PolicyDocument } | { ok: false; issues: PolicyIssue[] };

function fromValidator<T>(validate: Validator<T>) {
  return z.unknown().transform((value, ctx): T => {
    let reported = 0;
    const result = validate(value, (path, message) => {
      reported += 1;
      ctx.addIssue({ code: "custom", message, path: [...path], input: value });
    });
    if (reported === 0 && result !== undefined) return result;
    if (reported === 0) ctx.addIssue({ code: "custom", message: "invalid value", input: value });
    return z.NEVER;
  });
}

function optionalString(field: string) {
  return z
    .string({ error: (issue) => `${field} must be a string, got ${describeValue(issue.input)}` })
    .optional();
}

const versionSchema = z.enum(POLICY_VERSIONS, {
  error: (issue) =>
    issue.input === undefined
      ? `Version is required; use "2012-10-17"`
      : `Version must be "2012-10-17" or "2008-10-17", got ${describeValue(issue.input)}`,
});

const effectSchema = z.enum(["Allow", "Deny"], {
  error: (issue) =>
    issue.input === undefined
      ? `Effect is required and must be "Allow" or "Deny"`
      : `Effect must be "Allow" or "Deny", got ${describeValue(issue.input)}`,
});

function checkExclusiveFields(
  statement: unknown,
  report: (path: PathSegment[], message: string) => void,
): void {
  // Runs even when other fields failed, so a statement's problems are all reported at once.
  if (!isRecord(statement)) return;
  const has = (field: string) => statement[field] !== undefined;
  if (has("Action") && has("NotAction")) {
    report(["NotAction"], "NotAction cannot be combined with Action; use exactly one of them");
  } else if (!has("Action") && !has("NotAction")) {
    report(["Action"], "a statement needs exactly one of Action or NotAction; it has neither");
  }
  for (const [field, negated] of [
    ["Principal", "NotPrincipal"],
    ["Resource", "NotResource"],
  ] as const) {
    if (has(field) && has(negated)) {
      report([negated], `${negated} cannot be combined with ${field}; use at most one of them`);
    }
  }
}

const policyStatementSchema = z
  .strictObject(
    {
      Sid: optionalString("Sid"),
      Effect: effectSchema,
      Principal: fromValidator(principal("Principal")).optional(),
      NotPrincipal: fromValidator(principal("NotPrincipal")).optional(),
      Action: fromValidator(stringOrList("Action")).optional(),
      NotAction: fromValidator(stringOrList("NotAction")).optional(),
      Resource: fromValidator(stringOrList("Resource")).optional(),
      NotResource: fromValidator(stringOrList("NotResource")).optional(),
      Condition: fromValidator(condition).optional(),
    },
    {
      error: (issue) =>
        issue.code === "invalid_type"
          ? `a statement must be an object, got ${describeValue(issue.input)}`
          : undefined,
    },
  )
  .superRefine(
    (statement, ctx) => {
      checkExclusiveFields(statement, (path, message) => {
        ctx.addIssue({ code: "custom", message, path, input: statement });
      });
    },
    { when: () => true },
  );

const statementListSchema = z
  .array(policyStatementSchema)
  .min(1, { error: "Statement must contain at least one statement" });

function statementsField(requireUniqueSids: boolean) {
  return z.unknown().transform((value, ctx) => {
    if (!Array.isArray(value) && !isRecord(value)) {
      const message =
        value === undefined
          ? "Statement is required"
          : `Statement must be a statement object or a non-empty array of statements, got ${describeValue(value)}`;
      ctx.addIssue({ code: "custom", message, input: value });
      return z.NEVER;
    }
    const result = Array.isArray(value)
      ? statementListSchema.safeParse(value)
      : policyStatementSchema.safeParse(value);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({ ...issue });
      return z.NEVER;
    }
    if (requireUniqueSids && Array.isArray(result.data)) {
      // Sids identify statements in diffs and in AWS error messages; duplicates make both
      // ambiguous, and IAM itself rejects them in most policy types.
      const firstIndex = new Map<string, number>();
      result.data.forEach((statement, index) => {
        const sid = statement.Sid;
        if (sid === undefined || sid === "") return;
        const first = firstIndex.get(sid);
        if (first === undefined) firstIndex.set(sid, index);
        else {
          ctx.addIssue({
            code: "custom",
            path: [index, "Sid"],
            input: sid,
            message: `Sid ${quote(sid)} is already used by Statement[${first}]; Sids must be unique`,
          });
        }
      });
    }
    return result.data;
  });
}

function documentError(issue: { code: string; input?: unknown }): string | undefined {
  return issue.code === "invalid_type"
    ? `the policy must be a JSON object, got ${describeValue(issue.input)}`
    : undefined;
}

/** The grammar for policies written by users: Version is required and Sids are unique. */
const policyDocumentSchema: z.ZodType<PolicyDocument> = z.strictObject(
  { Version: versionSchema, Id: optionalString("Id"), Statement: statementsField(true) },
  { error: documentError },
);

// Policies read back from AWS were accepted by AWS already; only what is needed to compare
// them is enforced, and a missing Version is legal there (IAM then assumes 2008-10-17).
const livePolicyDocumentSchema: z.ZodType<PolicyDocumentInput> = z.strictObject(
  {
    Version: versionSchema.optional(),
    Id: optionalString("Id"),
    Statement: statementsField(false),
  },
  { error: documentError },
);

function unknownKeyMessage(objectPath: readonly PathSegment[], key: string): string {
  const [kind, allowed] =
    objectPath.length === 0 ? ["policy", POLICY_FIELDS] : ["statement", STATEMENT_FIELDS];
  return (
    `unknown ${kind} field ${quote(key)}${didYouMean(key, allowed)}; ` +
    `allowed fields: ${allowed.join(", ")}`
  );
}

function toPolicyIssues(issues: readonly z.core.$ZodIssue[], prefix: string): PolicyIssue[] {
  return issues.flatMap((issue) => {
    const segments = issue.path.map((segment) =>
      typeof segment === "symbol" ? String(segment) : segment,
    );
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        path: joinPath(prefix, [...segments, key]),
        message: unknownKeyMessage(segments, key),
      }));
    }
    return [{ path: joinPath(prefix, segments), message: issue.message }];
  });
}

/**
 * Validates a user-written policy. Issue paths start with `pathPrefix`, e.g.
 * `spec.accessPolicy.Statement[0].Effect`. Never throws.
 */
export function validatePolicyDocument(value: unknown, pathPrefix = ""): PolicyValidationResult {
  try {
    const result = policyDocumentSchema.safeParse(value);
    if (result.success) return { ok: true, document: result.data };
    return { ok: false, issues: toPolicyIssues(result.error.issues, pathPrefix) };
  } catch (error) {
    // Only exotic inputs (throwing getters, proxies) get here; report rather than crash.
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, issues: [{ path: pathPrefix, message: `unreadable policy: ${reason}` }] };
  }
}

/** A policy as returned by AWS, or undefined when it does not have a policy's shape. */
export function parseLivePolicy(value: unknown): PolicyDocumentInput | undefined {
  try {
    const result = livePolicyDocumentSchema.safeParse(value);
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
