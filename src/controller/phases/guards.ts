// Phases that decide, before any AWS call, whether this object may be reconciled at all.
import { OVERSIZED_POLICY_MARK, specSchema } from "../../api/v1alpha1.ts";
import { MAX_POLICY_BYTES } from "../../util/limits.ts";
import { keyOf } from "../../kube/keys.ts";
import { describePublicStatements, findPublicStatements } from "../../policy/index.ts";
import { STALLED } from "../conditions.ts";
import {
  required,
  type PhaseResult,
  type ReconcileContext,
  type ReconcileDeps,
} from "../context.ts";
import { desiredState } from "../desired.ts";
import { ReconcileFailure } from "../outcomes.ts";
import { formatZodIssues } from "../spec-issues.ts";

/** Suspended objects still record the generation they saw, so no older Ready=True outlives a spec change. */
export function skipSuspended(ctx: ReconcileContext): PhaseResult {
  const raw = ctx.object.spec as { suspend?: unknown } | undefined;
  if (raw?.suspend !== true) return undefined;
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
  const parsed = specSchema.safeParse(ctx.object.spec ?? {});
  if (!parsed.success)
    throw new ReconcileFailure("InvalidSpec", formatZodIssues(parsed.error, "spec"));
  ctx.spec = parsed.data;
  ctx.desired = desiredState(parsed.data, deps.defaultRegion, ctx.object.metadata.uid);
  return undefined;
}

/** Refuses, before any AWS call, a policy that lets every AWS account subscribe. */
export function refuseUnsafePolicy(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const spec = required(ctx.spec);
  const exposed = findPublicStatements(required(ctx.desired).document);
  if (exposed.length === 0) return undefined;
  if (spec.allowPublicAccess && !deps.denyPublicAccessOverride) return undefined;
  const remedy = spec.allowPublicAccess
    ? "spec.allowPublicAccess is set, but this controller forbids that override (--deny-public-access-override)"
    : "add a condition on one of those keys, or set spec.allowPublicAccess: true if every AWS account may really subscribe";
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
      `Destination ${desired.destinationName} in ${desired.region} is managed by the older LogDestinationPolicy ${owner}; ` +
      "this object makes no AWS call while that one exists",
  };
}

/** An object AWS rejected stays stalled until its generation changes, also across restarts. */
export function skipWhileStalled(ctx: ReconcileContext): PhaseResult {
  const stalled = ctx.object.status?.conditions?.find(
    (c) => c.type === STALLED && c.status === "True",
  );
  if (stalled?.reason === "AWSRejected" && stalled.observedGeneration === ctx.generation) {
    return { reason: "AWSRejected", message: stalled.message };
  }
  return undefined;
}
