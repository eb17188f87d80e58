// What one reconcile of a policy learned about the grants that name it: how
// each was judged (the two consents), how the merge placed it, and what the
// record will say AWS holds for it. The grants phase fills it in; the settle
// step (grant-settle.ts) turns it into each grant's status and finalizer.
import type { LogDestinationGrant } from "../api/grant.ts";
import type { MergeResult } from "../policy/merge.ts";
import type { GrantJudgement } from "../tenancy/grant-verdicts.ts";
import type { RecordedGrant } from "./grant-record.ts";

export interface GrantPass {
  /** The destination's ARN: the Resource of every merged statement. */
  resource: string;
  judgement: GrantJudgement;
  /** The grants that name the policy, by grant key. */
  grants: ReadonlyMap<string, LogDestinationGrant>;
  /** Undefined while the policy accepts no grants (no spec.grants): the owner's document alone is desired. */
  merge?: MergeResult;
  /** What the new record says AWS holds for each grant, by grant key; grants holding nothing are absent. */
  next: ReadonlyMap<string, RecordedGrant>;
}

/**
 * What this process last wrote to each grant, by uid: the grant cache lags the
 * controller's own writes, and without this a reconcile that follows closely
 * would write the same status, or the same finalizer change, again.
 */
export type GrantMemory = Map<string, { status?: string; held?: boolean }>;

/** What the grants tell the metrics: a reason per grant, bytes per shared policy. */
export interface GrantMetrics {
  reason(grantKey: string, reason: string | undefined): void;
  sharedBytes(policyKey: string, bytes: number | undefined): void;
}

export const NO_GRANT_METRICS: GrantMetrics = {
  reason: () => undefined,
  sharedBytes: () => undefined,
};
