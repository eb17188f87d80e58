// Phases that decide, before any AWS call, whether this object may be reconciled at all.
import { ownerText, whereText } from "../wording.ts";
import { checkSpec, publicAccessRemedy } from "../../api/spec-check.ts";
import { OVERSIZED_POLICY_MARK } from "../../api/v1alpha1.ts";
import { MAX_POLICY_BYTES } from "../../util/limits.ts";
import { keyOf } from "../../kube/keys.ts";
import { describePublicStatements, findPublicStatements } from "../../policy/index.ts";
import { statementList } from "../../policy/canonical.ts";
import { STALLED } from "../conditions.ts";
import {
  required,
  type PhaseResult,
  type ReconcileContext,
  type ReconcileDeps,
} from "../context.ts";
import { desiredState } from "../desired.ts";
import { UNKNOWN } from "../evidence.ts";
import { ReconcileFailure } from "../outcomes.ts";
import { formatIssues } from "../../util/issues.ts";

/**
 * Suspended objects still record the generation they saw, so no older Ready=True
 * outlives a spec change. Nothing is seen at the destination while suspended, so
 * what it holds becomes unknown: resuming reads or puts before it says Applied.
 */
export function skipSuspended(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const raw = ctx.object.spec as { suspend?: unknown } | undefined;
  if (raw?.suspend !== true) return undefined;
  if (ctx.object.metadata.uid) deps.memory.delete(ctx.object.metadata.uid);
  ctx.liveHash = UNKNOWN;
  return {
    reason: "Suspended",
    message:
      "spec.suspend is true: the controller reads and writes nothing in AWS for this object; set it to false to resume",
  };
}

export function validateSpec(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const policy = (ctx.object.spec as { accessPolicy?: Record<string, unknown> } | undefined)
    ?.accessPolicy;
  const oversized = policy?.[OVERSIZED_POLICY_MARK];
  if (typeof oversized === "number") {
    throw new ReconcileFailure(
      "InvalidSpec",
      `spec.accessPolicy: ${oversized} characters as JSON; AWS accepts at most ${MAX_POLICY_BYTES} bytes`,
    );
  }
  const checked = checkSpec(ctx.object.spec ?? {});
  if (!checked.ok && checked.stage === "schema")
    throw new ReconcileFailure("InvalidSpec", formatIssues(checked.issues));
  ctx.spec = checked.spec;
  // A missing region is named before the policy's issues, as the region is the controller's to default.
  const resolved = checked.ok ? checked.policy : { ok: false as const, issues: checked.issues };
  ctx.desired = desiredState(checked.spec, deps.defaultRegion, ctx.object.metadata.uid, resolved);
  if (resolved.ok && statementList(resolved.document).length > 0)
    ctx.ownerDocument = resolved.document;
  return undefined;
}

/** Refuses, before any AWS call, a policy that lets every AWS account subscribe. */
export function refuseUnsafePolicy(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const spec = required(ctx.spec);
  const exposed = findPublicStatements(required(ctx.desired).document);
  if (exposed.length === 0) return undefined;
  const remedy = publicAccessRemedy(spec.allowPublicAccess, deps.denyPublicAccessOverride);
  if (remedy === undefined) return undefined;
  throw new ReconcileFailure(
    "UnsafePolicy",
    `spec.accessPolicy: ${describePublicStatements(exposed)}; ${remedy}`,
  );
}

/**
 * Only the oldest object that targets a destination writes to it. The one that
 * yields forgets its record: the owner may write the destination meanwhile, so
 * should this object own it again later, it reads or puts before reporting Applied.
 */
export function yieldToOwner(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const owner = deps.ownerOf(keyOf(ctx.ref));
  if (owner === undefined) return undefined;
  if (ctx.object.metadata.uid) deps.memory.delete(ctx.object.metadata.uid);
  ctx.forgetRecord = true;
  const desired = required(ctx.desired);
  return {
    reason: "Conflict",
    message:
      `The ${whereText(desired)} is managed by ${ownerText(owner, ctx.ref.namespace)}; ` +
      "this object makes no AWS call while that one exists",
  };
}

/**
 * An object AWS rejected stays stalled until its generation changes, also across
 * restarts. Not a policy that accepts grants: its document also changes with
 * its grants, and one grant's rejected principal must not hold the others back
 * once that grant is fixed or deleted.
 */
export function skipWhileStalled(ctx: ReconcileContext): PhaseResult {
  if (ctx.spec?.grants !== undefined) return undefined;
  const stalled = ctx.object.status?.conditions?.find(
    (c) => c.type === STALLED && c.status === "True",
  );
  if (stalled?.reason === "AWSRejected" && stalled.observedGeneration === ctx.generation) {
    return { reason: "AWSRejected", message: stalled.message };
  }
  return undefined;
}
