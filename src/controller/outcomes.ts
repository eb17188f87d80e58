// The declared table that turns the result of a reconcile into kstatus
// conditions, an event and a requeue decision. Every reason the controller can
// report is listed here, so the summarize step never improvises.
//
// Every outcome settles: once the controller has nothing left to try on its own,
// the object is Ready (kstatus Current) or Stalled (kstatus Failed), so Flux
// health checks and `helm --wait` stop waiting. Only retries and a generation not
// yet seen read as InProgress.

export type Reason =
  | "Applied"
  | "InSync"
  | "OutOfSync"
  | "Drifted"
  | "Suspended"
  | "Conflict"
  | "InvalidSpec"
  | "UnsafePolicy"
  | "RoleNotAllowed"
  | "NotPermitted"
  | "RevokeFailed"
  | "AWSRejected"
  | "RegionUnreachable"
  | "DestinationNotFound"
  | "AccessDenied"
  | "AWSUnavailable"
  | "Interrupted"
  | "ReconcileError"
  | "NotAccepted"
  | "PolicySizeExceeded"
  | "ForceUpdateRequired"
  | "PolicyNotFound";

/** none: wait for a change; backoff: retry with per-object backoff; interval: look again after the drift interval. */
export type Requeue = "none" | "backoff" | "interval";

export type KstatusResult = "Current" | "InProgress" | "Failed";
export type ArgoHealth = "Healthy" | "Progressing" | "Degraded" | "Suspended";

export interface OutcomeRule {
  ready: "True" | "False";
  /** Stalled=True: a person has to act (usually by changing the spec); the controller does not retry on its own. */
  stalled: boolean;
  /** Reconciling=True: the controller keeps trying on its own. */
  reconciling: boolean;
  requeue: Requeue;
  event: "Normal" | "Warning";
  /**
   * What the kstatus library (Flux health checks, Helm's --wait) reads from these
   * conditions, and what the Argo CD health check (the chart's files/argocd/health.lua) reports. Both
   * are checked against the real library and Lua VM by the tests.
   */
  kstatus: KstatusResult;
  argocd: ArgoHealth;
}

const ready = (requeue: Requeue): OutcomeRule => ({
  ready: "True",
  stalled: false,
  reconciling: false,
  requeue,
  event: "Normal",
  kstatus: "Current",
  argocd: "Healthy",
});
const stalled: OutcomeRule = {
  ready: "False",
  stalled: true,
  reconciling: false,
  requeue: "none",
  event: "Warning",
  kstatus: "Failed",
  argocd: "Degraded",
};
const retrying: OutcomeRule = {
  ready: "False",
  stalled: false,
  reconciling: true,
  requeue: "backoff",
  event: "Warning",
  kstatus: "InProgress",
  argocd: "Progressing",
};
// AWS does not hold what the spec says and the controller was told not to write
// it: a person decides. Stalled, so GitOps tools report it instead of waiting
// forever, and still looked at every drift interval, so a fix made in AWS clears it.
const awaitingPerson: OutcomeRule = { ...stalled, requeue: "interval" };

export const OUTCOMES: Readonly<Record<Reason, OutcomeRule>> = {
  Applied: ready("interval"),
  InSync: ready("interval"),
  /** Observe mode found a difference. */
  OutOfSync: awaitingPerson,
  /** driftPolicy Report: the policy was changed in AWS and is left as it is. */
  Drifted: awaitingPerson,
  /**
   * spec.suspend: nothing is read or written. Not Ready, since what AWS holds may
   * not be this generation's policy; kstatus has no suspended state, so Stalled.
   */
  Suspended: { ...stalled, event: "Normal", argocd: "Suspended" },
  /** Another, older object owns the destination; reconciled again when that one goes. */
  Conflict: stalled,
  InvalidSpec: stalled,
  UnsafePolicy: stalled,
  RoleNotAllowed: stalled,
  /** No binding that selects the namespace permits the object; decided again when bindings change. */
  NotPermitted: stalled,
  RevokeFailed: retrying,
  AWSRejected: stalled,
  /**
   * No AWS endpoint exists for the region (a made-up one): not retried, so it
   * holds neither a worker nor a client. Looked at again each drift interval, so
   * a passing DNS outage does not stall real regions for good.
   */
  RegionUnreachable: awaitingPerson,
  DestinationNotFound: retrying,
  AccessDenied: retrying,
  AWSUnavailable: retrying,
  Interrupted: retrying,
  ReconcileError: retrying,
  // The reasons below are a LogDestinationGrant's own; a grant whose policy is
  // not Ready reports the policy's reason, so it settles exactly as the policy does.
  /** The policy does not accept grants from this namespace (spec.grants.from), or is in Observe mode. */
  NotAccepted: stalled,
  /**
   * The grant's new principals do not fit the 5,120 bytes left (what it had
   * stays); on a policy, the owner's new statements would evict applied grants.
   * Decided again whenever a grant or the policy changes.
   */
  PolicySizeExceeded: stalled,
  /** Admitting the grant would switch the destination from accounts to organizations, which needs the owner's forceUpdate. */
  ForceUpdateRequired: stalled,
  /** spec.policyRef names no LogDestinationPolicy; decided again when one appears. */
  PolicyNotFound: stalled,
};

/** Reasons that belong to grants (PolicySizeExceeded also to a policy whose owner change would evict grants). */
export const GRANT_REASONS: readonly Reason[] = [
  "NotAccepted",
  "PolicySizeExceeded",
  "ForceUpdateRequired",
  "PolicyNotFound",
];

export interface Outcome {
  reason: Reason;
  message: string;
  /** For the controller's log only, never status or Events: may hold AWS's own error text. */
  logDetail?: string;
}

/** Thrown by a reconcile phase to end the reconcile with a declared outcome. */
export class ReconcileFailure extends Error {
  readonly reason: Reason;
  /** What only the controller's log may show, such as AWS's error text. */
  readonly logDetail: string | undefined;
  constructor(reason: Reason, message: string, options?: ErrorOptions & { logDetail?: string }) {
    super(message, options);
    this.name = "ReconcileFailure";
    this.reason = reason;
    this.logDetail = options?.logDetail;
  }
}
