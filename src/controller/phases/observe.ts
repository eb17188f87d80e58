// Phases that read the live policy: Observe mode, and drift detection in Enforce mode.
import { whereText } from "../wording.ts";
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
import { readyReason } from "../conditions.ts";
import { OUTCOMES, ReconcileFailure, type Reason } from "../outcomes.ts";
import { failureFromAws } from "./aws-failure.ts";
import { awsTarget } from "./target.ts";

/** The interval the spec asks for (or the default); undefined when unset or unreadable. */
function requestedInterval(ctx: ReconcileContext, deps: ReconcileDeps): number {
  const text = ctx.spec?.driftDetection?.interval;
  return (text === undefined ? undefined : parseDuration(text)) ?? deps.defaultDriftIntervalMs;
}

/** Time between drift checks, never below the controller's floor; 0 when checks are off. */
export function driftInterval(ctx: ReconcileContext, deps: ReconcileDeps): number {
  const requested = requestedInterval(ctx, deps);
  return requested <= 0 ? 0 : Math.max(requested, deps.minDriftIntervalMs);
}

/** A sentence for status when the spec asked for checks more often than the floor allows. */
export function intervalNote(ctx: ReconcileContext, deps: ReconcileDeps): string | undefined {
  const requested = requestedInterval(ctx, deps);
  if (requested <= 0 || requested >= deps.minDriftIntervalMs) return undefined;
  const text = ctx.spec?.driftDetection?.interval ?? String(requested);
  return (
    `spec.driftDetection.interval ${text} is below the controller's minimum ` +
    `(--min-drift-detection-interval), so the live policy is read every ${formatMs(deps.minDriftIntervalMs)}`
  );
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Milliseconds until this object's live policy may be read again: reads of one
 * object never come closer together than the floor, whatever its spec says or
 * however often it is reconciled. Counts reads this process made and the last
 * check status records (which tenants cannot write).
 */
function readWait(ctx: ReconcileContext, deps: ReconcileDeps): number {
  const uid = ctx.object.metadata.uid;
  const recorded = Date.parse(ctx.object.status?.lastDriftCheckTime ?? "");
  const last = Math.max(
    uid ? (deps.lastRead.get(uid) ?? -Infinity) : -Infinity,
    Number.isFinite(recorded) ? recorded : -Infinity,
  );
  return Math.max(0, last + deps.minDriftIntervalMs - deps.now().getTime());
}

async function readLive(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<LiveDestination | undefined> {
  const desired = required(ctx.desired);
  if (ctx.swept) {
    ctx.checkedAt = new Date(ctx.swept.at);
    ctx.liveArn = ctx.swept.live?.arn;
    return ctx.swept.live;
  }
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
    if (ctx.object.metadata.uid)
      deps.lastRead.set(ctx.object.metadata.uid, ctx.checkedAt.getTime());
  }
}

/**
 * Reads the live policy of the desired destination (or takes the sweep's
 * answer), keeps its hash, and compares it with the desired one. A destination
 * that is not there fails the reconcile; `missing` says how.
 */
async function compareLive(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
  missing: string,
): Promise<{ where: string; diff: ReturnType<typeof summarizePolicyDiff> }> {
  const desired = required(ctx.desired);
  const where = whereText(desired);
  const live = await readLive(ctx, deps);
  if (!live) throw new ReconcileFailure("DestinationNotFound", `The ${where} ${missing}`);
  ctx.liveHash = liveHash(live.accessPolicy);
  return { where, diff: summarizePolicyDiff(live.accessPolicy, desired.document) };
}

/** Observe mode: read the live policy, report how it differs, never write. */
export async function observeLivePolicy(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  if (required(ctx.spec).mode !== "Observe") return undefined;
  const wait = ctx.swept ? 0 : readWait(ctx, deps);
  if (wait > 0) {
    // Read too recently: look again once the floor allows, and leave status as it is.
    ctx.requeueAfterMs = wait;
    return "stop";
  }
  const { where, diff } = await compareLive(ctx, deps, "does not exist");
  if (diff.equal) {
    return {
      reason: "InSync",
      message: `The live policy of ${where} matches the desired policy ${required(ctx.desired).hash}`,
    };
  }
  return {
    reason: "OutOfSync",
    message: `The live policy of ${where} differs from the desired one: ${diff.text}. Observe mode never writes; set spec.mode to Enforce to apply it.`,
  };
}

/**
 * Whether this reconcile must look at the live policy itself. The periodic
 * look is the drift sweep's (see sweep.ts); a reconcile reads only what a sweep
 * handed it, or when it retries after an error, which a sweep no longer covers.
 */
function mustLook(ctx: ReconcileContext, deps: ReconcileDeps): boolean {
  if (ctx.swept) return true;
  if (driftInterval(ctx, deps) <= 0) return false;
  const previous = readyReason(ctx.object.status?.conditions);
  return previous !== undefined && Object.hasOwn(OUTCOMES, previous)
    ? OUTCOMES[previous as Reason].requeue === "backoff"
    : false;
}

/**
 * Enforce mode: compare the live policy with the one last applied when a sweep
 * found it changed, or on a retry. Drift is corrected by the apply phase, or
 * only reported.
 */
export async function detectDrift(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  if (ctx.verify) return verifyLive(ctx, deps);
  if (ctx.inSync !== "already") return undefined;
  if (!mustLook(ctx, deps)) return undefined;
  // A sweep's answer is a read already made; only a read of this object's own waits for the floor.
  if (!ctx.swept && readWait(ctx, deps) > 0) return undefined;
  const { where, diff } = await compareLive(ctx, deps, "no longer exists");
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

/**
 * The record matches the desired state but proves nothing. Read the live
 * policy (or, when it was read too recently, just put): Applied is reported
 * only once AWS is known to hold the desired policy.
 */
async function verifyLive(ctx: ReconcileContext, deps: ReconcileDeps): Promise<PhaseResult> {
  if (!ctx.swept && readWait(ctx, deps) > 0) return undefined;
  const { diff } = await compareLive(ctx, deps, "does not exist");
  if (diff.equal) ctx.inSync = "already";
  return undefined;
}
