// The grants phase: the document a policy that accepts grants sends is rebuilt
// here from the owner's statements and every grant both consents admit (see
// src/policy/merge.ts). What each grant holds in AWS now comes from the policy's
// proven record only (grant-record.ts). The merged document becomes the desired
// one, so compare, drift, apply and record work on it unchanged.
import { DEFAULT_GRANT_ACTIONS, type LogDestinationGrant } from "../../api/grant.ts";
import { GRANT_FINALIZER } from "../../api/names.ts";
import { destinationArn } from "../../aws/identity.ts";
import { keyOf, refOf } from "../../kube/keys.ts";
import { statementList } from "../../policy/canonical.ts";
import { grantKey, mergeGrants, type GrantContribution } from "../../policy/merge.ts";
import { judgeGrants } from "../../tenancy/grant-verdicts.ts";
import { quote } from "../../util/quote.ts";
import {
  required,
  type PhaseResult,
  type ReconcileContext,
  type ReconcileDeps,
} from "../context.ts";
import { mergedDesiredState } from "../desired.ts";
import {
  isEmpty,
  MERGED_SIDS,
  recordedGrantJson,
  recordedGrants,
  recordedOwnerPolicy,
  type RecordedGrant,
  type RecordedGrantJson,
} from "../grant-record.ts";
import { ReconcileFailure } from "../outcomes.ts";
import { GRANT_WRITES_IN_FLIGHT } from "../options.ts";
import { mapConcurrently } from "../../util/map-concurrently.ts";
import { ownRecord } from "../record.ts";

const keyOfGrant = (grant: LogDestinationGrant) =>
  grantKey({ namespace: grant.metadata.namespace ?? "", name: grant.metadata.name });

export async function mergeAcceptedGrants(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  const spec = required(ctx.spec);
  const policyKey = keyOf(ctx.ref);
  const grants = deps.grantsOf(policyKey);
  const record = ownRecord(ctx.object, deps.memory);
  const recorded = recordedGrants(record);
  if (spec.grants === undefined && grants.length === 0 && recorded.size === 0) return undefined;
  const desired = required(ctx.desired);
  const account = ctx.destinationAccount;
  if (!account) {
    throw new ReconcileFailure("InvalidSpec", "spec.roleArn: names no AWS account");
  }
  const resource = destinationArn(account, desired.region, desired.destinationName);
  const actions = spec.grants?.actions ?? DEFAULT_GRANT_ACTIONS;
  const judgement = judgeGrants({
    spec,
    policyKey,
    grants,
    target: {
      destinationName: desired.destinationName,
      region: desired.region,
      roleArn: desired.roleArn,
      resource,
      actions,
    },
    labelsOf: deps.namespaceLabels,
    decide: deps.grantDecision,
  });
  const byKey = new Map(grants.map((g) => [keyOfGrant(g), g]));
  ctx.grants = { resource, judgement, grants: byKey, next: new Map() };
  // Without spec.grants the owner's document alone is sent: any grant it held leaves with the next put.
  if (spec.grants === undefined) return undefined;
  refuseMergedSids(ctx);

  const contributions: GrantContribution[] = judgement.contributions.map((c) => {
    const key = grantKey(c);
    const held = recorded.get(key);
    const uid = byKey.get(key)?.metadata.uid;
    return held !== undefined && held.uid === uid ? { ...c, applied: held.principals } : c;
  });
  const merge = mergeGrants({
    resource,
    actions,
    owner: ctx.ownerDocument,
    ownerApplied: record === undefined ? undefined : recordedOwnerPolicy(record),
    grants: contributions,
    forceUpdate: spec.forceUpdate,
  });
  const next = new Map<string, RecordedGrant>();
  const json: Record<string, RecordedGrantJson> = {};
  for (const [key, verdict] of merge.verdicts) {
    const principals = verdict.state === "Admitted" ? verdict.principals : verdict.kept;
    const uid = byKey.get(key)?.metadata.uid;
    if (uid === undefined || isEmpty(principals)) continue;
    const held = { uid, principals };
    next.set(key, held);
    json[key] = recordedGrantJson(held);
  }
  ctx.grants = { ...ctx.grants, merge, next };
  ctx.desired = mergedDesiredState(desired, merge.document, json, ctx.object.metadata.uid);
  if (merge.ownerRefused) ctx.ownerRefused = merge.ownerRefused;
  await holdFinalizers(ctx, deps, next.keys());
  return undefined;
}

/** The owner's statements may not use the ids the merge writes, or they could not be told apart later. */
function refuseMergedSids(ctx: ReconcileContext): void {
  const owner = ctx.ownerDocument;
  if (!owner) return;
  statementList(owner).forEach((statement, index) => {
    if (statement.Sid !== undefined && MERGED_SIDS.has(statement.Sid)) {
      throw new ReconcileFailure(
        "InvalidSpec",
        `spec.accessPolicy.Statement[${String(index)}].Sid: ${quote(statement.Sid)} is reserved for the statements merged from grants while spec.grants is set`,
      );
    }
  });
}

/**
 * Before a put that carries a grant's principals, the grant gets the finalizer
 * that keeps it until a put without them has landed: a grant deleted meanwhile
 * still has its principals removed before it goes.
 */
async function holdFinalizers(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
  keys: Iterable<string>,
): Promise<void> {
  const missing = [...keys].flatMap((key) => {
    const grant = ctx.grants?.grants.get(key);
    if (!grant || grant.metadata.deletionTimestamp) return [];
    const uid = grant.metadata.uid ?? key;
    // The cache may not show a finalizer this process has just added.
    if (deps.grantMemory.get(uid)?.held === true) return [];
    return (grant.metadata.finalizers ?? []).includes(GRANT_FINALIZER) ? [] : [{ key, grant, uid }];
  });
  await mapConcurrently(missing, GRANT_WRITES_IN_FLIGHT, async ({ key, grant, uid }) => {
    await deps.grantWriter.patchGrantFinalizers(
      refOf(key),
      [...(grant.metadata.finalizers ?? []), GRANT_FINALIZER],
      grant.metadata.resourceVersion ?? "",
    );
    deps.grantMemory.set(uid, { ...deps.grantMemory.get(uid), held: true });
  });
}
