// The declared table that turns the result of a reconcile into kstatus
// conditions, an event and a requeue decision. Every reason the controller can
// report is listed here, so the summarize step never improvises.

export type Reason =
  | "Applied"
  | "InvalidSpec"
  | "AWSRejected"
  | "DestinationNotFound"
  | "AccessDenied"
  | "AWSUnavailable"
  | "Interrupted"
  | "ReconcileError";

export type Requeue = "none" | "backoff";

export interface OutcomeRule {
  ready: "True" | "False";
  /** Stalled=True: only a spec change can help, so nothing is retried. */
  stalled: boolean;
  /** Reconciling=True: the controller keeps trying on its own. */
  reconciling: boolean;
  requeue: Requeue;
  event: "Normal" | "Warning";
}

export const OUTCOMES: Readonly<Record<Reason, OutcomeRule>> = {
  Applied: { ready: "True", stalled: false, reconciling: false, requeue: "none", event: "Normal" },
  InvalidSpec: {
    ready: "False",
    stalled: true,
    reconciling: false,
    requeue: "none",
    event: "Warning",
  },
  AWSRejected: {
    ready: "False",
    stalled: true,
    reconciling: false,
    requeue: "none",
    event: "Warning",
  },
  DestinationNotFound: {
    ready: "False",
    stalled: false,
    reconciling: true,
    requeue: "backoff",
    event: "Warning",
  },
  AccessDenied: {
    ready: "False",
    stalled: false,
    reconciling: true,
    requeue: "backoff",
    event: "Warning",
  },
  AWSUnavailable: {
    ready: "False",
    stalled: false,
    reconciling: true,
    requeue: "backoff",
    event: "Warning",
  },
  Interrupted: {
    ready: "False",
    stalled: false,
    reconciling: true,
    requeue: "backoff",
    event: "Warning",
  },
  ReconcileError: {
    ready: "False",
    stalled: false,
    reconciling: true,
    requeue: "backoff",
    event: "Warning",
  },
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
