// Phases that name the destination before any AWS call: the account it lives
// in (so every route to it is one target, see destinationId), and whether what
// this process has seen there leaves the object's record standing (record.ts).
import { accountOfArn } from "../../util/arn.ts";
import {
  required,
  type PhaseResult,
  type ReconcileContext,
  type ReconcileDeps,
} from "../context.ts";
import { ReconcileFailure } from "../outcomes.ts";
import { contradictedRecord } from "../record.ts";

/**
 * No AWS call before the controller knows its own account: until then a
 * role-less object and a role in that account would be two targets for one
 * destination, and both could write. The lookup is one STS call per process.
 */
export async function identifyDestination(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
): Promise<PhaseResult> {
  const desired = required(ctx.desired);
  const own = await deps.identity(desired.region);
  if (own === undefined) {
    throw new ReconcileFailure(
      "AWSUnavailable",
      "The controller's own AWS account is not known yet (STS GetCallerIdentity failed), so it cannot tell which destination it would write; retrying",
    );
  }
  const role = desired.roleArn === undefined ? undefined : accountOfArn(desired.roleArn);
  const account = desired.roleArn === undefined ? own : role;
  if (account) ctx.destinationAccount = account;
  ctx.destination = deps.destinationOf(desired.region, desired.destinationName, desired.roleArn);
  return undefined;
}

/**
 * What was seen at the destination, when it contradicts the object's record,
 * goes into status.livePolicyHash now, whatever the mode and however this
 * reconcile ends, so the doubt outlasts a restart of the controller.
 */
export function weighRecord(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const seen = deps.evidence.at(required(ctx.destination));
  if (seen !== undefined && contradictedRecord(ctx.object, deps.memory, seen)) ctx.liveHash = seen;
  return undefined;
}
