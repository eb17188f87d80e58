// Phases that write the policy: compare with what was last applied, put, record.
import { whereText } from "../wording.ts";
import { LAST_APPLIED_ANNOTATION } from "../../api/names.ts";
import {
  required,
  type PhaseResult,
  type ReconcileContext,
  type ReconcileDeps,
} from "../context.ts";
import { keyOf } from "../../kube/keys.ts";
import { sameDesiredState } from "../desired.ts";
import { annotationOf, provenRecord } from "../record.ts";
import { failureFromAws } from "./aws-failure.ts";
import { awsTarget } from "./target.ts";

/**
 * Skips the put only when a proven record (see record.ts) says AWS already has
 * the desired state. A record that matches but proves nothing (copied, edited,
 * or made before another object wrote the destination) sends the drift phase to
 * read the live policy first.
 */
export function compareWithLastApplied(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const desired = required(ctx.desired);
  const uid = ctx.object.metadata.uid;
  const remembered = uid ? deps.memory.get(uid)?.annotation : undefined;
  const proven = provenRecord(ctx.object, deps.memory);
  const suspect = deps.recordSuspect(keyOf(ctx.ref));
  if (!suspect && (sameDesiredState(proven, desired) || sameDesiredState(remembered, desired))) {
    ctx.inSync = "already";
  } else if (sameDesiredState(annotationOf(ctx.object), desired)) {
    ctx.verify = true;
  }
  return undefined;
}

export async function applyPolicy(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  if (ctx.inSync) return undefined;
  const desired = required(ctx.desired);
  try {
    await deps.aws.putPolicy(
      {
        ...awsTarget(ctx.ref, desired.region, desired.roleArn),
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

/** The annotation goes first: once it is written, a crash before the status write costs nothing. */
export async function recordApplied(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  const desired = required(ctx.desired);
  if (ctx.object.metadata.annotations?.[LAST_APPLIED_ANNOTATION] !== desired.annotation) {
    await deps.writer.patchAnnotations(ctx.ref, { [LAST_APPLIED_ANNOTATION]: desired.annotation });
  }
  const applied = `Policy ${desired.hash} is applied to ${whereText(desired)}`;
  return {
    reason: "Applied",
    message: ctx.drift ? `${applied}; corrected drift. ${ctx.drift}` : applied,
  };
}
