// Phases that read the live policy: Observe mode, and drift detection in Enforce mode.
import { parseDuration } from "../../api/duration.ts";
import type { LiveDestination } from "../../aws/destinations.ts";
import { summarizePolicyDiff } from "../../policy/index.ts";
import {
  required,
  type PhaseResult,
  type ReconcileContext,
  type ReconcileDeps,
} from "../context.ts";
import { liveHash } from "../live.ts";
import { ReconcileFailure } from "../outcomes.ts";
import { failureFromAws } from "./aws-failure.ts";
import { awsTarget } from "./target.ts";

export function driftInterval(ctx: ReconcileContext, deps: ReconcileDeps): number {
  const text = ctx.spec?.driftDetection?.interval;
  return (text === undefined ? undefined : parseDuration(text)) ?? deps.defaultDriftIntervalMs;
}

async function readLive(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<LiveDestination | undefined> {
  const desired = required(ctx.desired);
  try {
    const live = await deps.aws.describe(
      awsTarget(ctx.ref, desired.region, desired.roleArn),
      desired.destinationName,
      ctx.signal,
    );
    ctx.liveArn = live?.arn;
    return live;
  } catch (error) {
    throw failureFromAws(error, desired, ctx.signal);
  } finally {
    ctx.checkedAt = deps.now();
  }
}

/** Observe mode: read the live policy, report how it differs, never write. */
export async function observeLivePolicy(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  if (required(ctx.spec).mode !== "Observe") return undefined;
  const desired = required(ctx.desired);
  const where = `destination ${desired.destinationName} in ${desired.region}`;
  const live = await readLive(ctx, deps);
  if (!live) throw new ReconcileFailure("DestinationNotFound", `The ${where} does not exist`);
  ctx.liveHash = liveHash(live.accessPolicy);
  const diff = summarizePolicyDiff(live.accessPolicy, desired.document);
  if (diff.equal) {
    return {
      reason: "InSync",
      message: `The live policy of ${where} matches the desired policy ${desired.hash}`,
    };
  }
  return {
    reason: "OutOfSync",
    message: `The live policy of ${where} differs from the desired one: ${diff.text}. Observe mode never writes; set spec.mode to Enforce to apply it.`,
  };
}

/**
 * Enforce mode: once per drift interval, compare the live policy with the one
 * last applied. Drift is corrected by the apply phase, or only reported.
 */
export async function detectDrift(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  if (ctx.inSync !== "already") return undefined;
  const interval = driftInterval(ctx, deps);
  const last = Date.parse(ctx.object.status?.lastDriftCheckTime ?? "");
  if (interval <= 0 || (Number.isFinite(last) && deps.now().getTime() - last < interval))
    return undefined;
  const desired = required(ctx.desired);
  const where = `destination ${desired.destinationName} in ${desired.region}`;
  const live = await readLive(ctx, deps);
  if (!live) throw new ReconcileFailure("DestinationNotFound", `The ${where} no longer exists`);
  ctx.liveHash = liveHash(live.accessPolicy);
  const diff = summarizePolicyDiff(live.accessPolicy, desired.document);
  if (diff.equal) return undefined;
  ctx.drift = `The live policy of ${where} drifted from the applied one: ${diff.text}`;
  if (required(ctx.spec).driftPolicy === "Report") {
    return {
      reason: "Drifted",
      message: `${ctx.drift}. driftPolicy is Report, so it is left as is.`,
    };
  }
  ctx.inSync = undefined;
  return undefined;
}
