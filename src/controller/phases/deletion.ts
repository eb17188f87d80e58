// spec.deletionPolicy: Revoke holds a finalizer so that, when the object is
// deleted, the destination gets a deny-all policy before the object goes.
// Retain (the default) adds no finalizer, so deleting a namespace never waits
// on this controller.
import { LAST_APPLIED_ANNOTATION, REVOKE_FINALIZER } from "../../api/names.ts";
import { keyOf } from "../../kube/keys.ts";
import { canonicalJson } from "../../policy/index.ts";
import {
  required,
  type PhaseResult,
  type ReconcileContext,
  type ReconcileDeps,
} from "../context.ts";
import { lastAppliedTarget } from "../desired.ts";
import { ReconcileFailure } from "../outcomes.ts";
import { failureFromAws } from "./aws-failure.ts";
import { awsTarget } from "./target.ts";

/** No principal may create subscription filters any more. Destination policies cannot be deleted. */
export const DENY_ALL_POLICY = canonicalJson({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "RevokedOnDeletion",
      Effect: "Deny",
      Principal: "*",
      Action: "logs:PutSubscriptionFilter",
      Resource: "*",
    },
  ],
});

function finalizers(ctx: ReconcileContext): string[] {
  return ctx.object.metadata.finalizers ?? [];
}

async function setFinalizer(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
  present: boolean,
): Promise<void> {
  const others = finalizers(ctx).filter((f) => f !== REVOKE_FINALIZER);
  await deps.writer.patchFinalizers(
    ctx.ref,
    present ? [...others, REVOKE_FINALIZER] : others,
    ctx.object.metadata.resourceVersion ?? "",
  );
}

/** Keeps the finalizer exactly while the object may have to revoke something. */
export async function syncFinalizer(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  const spec = required(ctx.spec);
  const wanted = spec.deletionPolicy === "Revoke" && spec.mode === "Enforce";
  if (wanted !== finalizers(ctx).includes(REVOKE_FINALIZER)) await setFinalizer(ctx, deps, wanted);
  return undefined;
}

/**
 * A deleted object: revoke what this object applied (when it owns the
 * destination), then let it go. After revokeTimeoutMs of failures the finalizer
 * is removed anyway and the policy stays; the event says so. A namespace must
 * not stay stuck in Terminating because AWS is unreachable.
 */
export async function finalizeDeletion(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  const deletedAt = ctx.object.metadata.deletionTimestamp;
  if (!deletedAt) return undefined;
  if (!finalizers(ctx).includes(REVOKE_FINALIZER)) return "stop";
  const target = lastAppliedTarget(ctx.object.metadata.annotations?.[LAST_APPLIED_ANNOTATION]);
  const ownsIt = deps.ownerOf(keyOf(ctx.ref)) === undefined;
  if (target && ownsIt) {
    try {
      await deps.aws.putPolicy(
        {
          ...awsTarget(ctx.ref, target.region, target.roleArn),
          destinationName: target.destinationName,
          accessPolicy: DENY_ALL_POLICY,
          forceUpdate: false,
        },
        ctx.signal,
      );
      ctx.notice = {
        reason: "Revoked",
        message: `Destination ${target.destinationName} in ${target.region} now denies every principal`,
      };
    } catch (error) {
      const failure = failureFromAws(error, target, ctx.signal);
      const age = deps.now().getTime() - new Date(deletedAt).getTime();
      if (failure.reason !== "DestinationNotFound" && age < deps.revokeTimeoutMs) {
        throw new ReconcileFailure(
          "RevokeFailed",
          `Revoking the policy before deletion failed: ${failure.message}`,
        );
      }
      if (failure.reason !== "DestinationNotFound") {
        ctx.notice = {
          reason: "RevokeAbandoned",
          message: `Gave up revoking after ${Math.round(age / 1000)} s; the policy stays in place: ${failure.message}`,
          warning: true,
        };
      }
    }
  }
  await setFinalizer(ctx, deps, false);
  return "stop";
}
