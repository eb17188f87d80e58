// What AWS should hold for one object, and whether the last-applied annotation
// already says it does. The annotation keeps everything PutDestinationPolicy is
// called with, so a change to any of them (not just the policy) is applied.
import type { LogDestinationPolicySpec } from "../api/v1alpha1.ts";
import { resolvePolicy } from "../api/spec-check.ts";
import {
  canonicalJson,
  policiesEqual,
  type AccessPolicyResult,
  type PolicyDocument,
} from "../policy/index.ts";
import type { RecordedGrantJson } from "./grant-record.ts";
import { resolvedDocument, sendablePolicy } from "../policy/ownerless.ts";
import { ReconcileFailure } from "./outcomes.ts";
import { isRecord } from "../util/record.ts";
import { formatIssues } from "../util/issues.ts";

export interface DesiredState {
  region: string;
  roleArn?: string;
  destinationName: string;
  forceUpdate: boolean;
  /** The exact string sent to AWS. */
  canonical: string;
  hash: string;
  document: PolicyDocument;
  /** The value of the last-applied annotation once this state is applied. */
  annotation: string;
}

/**
 * `uid` goes into the record, so that a record copied to another object proves
 * nothing there. `resolved` is the spec's policy when checkSpec already resolved it.
 */
export function desiredState(
  spec: LogDestinationPolicySpec,
  defaultRegion: string | undefined,
  uid?: string,
  resolved: AccessPolicyResult = resolvePolicy(spec),
): DesiredState {
  const region = spec.region ?? defaultRegion;
  if (!region) {
    throw new ReconcileFailure(
      "InvalidSpec",
      "spec.region: not set, and the controller has no default region (--aws-region or AWS_REGION)",
    );
  }
  if (!resolved.ok) {
    throw new ReconcileFailure("InvalidSpec", formatIssues(resolved.issues));
  }
  const policy = sendablePolicy(resolved);
  const target = {
    region,
    ...(spec.roleArn === undefined ? {} : { roleArn: spec.roleArn }),
    destinationName: spec.destinationName,
    forceUpdate: spec.forceUpdate,
  };
  return {
    ...target,
    canonical: policy.canonical,
    hash: policy.hash,
    document: policy.document,
    annotation: annotationOf(target, policy.document, uid, undefined),
  };
}

/**
 * The desired state of a policy that accepts grants: the merged document, and a
 * record that also says which principals went in for which grant (grant-record.ts).
 */
export function mergedDesiredState(
  base: DesiredState,
  merged: PolicyDocument,
  grants: Readonly<Record<string, RecordedGrantJson>>,
  uid: string | undefined,
): DesiredState {
  const policy = sendablePolicy(resolvedDocument(merged));
  const { region, roleArn, destinationName, forceUpdate } = base;
  const target = {
    region,
    ...(roleArn === undefined ? {} : { roleArn }),
    destinationName,
    forceUpdate,
  };
  return {
    ...target,
    canonical: policy.canonical,
    hash: policy.hash,
    document: policy.document,
    annotation: annotationOf(target, policy.document, uid, grants),
  };
}

function annotationOf(
  target: Omit<DesiredState, "canonical" | "hash" | "document" | "annotation">,
  policy: PolicyDocument,
  uid: string | undefined,
  grants: Readonly<Record<string, RecordedGrantJson>> | undefined,
): string {
  return canonicalJson({
    destinationName: target.destinationName,
    forceUpdate: target.forceUpdate,
    ...(grants === undefined ? {} : { grants }),
    policy,
    region: target.region,
    ...(target.roleArn === undefined ? {} : { roleArn: target.roleArn }),
    ...(uid === undefined ? {} : { uid }),
  });
}

/** Semantic, not textual: an annotation written by an older version still matches. */
export function sameDesiredState(annotation: string | undefined, desired: DesiredState): boolean {
  if (annotation === undefined) return false;
  if (annotation === desired.annotation) return true;
  let value: unknown;
  try {
    value = JSON.parse(annotation);
  } catch {
    return false;
  }
  if (!isRecord(value)) return false;
  return (
    value.destinationName === desired.destinationName &&
    value.region === desired.region &&
    value.forceUpdate === desired.forceUpdate &&
    value.roleArn === desired.roleArn &&
    policiesEqual(value.policy, desired.document)
  );
}
