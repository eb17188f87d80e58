// spec.deletionPolicy: Revoke holds a finalizer so that, when the object is
// deleted, the destination gets a deny-all policy before the object goes.
// Retain (the default) adds no finalizer, so deleting a namespace never waits
// on this controller.
import { ownerText, whereText } from "../wording.ts";
import { printable } from "../../util/quote.ts";
import { REVOKE_FINALIZER } from "../../api/names.ts";
import { specSchema } from "../../api/v1alpha1.ts";
import { keyOf } from "../../kube/keys.ts";
import { canonicalJson } from "../../policy/index.ts";
import {
  required,
  type PhaseResult,
  type ReconcileContext,
  type ReconcileDeps,
} from "../context.ts";
import { desiredState } from "../desired.ts";
import { provenRecord, recordTarget, sameTarget, type RecordTarget } from "../record.ts";
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

/** Why a deleted object's revoke makes no AWS call; undefined when it may revoke. */
function revokeRefusal(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): { refusal: string } | { target: RecordTarget } {
  const parsed = specSchema.safeParse(ctx.object.spec ?? {});
  if (!parsed.success) return { refusal: "its spec is not valid, so it names no target" };
  const spec = parsed.data;
  if (spec.deletionPolicy !== "Revoke" || spec.mode !== "Enforce") {
    return { refusal: "its spec does not ask for a revoke (deletionPolicy Revoke, mode Enforce)" };
  }
  let target: RecordTarget;
  try {
    target = desiredState(spec, deps.defaultRegion, ctx.object.metadata.uid);
  } catch (error) {
    return { refusal: printable(error instanceof Error ? error.message : String(error)) };
  }
  // No AWS call, the revoke included, unless a binding that selects the namespace
  // permits the object as it is now.
  const permission = deps.permission(ctx.object);
  if (!permission.permitted) return { refusal: permission.reason };
  const record = provenRecord(ctx.object, deps.memory);
  if (record === undefined) {
    return {
      refusal:
        "no last-applied record written by this controller for this object proves that it applied a policy",
    };
  }
  const applied = recordTarget(record);
  if (!applied || !sameTarget(applied, target)) {
    return { refusal: "the last policy it applied went to another target than its spec names" };
  }
  const owner = deps.ownerOf(keyOf(ctx.ref));
  if (owner !== undefined) {
    return { refusal: `${ownerText(owner, ctx.ref.namespace)} owns the destination` };
  }
  return { target };
}

/**
 * A deleted object: revoke what this object applied, then let it go. The
 * revoke goes only to the object's own validated target, and only when a proven
 * record says this object applied a policy there and it still owns the
 * destination; otherwise no AWS call is made and an event says why. A failing
 * revoke keeps the finalizer (fail closed) until it lands, or until
 * revokeTimeoutMs after its first failure, when the event and the
 * RevokeAbandoned notice say the policy stays.
 */
export async function finalizeDeletion(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  if (!ctx.object.metadata.deletionTimestamp) return undefined;
  if (!finalizers(ctx).includes(REVOKE_FINALIZER)) return "stop";
  const decision = revokeRefusal(ctx, deps);
  const uid = ctx.object.metadata.uid ?? keyOf(ctx.ref);
  if ("refusal" in decision) {
    ctx.notice = {
      reason: "RevokeSkipped",
      message: `Nothing was revoked and no AWS call was made: ${decision.refusal}`,
      warning: true,
    };
  } else {
    const { target } = decision;
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
        message: `The ${whereText(target)} now denies every principal`,
      };
    } catch (error) {
      const failure = failureFromAws(error, target, ctx.signal);
      if (failure.reason !== "DestinationNotFound") {
        const now = deps.now().getTime();
        const since = deps.revokeFailingSince.get(uid) ?? now;
        deps.revokeFailingSince.set(uid, since);
        const failingMs = now - since;
        if (
          deps.revokeTimeoutMs <= 0 ||
          failingMs < deps.revokeTimeoutMs ||
          failure.reason === "Interrupted"
        ) {
          const until =
            deps.revokeTimeoutMs > 0
              ? ` or until --revoke-timeout has passed since the first failure`
              : "";
          throw new ReconcileFailure(
            "RevokeFailed",
            `Revoking the policy before deletion failed; the finalizer stays until it succeeds${until}: ${failure.message}`,
          );
        }
        ctx.notice = {
          reason: "RevokeAbandoned",
          message: `Gave up revoking after ${Math.round(failingMs / 1000)} s of failures (--revoke-timeout); the policy stays in place: ${failure.message}`,
          warning: true,
        };
      }
    }
  }
  await setFinalizer(ctx, deps, false);
  deps.revokeFailingSince.delete(uid);
  return "stop";
}
