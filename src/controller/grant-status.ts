// What a grant's status says after a reconcile of the policy it names. Pure:
// the settle step (grant-settle.ts) decides what to write and when. A grant is
// Applied only when the record this reconcile proved (AWS holds it, as written
// or read) carries every one of its principals; otherwise it says what holds it
// back: its own refusal, the room left, the owner's forceUpdate, or the
// policy's own reason. A namespace the owner does not accept grants from learns
// nothing of the policy beyond that.
import type { LogDestinationGrant } from "../api/grant.ts";
import { ownerAccepts } from "../tenancy/index.ts";
import type { GrantPrincipals, GrantVerdict } from "../policy/merge.ts";
import { MAX_POLICY_BYTES } from "../util/limits.ts";
import { quote } from "../util/quote.ts";
import type { ReconcileContext, ReconcileDeps } from "./context.ts";
import { isEmpty } from "./grant-record.ts";
import type { Outcome, Reason } from "./outcomes.ts";
import { whereText } from "./wording.ts";
import { canonicalJson } from "../policy/canonical.ts";

export interface GrantView {
  reason: Reason;
  message: string;
  destinationArn?: string;
  policyHash?: string;
  bytes?: number;
  applied?: Partial<GrantPrincipals> & { policyUid?: string };
}

export const policyText = (ref: { namespace: string; name: string }) =>
  `LogDestinationPolicy ${quote(`${ref.namespace}/${ref.name}`)}`;

/** The grant's view, or undefined for a grant being deleted (it only waits for its finalizer). */
export function grantView(
  grant: LogDestinationGrant,
  key: string,
  ctx: ReconcileContext,
  deps: ReconcileDeps,
  outcome: Outcome,
): GrantView | undefined {
  if (grant.metadata.deletionTimestamp) return undefined;
  const pass = ctx.grants;
  if (!pass) return earlyView(grant, ctx, deps, outcome);
  const refused = pass.judgement.refused.get(key);
  if (refused) return { reason: refused.reason, message: refused.message };
  const verdict = pass.merge?.verdicts.get(key);
  if (!verdict) return undefined;
  const landed = ctx.recorded === true;
  const held = pass.next.get(key);
  const applied = landed ? appliedOf(held?.principals, ctx.object.metadata.uid) : undefined;
  const common: Omit<GrantView, "reason" | "message"> = {
    destinationArn: pass.resource,
    bytes: verdict.bytes,
    ...(landed && ctx.desired ? { policyHash: appliedHash(grant, applied, ctx.desired.hash) } : {}),
    ...(applied ? { applied } : {}),
  };
  if (verdict.state === "Admitted") {
    if (!landed) return { ...mirror(ctx, outcome), ...common };
    const where = ctx.desired ? whereText(ctx.desired) : "its destination";
    return {
      reason: "Applied",
      message: `Its principals are in the policy the ${where} holds, through ${policyText(ctx.ref)}; they take ${String(verdict.bytes)} bytes of the ${String(MAX_POLICY_BYTES)} AWS allows`,
      ...common,
    };
  }
  const holders = [...(pass.merge?.verdicts.values() ?? [])].filter(
    (v) => v.state === "Admitted" || !isEmpty(v.kept),
  ).length;
  return { ...waitingView(verdict, ctx, holders), ...common };
}

function waitingView(
  verdict: Extract<GrantVerdict, { state: "Waiting" }>,
  ctx: ReconcileContext,
  holders: number,
): Pick<GrantView, "reason" | "message"> {
  const kept = isEmpty(verdict.kept)
    ? "nothing of it is in AWS"
    : "the principals applied before stay in AWS meanwhile";
  if (verdict.reason === "PolicySizeExceeded") {
    return {
      reason: "PolicySizeExceeded",
      message: `spec.principals: needs ${String(verdict.neededBytes)} more bytes, but the merged policy of ${policyText(ctx.ref)} has ${String(verdict.leftBytes)} of ${String(MAX_POLICY_BYTES)} bytes left (the owner's statements and ${String(holders)} grant${holders === 1 ? "" : "s"} hold the rest); ${kept}. It is admitted when room frees up (oldest grants first); organizationIds or organizationPaths take far less room than accounts`,
    };
  }
  return {
    reason: "ForceUpdateRequired",
    message: `spec.principals: admitting organizations to a destination that grants account IDs only needs forceUpdate, and ${policyText(ctx.ref)} sets spec.forceUpdate false; ${kept}. The policy's owner decides`,
  };
}

/** The policy is not Ready for reasons of its own: the grant says so, with the policy's reason. */
function mirror(ctx: ReconcileContext, outcome: Outcome): Pick<GrantView, "reason" | "message"> {
  return {
    reason: outcome.reason,
    message: `${policyText(ctx.ref)} is not Ready (${outcome.reason}): ${outcome.message}`,
  };
}

/** The policy's reconcile ended before grants were judged: whether it accepts them at all comes first. */
function earlyView(
  grant: LogDestinationGrant,
  ctx: ReconcileContext,
  deps: ReconcileDeps,
  outcome: Outcome,
): GrantView {
  const policy = policyText(ctx.ref);
  const spec = ctx.spec;
  if (ctx.object.metadata.deletionTimestamp) {
    return { reason: "PolicyNotFound", message: `${policy} is being deleted` };
  }
  if (outcome.reason === "Suspended") return mirror(ctx, outcome);
  if (!spec) {
    return {
      reason: "NotAccepted",
      message: `${policy} has no valid spec, so it accepts no grants`,
    };
  }
  if (spec.grants === undefined) {
    return {
      reason: "NotAccepted",
      message: `${policy} does not accept grants: it sets no spec.grants`,
    };
  }
  if (spec.mode === "Observe") {
    return {
      reason: "NotAccepted",
      message: `${policy} is in Observe mode and accepts no grants`,
    };
  }
  const namespace = grant.metadata.namespace ?? "";
  if (!ownerAccepts(spec.grants.from.namespaceSelector, deps.namespaceLabels(namespace) ?? {})) {
    return {
      reason: "NotAccepted",
      message: `${policy} does not accept grants from namespace ${quote(namespace)}: spec.grants.from.namespaceSelector does not select it`,
    };
  }
  return mirror(ctx, outcome);
}

/**
 * The hash of the policy the grant's principals went out with. Another grant's
 * change puts a new document but changes nothing of this grant, so its status
 * is not rewritten for it: a hundred grants on one destination would otherwise
 * cost a hundred writes for every one added.
 */
function appliedHash(
  grant: LogDestinationGrant,
  applied: GrantView["applied"],
  current: string,
): string {
  const before = grant.status;
  const ready = before?.conditions?.find((c) => c.type === "Ready");
  if (before?.policyHash === undefined || ready?.reason !== "Applied") return current;
  const unchanged =
    before.observedGeneration === grant.metadata.generation &&
    canonicalJson(before.applied) === canonicalJson(applied);
  return unchanged ? before.policyHash : current;
}

function appliedOf(
  principals: GrantPrincipals | undefined,
  policyUid: string | undefined,
): GrantView["applied"] {
  const out: NonNullable<GrantView["applied"]> = policyUid === undefined ? {} : { policyUid };
  if (principals?.accounts.length) out.accounts = [...principals.accounts].sort();
  if (principals?.organizationIds.length)
    out.organizationIds = [...principals.organizationIds].sort();
  if (principals?.organizationPaths.length)
    out.organizationPaths = [...principals.organizationPaths].sort();
  return out;
}
