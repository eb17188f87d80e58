// Where the policy AWS holds lives, for status: a policy in sync was written by
// (or read with) the target's identity, whose account names the destination's ARN.
// No decision reads it, so a lookup that fails only leaves status without it.
import type { ReconcileContext, ReconcileDeps } from "../context.ts";
import { awsTarget } from "./target.ts";

export async function locateDestination(ctx: ReconcileContext, deps: ReconcileDeps): Promise<void> {
  const desired = ctx.desired;
  if (!ctx.inSync || !desired || ctx.liveArn !== undefined || !deps.aws.account) return;
  ctx.account = await deps.aws.account(awsTarget(ctx.ref, desired.region, desired.roleArn));
}
