// Where the policy AWS holds lives, for status: a policy in sync was written by
// (or read with) the target's identity, whose account names the destination's ARN.
// The identify phase has learned that account before any AWS call.
import type { ReconcileContext } from "../context.ts";

export function locateDestination(ctx: ReconcileContext): void {
  if (!ctx.inSync || !ctx.desired || ctx.liveArn !== undefined) return;
  if (ctx.destinationAccount) ctx.account = ctx.destinationAccount;
}
