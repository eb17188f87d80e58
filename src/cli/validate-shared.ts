// A shared destination, offline: given a LogDestinationPolicy that accepts
// grants and the LogDestinationGrants that name it in one run, the document the
// controller would send (owner's statements, then the admitted grants, merged by
// src/policy/merge.ts) and each grant's verdict, judged as the controller judges
// it (src/tenancy/grant-verdicts.ts). Pure: `validate` and `diff` print it.
//
// Two things a cluster knows are not in manifests. The grants' creation times:
// offline every grant counts as created at once, so they are admitted in
// (namespace, name) order. What AWS already holds for each grant: offline none
// is applied yet, so nothing is reserved for one.
import { DEFAULT_GRANT_ACTIONS, type LogDestinationGrant } from "../api/grant.ts";
import { statementList } from "../policy/canonical.ts";
import { grantKey, mergeGrants, type MergeResult } from "../policy/merge.ts";
import { sendablePolicy } from "../policy/ownerless.ts";
import type { PolicyDocument } from "../policy/types.ts";
import { judgeGrants } from "../tenancy/grant-verdicts.ts";
import {
  decide,
  selecting,
  type GrantTarget,
  type Labels,
  type Permission,
  type PermissionRequest,
} from "../tenancy/index.ts";
import { accountOfArn, type AwsAccount } from "../util/arn.ts";
import { isRecord } from "../util/record.ts";
import { refusalProblem, reservedSids } from "./validate-shared-problems.ts";
import type { OfflineTenancy } from "./validate-bindings.ts";
import type { ManifestPolicy, Problem } from "./validate-core.ts";
import type { ManifestGrant } from "./validate-grant.ts";

/** What stands in for the destination's account when no spec.roleArn names it. */
export const PLACEHOLDER_ACCOUNT: AwsAccount = { partition: "aws", accountId: "000000000000" };
/** What stands in for the region when neither spec.region nor --aws-region names it. */
export const PLACEHOLDER_REGION = "us-east-1";
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export type GrantReason =
  | "Applied"
  | "PolicySizeExceeded"
  | "ForceUpdateRequired"
  | "InvalidSpec"
  | "NotAccepted"
  | "NotPermitted";

export interface GrantOutcome {
  grant: ManifestGrant;
  verdict: "admitted" | "waiting" | "refused";
  /** The Ready reason the controller would give the grant. */
  reason: GrantReason;
  message: string;
  /** Bytes its principals take in the merged lists (admitted only). */
  bytes?: number;
  /** PolicySizeExceeded: bytes it would add, and bytes the document has left. */
  neededBytes?: number;
  leftBytes?: number;
}

export interface SharedPolicy {
  policy: ManifestPolicy;
  region: string;
  resource: string;
  /** What was not known offline and stood in: "account", "region". */
  placeholders: ("account" | "region")[];
  merge: MergeResult;
  /** The document as it would be sent: a grants-only policy with nothing admitted is one Deny. */
  document: PolicyDocument;
  bytes: number;
  grants: GrantOutcome[];
}

export interface SharedInput {
  policies: readonly ManifestPolicy[];
  grants: readonly ManifestGrant[];
  /** Labels of the Namespace manifests read, in the inputs and the --bindings files. */
  namespaces: ReadonlyMap<string, Labels>;
  tenancy?: OfflineTenancy | undefined;
  /** The namespace of objects that set none. */
  namespace: string;
  region?: string | undefined;
  /** The destination's ARN when it is known (diff reads it); otherwise built from spec.roleArn. */
  resourceOf?: (policy: ManifestPolicy) => string | undefined;
}

export interface SharedAnalysis {
  shared: SharedPolicy[];
  problems: Problem[];
  warnings: Problem[];
}

const policyKeyOf = (policy: ManifestPolicy, fallback: string) =>
  `${policy.namespace ?? fallback}/${policy.name}`;

/** The policy a grant names, as `namespace/name`; undefined when its spec does not say. */
function referenceOf(grant: ManifestGrant): string | undefined {
  const ref =
    grant.spec?.policyRef ?? (isRecord(grant.rawSpec) ? grant.rawSpec.policyRef : undefined);
  if (!isRecord(ref) || typeof ref.name !== "string") return undefined;
  const namespace = typeof ref.namespace === "string" ? ref.namespace : grant.namespace;
  return `${namespace}/${ref.name}`;
}

export function analyseShared(input: SharedInput): SharedAnalysis {
  const out: SharedAnalysis = { shared: [], problems: [], warnings: [] };
  const byPolicy = new Map<string, ManifestGrant[]>();
  for (const grant of input.grants) {
    const key = referenceOf(grant);
    if (key === undefined) continue;
    byPolicy.set(key, [...(byPolicy.get(key) ?? []), grant]);
  }
  const known = new Set<string>();
  for (const policy of input.policies) {
    const key = policyKeyOf(policy, input.namespace);
    known.add(key);
    const grants = byPolicy.get(key) ?? [];
    if (policy.spec.grants === undefined && grants.length === 0) continue;
    out.shared.push(sharePolicy(input, policy, key, grants, out));
  }
  if (input.tenancy) {
    for (const [key, grants] of byPolicy) {
      if (known.has(key)) continue;
      for (const grant of grants) {
        out.warnings.push({
          file: grant.file,
          line: grant.lineOf(["policyRef"]),
          path: "spec.policyRef",
          message: `LogDestinationPolicy ${key} is not among the inputs, so the bindings cannot be checked against its destination`,
        });
      }
    }
  }
  return out;
}

function labelsFor(input: SharedInput) {
  return (namespace: string): Labels => ({
    ...input.tenancy?.namespaces.get(namespace),
    ...input.namespaces.get(namespace),
    [NAMESPACE_NAME_LABEL]: namespace,
  });
}

function sharePolicy(
  input: SharedInput,
  policy: ManifestPolicy,
  policyKey: string,
  grants: readonly ManifestGrant[],
  out: SharedAnalysis,
): SharedPolicy {
  const { spec } = policy;
  const placeholders: SharedPolicy["placeholders"] = [];
  const known = spec.region ?? input.region;
  if (known === undefined) placeholders.push("region");
  const region = known ?? PLACEHOLDER_REGION;
  let resource = input.resourceOf?.(policy);
  if (resource === undefined) {
    const fromRole = spec.roleArn === undefined ? undefined : accountOfArn(spec.roleArn);
    if (fromRole === undefined) placeholders.push("account");
    const account = fromRole ?? PLACEHOLDER_ACCOUNT;
    resource = `arn:${account.partition}:logs:${region}:${account.accountId}:destination:${spec.destinationName}`;
  }
  const actions = spec.grants?.actions ?? DEFAULT_GRANT_ACTIONS;
  const target: GrantTarget = {
    destinationName: spec.destinationName,
    region,
    roleArn: spec.roleArn,
    resource,
    actions,
  };
  const labelsOf = labelsFor(input);
  const tenancy = input.tenancy;
  const decideFor = (request: PermissionRequest): Permission =>
    tenancy === undefined
      ? { permitted: true, binding: "" }
      : decide(selecting(tenancy.bindings, labelsOf(request.namespace)), request);
  const judgement = judgeGrants({
    spec,
    policyKey,
    grants: grants.map(asObject),
    target,
    labelsOf,
    decide: decideFor,
  });
  if (spec.grants !== undefined) out.problems.push(...reservedSids(policy));
  const owner =
    statementList(policy.policy.document).length > 0 ? policy.policy.document : undefined;
  const merge = mergeGrants({
    resource,
    actions,
    owner,
    grants: spec.grants === undefined ? [] : judgement.contributions,
    forceUpdate: spec.forceUpdate,
  });
  const sendable = sendablePolicy({ ok: true, ...merge, hash: "" });
  const outcomes: GrantOutcome[] = [];
  for (const grant of grants) {
    const key = grantKey(grant);
    const refused = judgement.refused.get(key);
    const verdict = merge.verdicts.get(key);
    if (refused) {
      const message = refusalProblem(grant, refused, target, decideFor, out.problems);
      outcomes.push({ grant, verdict: "refused", reason: refused.reason, message });
    } else if (verdict?.state === "Admitted") {
      outcomes.push({
        grant,
        verdict: "admitted",
        reason: "Applied",
        message: `its principals take ${String(verdict.bytes)} bytes of the merged policy`,
        bytes: verdict.bytes,
      });
    } else if (verdict?.reason === "PolicySizeExceeded") {
      const message = `would wait for room: its principals need ${String(verdict.neededBytes)} more bytes and the merged policy has ${String(verdict.leftBytes)} of ${String(merge.limitBytes)} left`;
      outcomes.push({
        grant,
        verdict: "waiting",
        reason: "PolicySizeExceeded",
        message,
        neededBytes: verdict.neededBytes,
        leftBytes: verdict.leftBytes,
      });
      out.warnings.push({
        file: grant.file,
        line: grant.lineOf(["principals"]),
        path: "spec.principals",
        message,
      });
    } else if (verdict?.reason === "ForceUpdateRequired") {
      const message = `would wait: it adds an organization to a destination that grants account IDs only, which needs spec.forceUpdate on LogDestinationPolicy ${policyKey}`;
      outcomes.push({ grant, verdict: "waiting", reason: "ForceUpdateRequired", message });
      out.warnings.push({
        file: grant.file,
        line: grant.lineOf(["principals"]),
        path: "spec.principals",
        message,
      });
    }
  }
  return {
    policy,
    region,
    resource,
    placeholders,
    merge,
    document: sendable.document,
    bytes: sendable.bytes,
    grants: outcomes,
  };
}

/** The grant as the controller's cache holds it; manifests carry no creation time. */
function asObject(grant: ManifestGrant): LogDestinationGrant {
  return { metadata: { name: grant.name, namespace: grant.namespace }, spec: grant.rawSpec };
}
