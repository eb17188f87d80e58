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
import { annotationOf, ownRecord, recordInForce } from "../record.ts";
import { failureFromAws } from "./aws-failure.ts";
import { awsTarget } from "./target.ts";

/**
 * Skips the put only when a record in force (see record.ts) says AWS already
 * has the desired state. A record that matches but proves nothing (copied,
 * edited, or contradicted by what was seen at the destination since) sends the
 * drift phase to read the live policy first.
 */
export function compareWithLastApplied(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const desired = required(ctx.desired);
  const seen = deps.evidence.at(required(ctx.destination));
  if (sameDesiredState(recordInForce(ctx.object, deps.memory, seen), desired)) {
    ctx.inSync = "already";
  } else if (sameDesiredState(annotationOf(ctx.object), desired)) {
    ctx.verify = true;
    // Ours, but a difference was seen since: what differs now is drift.
    ctx.doubted = sameDesiredState(ownRecord(ctx.object, deps.memory), desired);
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
    // The put may have landed: no record at this destination proves anything until it is read.
    deps.evidence.doubt(required(ctx.destination), keyOf(ctx.ref));
    throw failureFromAws(error, desired, ctx.signal);
  }
  deps.evidence.saw(required(ctx.destination), desired.hash, keyOf(ctx.ref));
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
    // AWS holds this document (written or proven): what went in for each grant may have changed without a put.
    const uid = ctx.object.metadata.uid;
    if (uid) deps.memory.set(uid, { generation: ctx.generation, annotation: desired.annotation });
  }
  ctx.recorded = true;
  const applied = `Policy ${desired.hash} is applied to ${whereText(desired)}`;
  const refused = ctx.ownerRefused;
  if (refused) {
    return {
      reason: "PolicySizeExceeded",
      message: `spec.accessPolicy: the new statements need ${String(refused.neededBytes)} more bytes, but the merged policy has ${String(refused.leftBytes)} bytes left after the grants it holds; the statements applied before stay in AWS. ${applied}`,
    };
  }
  return {
    reason: "Applied",
    message: ctx.drift ? `${applied}; corrected drift. ${ctx.drift}` : applied,
  };
}
