// Which grants of a policy may contribute principals, before any room is
// counted: the grant's own spec, the owner's consent (spec.grants.from selects
// the grant's namespace, and the policy enforces), and the platform team's (a
// binding selecting the grant's namespace permits exactly what the grant would
// add). What passes becomes a contribution to mergeGrants; what does not gets
// its reason here, and nothing of it is sent. Pure: the caches are passed in.
import { grantSpecSchema, type LogDestinationGrant } from "../api/grant.ts";
import type { LogDestinationPolicySpec } from "../api/v1alpha1.ts";
import { grantKey, type GrantContribution, type GrantPrincipals } from "../policy/merge.ts";
import {
  grantPermissionRequest,
  ownerAccepts,
  type GrantTarget,
  type Labels,
  type Permission,
  type PermissionRequest,
} from "./index.ts";
import { formatPath } from "../api/field-path.ts";

export type GrantRefusal = "InvalidSpec" | "NotAccepted" | "NotPermitted";

export interface GrantJudgement {
  /** Grants that may contribute, for mergeGrants. */
  contributions: GrantContribution[];
  /** By grant key: why a grant contributes nothing; what AWS holds for it leaves with the next put. */
  refused: Map<string, { reason: GrantRefusal; message: string }>;
  /** Keys of grants being deleted: their principals leave with the next put. */
  deleting: string[];
}

export interface GrantJudgeInput {
  spec: LogDestinationPolicySpec;
  /** The policy's key, for messages. */
  policyKey: string;
  grants: readonly LogDestinationGrant[];
  target: GrantTarget;
  /** A namespace's labels as the namespace cache holds them; undefined when it is not known. */
  labelsOf: (namespace: string) => Labels | undefined;
  /** The bindings' decision for a request, as for a policy. */
  decide: (request: PermissionRequest) => Permission;
}

export function principalsOf(spec: {
  accounts?: readonly string[] | undefined;
  organizationIds?: readonly string[] | undefined;
  organizationPaths?: readonly string[] | undefined;
}): GrantPrincipals {
  return {
    accounts: spec.accounts ?? [],
    organizationIds: spec.organizationIds ?? [],
    organizationPaths: spec.organizationPaths ?? [],
  };
}

const createdAt = (grant: LogDestinationGrant) =>
  Date.parse(String(grant.metadata.creationTimestamp ?? "")) || 0;

export function judgeGrants(input: GrantJudgeInput): GrantJudgement {
  const judgement: GrantJudgement = { contributions: [], refused: new Map(), deleting: [] };
  for (const grant of input.grants) {
    const namespace = grant.metadata.namespace ?? "";
    const key = grantKey({ namespace, name: grant.metadata.name });
    if (grant.metadata.deletionTimestamp) {
      judgement.deleting.push(key);
      continue;
    }
    const parsed = grantSpecSchema.safeParse(grant.spec);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((issue) => `${formatPath("spec", issue.path)}: ${issue.message}`)
        .join("; ");
      judgement.refused.set(key, { reason: "InvalidSpec", message });
      continue;
    }
    const accepted = acceptance(input, namespace);
    if (accepted) {
      judgement.refused.set(key, { reason: "NotAccepted", message: accepted });
      continue;
    }
    const desired = principalsOf(parsed.data.principals);
    const permission = input.decide(grantPermissionRequest(namespace, desired, input.target));
    if (!permission.permitted) {
      judgement.refused.set(key, { reason: "NotPermitted", message: permission.message });
      continue;
    }
    judgement.contributions.push({
      namespace,
      name: grant.metadata.name,
      createdAt: createdAt(grant),
      desired,
    });
  }
  return judgement;
}

/** Why the owner does not accept grants from this namespace; undefined when it does. */
function acceptance(input: GrantJudgeInput, namespace: string): string | undefined {
  const { spec, policyKey } = input;
  if (spec.grants === undefined) {
    return `LogDestinationPolicy ${policyKey} does not accept grants: it sets no spec.grants`;
  }
  if (spec.mode === "Observe") {
    return `LogDestinationPolicy ${policyKey} is in Observe mode and accepts no grants`;
  }
  if (!ownerAccepts(spec.grants.from.namespaceSelector, input.labelsOf(namespace) ?? {})) {
    return `LogDestinationPolicy ${policyKey} does not accept grants from namespace ${namespace}: spec.grants.from.namespaceSelector does not select it`;
  }
  return undefined;
}
