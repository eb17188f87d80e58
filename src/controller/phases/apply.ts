// Phases that write the policy: compare with what was last applied, put, record.
import { LAST_APPLIED_ANNOTATION } from "../../api/names.ts";
import {
  required,
  type PhaseResult,
  type ReconcileContext,
  type ReconcileDeps,
} from "../context.ts";
import { sameDesiredState } from "../desired.ts";
import { failureFromAws } from "./aws-failure.ts";
import { awsTarget } from "./target.ts";

export function compareWithLastApplied(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const desired = required(ctx.desired);
  const annotation = ctx.object.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  const remembered = ctx.object.metadata.uid ? deps.memory.get(ctx.object.metadata.uid) : undefined;
  if (sameDesiredState(annotation, desired) || sameDesiredState(remembered?.annotation, desired)) {
    ctx.inSync = "already";
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
  const applied = `Policy ${desired.hash} is applied to destination ${desired.destinationName} in ${desired.region}`;
  return {
    reason: "Applied",
    message: ctx.drift ? `${applied}; corrected drift. ${ctx.drift}` : applied,
  };
}
