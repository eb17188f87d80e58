// The declared table that turns the result of a reconcile into kstatus
// conditions, an event and a requeue decision. Every reason the controller can
// report is listed here, so the summarize step never improvises.

export type Reason =
  | "Applied"
  | "InSync"
  | "OutOfSync"
  | "Drifted"
  | "Conflict"
  | "InvalidSpec"
  | "UnsafePolicy"
  | "RoleNotAllowed"
  | "RevokeFailed"
  | "AWSRejected"
  | "DestinationNotFound"
  | "AccessDenied"
  | "AWSUnavailable"
  | "Interrupted"
  | "ReconcileError";

/** none: wait for a change; backoff: retry with per-object backoff; interval: look again after the drift interval. */
export type Requeue = "none" | "backoff" | "interval";

export interface OutcomeRule {
  ready: "True" | "False";
  /** Stalled=True: only a spec change can help, so nothing is retried. */
  stalled: boolean;
  /** Reconciling=True: the controller keeps trying on its own. */
  reconciling: boolean;
  requeue: Requeue;
  event: "Normal" | "Warning";
}

const ready = (requeue: Requeue): OutcomeRule => ({
  ready: "True",
  stalled: false,
  reconciling: false,
  requeue,
  event: "Normal",
});
const stalled: OutcomeRule = {
  ready: "False",
  stalled: true,
  reconciling: false,
  requeue: "none",
  event: "Warning",
};
const retrying: OutcomeRule = {
  ready: "False",
  stalled: false,
  reconciling: true,
  requeue: "backoff",
  event: "Warning",
};
// Neither an error nor stalled: the controller did its job and waits for a person.
const waiting: OutcomeRule = {
  ready: "False",
  stalled: false,
  reconciling: false,
  requeue: "interval",
  event: "Warning",
};

export const OUTCOMES: Readonly<Record<Reason, OutcomeRule>> = {
  Applied: ready("interval"),
  InSync: ready("interval"),
  /** Observe mode found a difference. */
  OutOfSync: waiting,
  /** driftPolicy Report: the policy was changed in AWS and is left as it is. */
  Drifted: waiting,
  /** Another, older object owns the destination; reconciled again when that one goes. */
  Conflict: { ...waiting, requeue: "none" },
  InvalidSpec: stalled,
  UnsafePolicy: stalled,
  RoleNotAllowed: stalled,
  RevokeFailed: retrying,
  AWSRejected: stalled,
  DestinationNotFound: retrying,
  AccessDenied: retrying,
  AWSUnavailable: retrying,
  Interrupted: retrying,
  ReconcileError: retrying,
};

export interface Outcome {
  reason: Reason;
  message: string;
}

/** Thrown by a reconcile phase to end the reconcile with a declared outcome. */
export class ReconcileFailure extends Error {
  readonly reason: Reason;
  constructor(reason: Reason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReconcileFailure";
    this.reason = reason;
  }
}
