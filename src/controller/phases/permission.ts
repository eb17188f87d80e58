// The tenancy check: before any AWS call, the object must be permitted by a
// LogDestinationPolicyBinding that selects its namespace (src/tenancy/).
import type { PhaseResult, ReconcileContext, ReconcileDeps } from "../context.ts";

export function checkPermission(ctx: ReconcileContext, deps: ReconcileDeps): PhaseResult {
  const permission = deps.permission(ctx.object);
  if (permission.permitted) return undefined;
  return { reason: "NotPermitted", message: permission.message };
}
