// One reconcile of one LogDestinationPolicy: an ordered list of small phases,
// then a single summarize step that writes status. A phase either continues,
// ends the reconcile with a declared outcome, or throws ReconcileFailure.
import { quote } from "../util/quote.ts";
import { conditionsFor, sameConditions } from "./conditions.ts";
import type { Phase, ReconcileContext, ReconcileDeps } from "./context.ts";
import { rfc3339 } from "../util/time.ts";
import { canonicalJson, utf8ByteLength } from "../policy/index.ts";
import { liveFields, liveFieldsPatch } from "./live-status.ts";
import { ReconcileFailure, type Outcome } from "./outcomes.ts";
import { applyPolicy, compareWithLastApplied, recordApplied } from "./phases/apply.ts";
import { finalizeDeletion, syncFinalizer } from "./phases/deletion.ts";
import {
  refuseUnsafePolicy,
  skipSuspended,
  skipWhileStalled,
  validateSpec,
  yieldToOwner,
} from "./phases/guards.ts";
import { detectDrift, driftInterval, intervalNote, observeLivePolicy } from "./phases/observe.ts";
import { recordHash } from "./record.ts";
import { checkPermission } from "./phases/permission.ts";
import { locateDestination } from "./phases/locate.ts";
import { identifyDestination, weighRecord } from "./phases/identify.ts";
import { destinationArn } from "../aws/identity.ts";
import { mergeAcceptedGrants } from "./phases/grants.ts";
import { settleGrants } from "./grant-settle.ts";
import { grantCounts } from "./grant-counts.ts";

export type { ReconcileContext, ReconcileDeps } from "./context.ts";

const PHASES: readonly (readonly [string, Phase])[] = [
  ["finalize", finalizeDeletion],
  ["suspend", skipSuspended],
  ["validate", validateSpec],
  ["permission", checkPermission],
  ["finalizer", syncFinalizer],
  ["guardrail", refuseUnsafePolicy],
  ["identify", identifyDestination],
  ["weigh", weighRecord],
  ["observe", observeLivePolicy],
  ["conflict", yieldToOwner],
  ["stalled", skipWhileStalled],
  ["grants", mergeAcceptedGrants],
  ["compare", compareWithLastApplied],
  ["drift", detectDrift],
  ["apply", applyPolicy],
  ["record", recordApplied],
];

export interface ReconcileResult {
  outcome?: Outcome;
  putCalled: boolean;
  /** Time until the live policy should be looked at again; 0 when drift checks are off. */
  driftIntervalMs: number;
  /** The drift found, if any. */
  drift?: string;
  /** Look again after this long, whatever the outcome. */
  requeueAfterMs?: number;
  /** Where the object's destination is and what status says of it, for the drift sweep. */
  verification?: Verification;
  notice?: ReconcileContext["notice"];
  /** Size of the canonical policy AWS holds for this object, when this reconcile knows it. */
  policyBytes?: number;
}

export interface Verification {
  region: string;
  roleArn?: string;
  destinationName: string;
  desiredHash: string;
  /** The live policy's hash as status shows it after this reconcile. */
  liveHash: string | undefined;
  /** The destination's ARN as last read; undefined until a read. */
  arn: string | undefined;
}

export async function reconcile(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  let outcome: Outcome | undefined;
  try {
    for (const [, phase] of PHASES) {
      const result = await phase(ctx, deps);
      if (result === "stop") {
        await keepDoubt(ctx, deps);
        return finish(ctx, deps, undefined);
      }
      if (result) {
        outcome = result;
        break;
      }
    }
  } catch (error) {
    // An unexpected error's text is not ours to show in status: its name is, the rest goes to the log.
    outcome =
      error instanceof ReconcileFailure
        ? {
            reason: error.reason,
            message: error.message,
            ...(error.logDetail === undefined ? {} : { logDetail: error.logDetail }),
          }
        : {
            reason: "ReconcileError",
            message: `The reconcile failed unexpectedly (${error instanceof Error ? quote(error.name, 64) : "a non-error value"}); the controller's log has the details`,
            logDetail: String(error),
          };
  }
  outcome ??= { reason: "ReconcileError", message: "reconcile ended without an outcome" };
  const note = intervalNote(ctx, deps);
  if (note) outcome = { ...outcome, message: `${outcome.message}. ${note}` };
  locateDestination(ctx);
  await summarize(ctx, deps, outcome);
  await settleGrants(ctx, deps, outcome);
  return finish(ctx, deps, outcome);
}

/** A reconcile that writes no status still keeps a contradiction it found (see record.ts). */
async function keepDoubt(ctx: ReconcileContext, deps: ReconcileDeps): Promise<void> {
  if (ctx.liveHash !== undefined && ctx.object.status?.livePolicyHash !== ctx.liveHash) {
    await deps.writer.patchStatus(ctx.ref, { livePolicyHash: ctx.liveHash });
  }
}

function finish(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
  outcome: Outcome | undefined,
): ReconcileResult {
  return {
    ...(outcome ? { outcome } : {}),
    putCalled: ctx.inSync === "written",
    driftIntervalMs: outcome ? driftInterval(ctx, deps) : 0,
    ...(ctx.requeueAfterMs === undefined ? {} : { requeueAfterMs: ctx.requeueAfterMs }),
    ...(ctx.drift ? { drift: ctx.drift } : {}),
    ...(outcome && ctx.desired
      ? {
          verification: {
            region: ctx.desired.region,
            ...(ctx.desired.roleArn === undefined ? {} : { roleArn: ctx.desired.roleArn }),
            destinationName: ctx.desired.destinationName,
            desiredHash: ctx.desired.hash,
            liveHash: ctx.liveHash ?? ctx.object.status?.livePolicyHash,
            arn:
              ctx.liveArn ??
              (ctx.account
                ? destinationArn(ctx.account, ctx.desired.region, ctx.desired.destinationName)
                : ctx.object.status?.destinationArn),
          },
        }
      : {}),
    ...(ctx.notice ? { notice: ctx.notice } : {}),
    ...(ctx.inSync && ctx.desired ? { policyBytes: utf8ByteLength(ctx.desired.canonical) } : {}),
  };
}

/** The only status write of a reconcile, skipped when nothing would change. */
async function summarize(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
  outcome: Outcome,
): Promise<void> {
  const status = ctx.object.status ?? {};
  const conditions = conditionsFor(status.conditions ?? [], outcome, ctx.generation, deps.now());
  const patch: Record<string, unknown> = {};
  if (!sameConditions(status.conditions, conditions)) patch.conditions = conditions;
  if (status.observedGeneration !== ctx.generation) patch.observedGeneration = ctx.generation;
  if (ctx.inSync && ctx.desired && status.appliedPolicyHash !== ctx.desired.hash) {
    patch.appliedPolicyHash = ctx.desired.hash;
  }
  // The record proves what AWS holds once recordApplied has written it (see record.ts).
  const record = ctx.inSync && ctx.desired ? recordHash(ctx.desired.annotation) : undefined;
  if (record && ctx.recorded === true) {
    if (status.appliedRecordHash !== record) patch.appliedRecordHash = record;
  } else if (ctx.forgetRecord && status.appliedRecordHash !== undefined) {
    patch.appliedRecordHash = null;
  }
  if (ctx.appliedAt) patch.lastAppliedTime = rfc3339(ctx.appliedAt);
  if (ctx.liveHash !== undefined && status.livePolicyHash !== ctx.liveHash)
    patch.livePolicyHash = ctx.liveHash;
  if (ctx.checkedAt) patch.lastDriftCheckTime = rfc3339(ctx.checkedAt);
  Object.assign(patch, liveFieldsPatch(status, liveFields(ctx, deps.defaultRegion)));
  const counts = grantCounts(ctx);
  if (counts && canonicalJson(counts) !== canonicalJson(status.grants)) patch.grants = counts;
  if (Object.keys(patch).length === 0) return;
  // Merge patch replaces lists whole, so conditions always travel complete.
  if (patch.observedGeneration !== undefined && patch.conditions === undefined)
    patch.conditions = conditions;
  await deps.writer.patchStatus(ctx.ref, patch);
}
