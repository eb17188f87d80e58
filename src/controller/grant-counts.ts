// The policy's own summary of its grants (status.grants): how many the merged
// document carries, how many wait for room or forceUpdate, how many are refused.
import type { LogDestinationPolicyStatus } from "../api/v1alpha1.ts";
import type { ReconcileContext } from "./context.ts";

export function grantCounts(ctx: ReconcileContext): LogDestinationPolicyStatus["grants"] {
  const pass = ctx.grants;
  if (ctx.spec?.grants === undefined || !pass) return undefined;
  let accepted = 0;
  let waiting = 0;
  for (const verdict of pass.merge?.verdicts.values() ?? []) {
    if (verdict.state === "Admitted") accepted++;
    else waiting++;
  }
  return { accepted, waiting, refused: pass.judgement.refused.size };
}
