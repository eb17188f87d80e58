// The small parts that connect grants to the controller: which grant changes
// matter to a rebuild, the metrics grants feed, and the writer used when the
// controller runs without a grant cache.
import type { LogDestinationGrant } from "../api/grant.ts";
import type { GrantWriter } from "../kube/resources.ts";
import type { ControllerMetrics } from "../metrics/metrics.ts";
import { refOf } from "../kube/keys.ts";
import type { GrantMetrics } from "./grant-pass.ts";

/** What a policy's rebuild reads of a grant: a change to anything else queues nothing. */
export function grantSignature(grant: LogDestinationGrant, policies: readonly string[]): string {
  const m = grant.metadata;
  return JSON.stringify([m.uid, m.generation, m.deletionTimestamp ?? null, policies]);
}

export const NO_GRANT_WRITER: GrantWriter = {
  patchGrantFinalizers: () => Promise.reject(new Error("this controller writes no grants")),
  patchGrantStatus: () => Promise.reject(new Error("this controller writes no grants")),
};

/** Grants by reason (a count per reason, no grant label) and bytes per shared policy. */
export function grantMetrics(metrics: ControllerMetrics): GrantMetrics {
  const reasons = new Map<string, string>();
  return {
    reason(key, reason) {
      const before = reasons.get(key);
      if (before === reason) return;
      if (before !== undefined) metrics.grants.dec({ reason: before });
      if (reason === undefined) reasons.delete(key);
      else {
        reasons.set(key, reason);
        metrics.grants.inc({ reason });
      }
    },
    sharedBytes(policyKey, bytes) {
      const { namespace, name } = refOf(policyKey);
      if (bytes === undefined) metrics.sharedPolicyBytes.remove({ namespace, name });
      else metrics.sharedPolicyBytes.set({ namespace, name }, bytes);
    },
  };
}
