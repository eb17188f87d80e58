// One reconcile of one LogDestinationPolicy: an ordered list of small phases,
// then a single summarize step that writes status. A phase either continues,
// ends the reconcile with a declared outcome, or throws ReconcileFailure.
import { LAST_APPLIED_ANNOTATION } from "../api/names.ts";
import {
  specSchema,
  type LogDestinationPolicy,
  type LogDestinationPolicySpec,
} from "../api/v1alpha1.ts";
import { AwsCallError } from "../aws/errors.ts";
import type { DestinationPolicyApi } from "../aws/destinations.ts";
import type { ObjectRef } from "../kube/keys.ts";
import type { PolicyWriter } from "../kube/resources.ts";
import { parseDuration } from "../api/duration.ts";
import {
  describePublicStatements,
  findPublicStatements,
  summarizePolicyDiff,
} from "../policy/index.ts";
import { formatZodIssues } from "./spec-issues.ts";
import { liveHash } from "./live.ts";
import { desiredState, sameDesiredState, type DesiredState } from "./desired.ts";
import { conditionsFor, sameConditions, STALLED } from "./conditions.ts";
import { ReconcileFailure, type Outcome } from "./outcomes.ts";

export interface ReconcileDeps {
  aws: DestinationPolicyApi;
  writer: PolicyWriter;
  defaultRegion: string | undefined;
  /** Default time between drift checks; 0 disables them. */
  defaultDriftIntervalMs: number;
  /** When true, spec.allowPublicAccess cannot lift the public-access guardrail. */
  denyPublicAccessOverride: boolean;
  /** What this process applied, by object uid; covers a cache that lags our own writes. */
  memory: Map<string, { generation: number; annotation: string }>;
  now: () => Date;
}

export interface ReconcileContext {
  readonly object: LogDestinationPolicy;
  readonly ref: ObjectRef;
  readonly generation: number;
  readonly signal: AbortSignal;
  spec?: LogDestinationPolicySpec;
  desired?: DesiredState;
  /** Set once AWS is known to hold the desired policy. */
  inSync?: "already" | "written";
  appliedAt?: Date;
  /** Hash of the live policy, when this reconcile read it from AWS. */
  liveHash?: string;
  checkedAt?: Date;
  /** Set when the live policy was found to differ from the one last applied. */
  drift?: string;
}

/** What a phase returns: continue (undefined), finish with an outcome, or stop without a status write. */
type PhaseResult = Outcome | "stop" | undefined;
type Phase = (ctx: ReconcileContext, deps: ReconcileDeps) => Promise<PhaseResult> | PhaseResult;

function skipSuspendedOrDeleted(ctx: ReconcileContext): PhaseResult {
  const raw = ctx.object.spec as { suspend?: unknown } | undefined;
  if (raw?.suspend === true || ctx.object.metadata.deletionTimestamp) return "stop";
  return undefined;
}

function validateSpec(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const parsed = specSchema.safeParse(ctx.object.spec ?? {});
  if (!parsed.success)
    throw new ReconcileFailure("InvalidSpec", formatZodIssues(parsed.error, "spec"));
  ctx.spec = parsed.data;
  ctx.desired = desiredState(parsed.data, deps.defaultRegion);
  return undefined;
}

/** Refuses, before any AWS call, a policy that lets every AWS account subscribe. */
function refuseUnsafePolicy(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
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

/** Observe mode: read the live policy, report how it differs, never write. */
async function observeLivePolicy(ctx: ReconcileContext, deps: ReconcileDeps): Promise<PhaseResult> {
  if (required(ctx.spec).mode !== "Observe") return undefined;
  const desired = required(ctx.desired);
  const where = `destination ${desired.destinationName} in ${desired.region}`;
  let live;
  try {
    live = await deps.aws.describe(desired.region, desired.destinationName, ctx.signal);
  } catch (error) {
    throw failureFromAws(error, desired, ctx.signal);
  }
  if (!live) throw new ReconcileFailure("DestinationNotFound", `The ${where} does not exist`);
  ctx.checkedAt = deps.now();
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

/** An object AWS rejected stays stalled until its generation changes, also across restarts. */
function skipWhileStalled(ctx: ReconcileContext): PhaseResult {
  const stalled = ctx.object.status?.conditions?.find(
    (c) => c.type === STALLED && c.status === "True",
  );
  if (stalled?.reason === "AWSRejected" && stalled.observedGeneration === ctx.generation) {
    return { reason: "AWSRejected", message: stalled.message };
  }
  return undefined;
}

function compareWithLastApplied(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const desired = required(ctx.desired);
  const annotation = ctx.object.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  const remembered = ctx.object.metadata.uid ? deps.memory.get(ctx.object.metadata.uid) : undefined;
  if (sameDesiredState(annotation, desired) || sameDesiredState(remembered?.annotation, desired)) {
    ctx.inSync = "already";
  }
  return undefined;
}

/**
 * Enforce mode: once per drift interval, compare the live policy with the one
 * last applied. Drift is corrected by the apply phase, or only reported.
 */
async function detectDrift(ctx: ReconcileContext, deps: ReconcileDeps): Promise<PhaseResult> {
  if (ctx.inSync !== "already") return undefined;
  const interval = driftInterval(ctx, deps);
  const last = Date.parse(ctx.object.status?.lastDriftCheckTime ?? "");
  if (interval <= 0 || (Number.isFinite(last) && deps.now().getTime() - last < interval))
    return undefined;
  const desired = required(ctx.desired);
  const where = `destination ${desired.destinationName} in ${desired.region}`;
  let live;
  try {
    live = await deps.aws.describe(desired.region, desired.destinationName, ctx.signal);
  } catch (error) {
    throw failureFromAws(error, desired, ctx.signal);
  }
  ctx.checkedAt = deps.now();
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

async function applyPolicy(ctx: ReconcileContext, deps: ReconcileDeps): Promise<PhaseResult> {
  if (ctx.inSync) return undefined;
  const desired = required(ctx.desired);
  try {
    await deps.aws.putPolicy(
      {
        region: desired.region,
        destinationName: desired.destinationName,
        accessPolicy: desired.canonical,
        forceUpdate: desired.forceUpdate,
      },
      ctx.signal,
    );
  } catch (error) {
    throw failureFromAws(error, desired, ctx.signal);
  }
  ctx.inSync = "written";
  ctx.appliedAt = deps.now();
  // What was just written is what is live: the next drift check is one interval away.
  ctx.checkedAt = ctx.appliedAt;
  ctx.liveHash = desired.hash;
  if (ctx.object.metadata.uid) {
    deps.memory.set(ctx.object.metadata.uid, {
      generation: ctx.generation,
      annotation: desired.annotation,
    });
  }
  return undefined;
}

function failureFromAws(
  error: unknown,
  desired: DesiredState,
  signal: AbortSignal,
): ReconcileFailure {
  const where = `destination ${desired.destinationName} in ${desired.region}`;
  if (signal.aborted)
    return new ReconcileFailure("Interrupted", `Shutdown interrupted the update of ${where}`);
  if (!(error instanceof AwsCallError)) {
    return new ReconcileFailure("ReconcileError", `Updating ${where}: ${String(error)}`, {
      cause: error,
    });
  }
  const detail = `${error.awsName}: ${error.message}`;
  switch (error.kind) {
    case "invalid":
      return new ReconcileFailure("AWSRejected", `AWS rejected the policy for ${where}: ${detail}`);
    case "not-found":
      return new ReconcileFailure("DestinationNotFound", `The ${where} does not exist: ${detail}`);
    case "access-denied":
      return new ReconcileFailure("AccessDenied", `Access denied updating ${where}: ${detail}`);
    case "transient":
      return new ReconcileFailure(
        "AWSUnavailable",
        `AWS did not accept the update of ${where} after ${error.attempts} attempts: ${detail}`,
      );
    case "unknown":
      return new ReconcileFailure("ReconcileError", `Updating ${where} failed: ${detail}`);
  }
}

/** The annotation goes first: once it is written, a crash before the status write costs nothing. */
async function recordApplied(ctx: ReconcileContext, deps: ReconcileDeps): Promise<PhaseResult> {
  const desired = required(ctx.desired);
  if (ctx.object.metadata.annotations?.[LAST_APPLIED_ANNOTATION] !== desired.annotation) {
    await deps.writer.patchAnnotations(ctx.ref, { [LAST_APPLIED_ANNOTATION]: desired.annotation });
  }
  const applied = `Policy ${desired.hash} is applied to destination ${desired.destinationName} in ${desired.region}`;
  return {
    reason: "Applied",
    message: ctx.drift ? `${applied}; corrected drift. ${ctx.drift}` : applied,
  };
}

export const PHASES: readonly (readonly [string, Phase])[] = [
  ["suspend", skipSuspendedOrDeleted],
  ["validate", validateSpec],
  ["guardrail", refuseUnsafePolicy],
  ["stalled", skipWhileStalled],
  ["observe", observeLivePolicy],
  ["compare", compareWithLastApplied],
  ["drift", detectDrift],
  ["apply", applyPolicy],
  ["record", recordApplied],
];

export interface ReconcileResult {
  outcome?: Outcome;
  putCalled: boolean;
  statusWritten: boolean;
  /** Time until the live policy should be looked at again; 0 when drift checks are off. */
  driftIntervalMs: number;
  /** The drift found, if any. */
  drift?: string;
}

function driftInterval(ctx: ReconcileContext, deps: ReconcileDeps): number {
  const text = ctx.spec?.driftDetection?.interval;
  return (text === undefined ? undefined : parseDuration(text)) ?? deps.defaultDriftIntervalMs;
}

export async function reconcile(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  let outcome: Outcome | undefined;
  try {
    for (const [, phase] of PHASES) {
      const result = await phase(ctx, deps);
      if (result === "stop") return { putCalled: false, statusWritten: false, driftIntervalMs: 0 };
      if (result) {
        outcome = result;
        break;
      }
    }
  } catch (error) {
    outcome =
      error instanceof ReconcileFailure
        ? { reason: error.reason, message: error.message }
        : {
            reason: "ReconcileError",
            message: error instanceof Error ? error.message : String(error),
          };
  }
  outcome ??= { reason: "ReconcileError", message: "reconcile ended without an outcome" };
  const statusWritten = await summarize(ctx, deps, outcome);
  return {
    outcome,
    putCalled: ctx.inSync === "written",
    statusWritten,
    driftIntervalMs: driftInterval(ctx, deps),
    ...(ctx.drift ? { drift: ctx.drift } : {}),
  };
}

/** The only status write of a reconcile, skipped when nothing would change. */
async function summarize(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
  outcome: Outcome,
): Promise<boolean> {
  const status = ctx.object.status ?? {};
  const conditions = conditionsFor(status.conditions ?? [], outcome, ctx.generation, deps.now());
  const patch: Record<string, unknown> = {};
  if (!sameConditions(status.conditions, conditions)) patch.conditions = conditions;
  if (status.observedGeneration !== ctx.generation) patch.observedGeneration = ctx.generation;
  if (ctx.inSync && ctx.desired && status.appliedPolicyHash !== ctx.desired.hash) {
    patch.appliedPolicyHash = ctx.desired.hash;
  }
  if (ctx.appliedAt) patch.lastAppliedTime = rfc3339(ctx.appliedAt);
  if (ctx.liveHash !== undefined && status.livePolicyHash !== ctx.liveHash)
    patch.livePolicyHash = ctx.liveHash;
  if (ctx.checkedAt) patch.lastDriftCheckTime = rfc3339(ctx.checkedAt);
  if (Object.keys(patch).length === 0) return false;
  // Merge patch replaces lists whole, so conditions always travel complete.
  if (patch.observedGeneration !== undefined && patch.conditions === undefined)
    patch.conditions = conditions;
  await deps.writer.patchStatus(ctx.ref, patch);
  return true;
}

const rfc3339 = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("reconcile phase ran before its input was computed");
  return value;
}
