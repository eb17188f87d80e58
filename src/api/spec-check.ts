// The one check of a LogDestinationPolicy spec: the schema, then the policy it
// carries (the IAM grammar and AWS's size limit). The controller's validate
// phase, `validate` and the property tests all call it, so they refuse the same
// specs with the same words. Pure: no I/O, no controller settings.
import {
  resolveAccessPolicy,
  type AccessPolicyResult,
  type ResolvedAccessPolicy,
} from "../policy/index.ts";
import { ownerlessPolicy } from "../policy/ownerless.ts";
import { isRecord } from "../util/record.ts";
import { formatPath } from "./field-path.ts";
import { specSchema, type LogDestinationPolicySpec } from "./v1alpha1.ts";

export interface SpecIssue {
  /** The field as conditions name it: spec.accessPolicy.Statement[0]. */
  path: string;
  message: string;
  /** The field's place under spec, for pointing at its line; the policy's issues have only their path. */
  segments?: readonly (string | number)[];
}

export type SpecCheck =
  | { ok: true; spec: LogDestinationPolicySpec; policy: ResolvedAccessPolicy }
  | {
      ok: false;
      stage: "schema";
      issues: SpecIssue[];
      /**
       * The policy checked on its own when the schema refused only other fields, so
       * `validate` can report its issues too; the controller stops at the schema.
       */
      policy?: AccessPolicyResult;
    }
  | { ok: false; stage: "policy"; spec: LogDestinationPolicySpec; issues: SpecIssue[] };

const POLICY_FIELDS = new Set(["accessPolicy", "accessPolicyJson"]);

/** The spec with its defaults and the exact policy to send, or what is wrong, field by field. */
export function checkSpec(raw: unknown): SpecCheck {
  const parsed = specSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: formatPath("spec", issue.path),
      message: issue.message,
      segments: issue.path.filter(
        (s): s is string | number => typeof s === "string" || typeof s === "number",
      ),
    }));
    const policyChecked =
      isRecord(raw) && !parsed.error.issues.some((i) => POLICY_FIELDS.has(String(i.path[0])));
    return {
      ok: false,
      stage: "schema",
      issues,
      ...(policyChecked ? { policy: resolvePolicy(raw) } : {}),
    };
  }
  const policy = resolvePolicy(parsed.data);
  if (!policy.ok) return { ok: false, stage: "policy", spec: parsed.data, issues: policy.issues };
  return { ok: true, spec: parsed.data, policy };
}

/**
 * The owner's policy, from whichever of accessPolicy and accessPolicyJson carries
 * it; a policy that accepts grants and sets neither has no statements of its own.
 */
export function resolvePolicy(spec: {
  accessPolicy?: unknown;
  accessPolicyJson?: unknown;
  grants?: unknown;
}): AccessPolicyResult {
  const unset = (value: unknown) => value === undefined || value === null;
  if (unset(spec.accessPolicy) && unset(spec.accessPolicyJson) && !unset(spec.grants)) {
    return ownerlessPolicy();
  }
  return resolveAccessPolicy(
    {
      ...(spec.accessPolicy === undefined ? {} : { accessPolicy: spec.accessPolicy }),
      ...(typeof spec.accessPolicyJson === "string"
        ? { accessPolicyJson: spec.accessPolicyJson }
        : {}),
    },
    "spec",
  );
}

/**
 * What to do about a policy that lets every AWS account subscribe; undefined
 * when spec.allowPublicAccess lets it through and the controller allows that.
 */
export function publicAccessRemedy(
  allowPublicAccess: boolean,
  denyOverride: boolean,
): string | undefined {
  if (allowPublicAccess && !denyOverride) return undefined;
  return allowPublicAccess
    ? "spec.allowPublicAccess is set, but --deny-public-access-override forbids that override"
    : "name the callers by fixed values, or set spec.allowPublicAccess: true if every AWS account may really subscribe";
}
