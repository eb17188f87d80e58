// What a finished reconcile tells the world besides status: events, logs and
// metrics. Which event type a reason gets comes from the outcome table; this
// module decides only when an event is worth emitting again.
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import type { EventSink, EventType } from "../kube/events.ts";
import type { Logger } from "../logger.ts";
import type { ControllerMetrics } from "../metrics/metrics.ts";
import { policySizeWarning } from "../policy/index.ts";
import type { Clock } from "../util/clock.ts";
import { readyReason } from "./conditions.ts";
import { OUTCOMES, type Outcome } from "./outcomes.ts";
import type { ReconcileResult } from "./reconcile.ts";

export class Reporter {
  readonly #events: EventSink;
  readonly #metrics: ControllerMetrics;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** The reason each object is counted under in the resources gauge. */
  readonly #reasons = new Map<string, string>();
  readonly #nearSizeLimit = new Set<string>();

  constructor(events: EventSink, metrics: ControllerMetrics, log: Logger, clock: Clock) {
    this.#events = events;
    this.#metrics = metrics;
    this.#log = log;
    this.#clock = clock;
  }

  /** Everything a reconcile's result says, but its requeue. */
  reconciled(key: string, object: LogDestinationPolicy, result: ReconcileResult): void {
    const { outcome, putCalled } = result;
    if (result.drift) this.#driftDetected(object, result.drift);
    if (result.notice) {
      const { reason, message, warning } = result.notice;
      this.#emit(object, warning ? "Warning" : "Normal", reason, "PutDestinationPolicy", message);
    }
    if (result.policyBytes !== undefined)
      this.#sizeChecked(key, object, result.policyBytes, putCalled);
    if (result.notice?.reason === "RevokeAbandoned") this.#metrics.revokeAbandoned.inc();
    if (outcome?.reason === "Applied" && !putCalled) this.#metrics.applySkipped.inc();
    if (putCalled) this.#metrics.lastApply.set(this.#clock.now() / 1000);
    this.#report(key, object, outcome, putCalled);
  }

  /** The object is gone: it is counted under no reason. */
  forget(key: string): void {
    this.#setReason(key, undefined);
  }

  #emit(
    object: LogDestinationPolicy,
    type: EventType,
    reason: string,
    action: string,
    note: string,
  ): void {
    const m = object.metadata;
    const target = {
      namespace: m.namespace ?? "",
      name: m.name,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
    };
    this.#events.emit(target, type, reason, action, note);
  }

  /** Counts objects near the size limit, and warns when one is written. */
  #sizeChecked(key: string, object: LogDestinationPolicy, bytes: number, written: boolean): void {
    const warning = policySizeWarning(bytes);
    if (warning === undefined) this.#nearSizeLimit.delete(key);
    else this.#nearSizeLimit.add(key);
    this.#metrics.nearSizeLimit.set(this.#nearSizeLimit.size);
    if (warning !== undefined && written) {
      this.#emit(
        object,
        "Warning",
        "PolicyNearSizeLimit",
        "PutDestinationPolicy",
        `spec.accessPolicy: ${warning}`,
      );
    }
  }

  #driftDetected(object: LogDestinationPolicy, drift: string): void {
    this.#metrics.driftDetected.inc();
    this.#emit(object, "Warning", "Drifted", "DescribeDestinations", drift);
  }

  #report(
    key: string,
    object: LogDestinationPolicy,
    outcome: Outcome | undefined,
    putCalled: boolean,
  ): void {
    if (!outcome) return;
    this.#metrics.reconcileOutcomes.inc({ reason: outcome.reason });
    const previous = readyReason(object.status?.conditions);
    const changed =
      putCalled ||
      previous !== outcome.reason ||
      object.status?.observedGeneration !== object.metadata.generation;
    this.#setReason(key, outcome.reason);
    const rule = OUTCOMES[outcome.reason];
    const level = rule.event === "Normal" ? "info" : "warn";
    this.#log[level](
      {
        key,
        generation: object.metadata.generation,
        reason: outcome.reason,
        putCalled,
        ...(outcome.logDetail === undefined ? {} : { detail: outcome.logDetail }),
      },
      outcome.message,
    );
    if (!changed && outcome.reason === "Applied") return;
    this.#emit(
      object,
      rule.event,
      outcome.reason,
      putCalled ? "PutDestinationPolicy" : "Reconcile",
      outcome.message,
    );
  }

  #setReason(key: string, reason: string | undefined): void {
    const before = this.#reasons.get(key);
    if (before === reason) return;
    if (before !== undefined) this.#metrics.resources.dec({ reason: before });
    if (reason === undefined) {
      this.#reasons.delete(key);
      if (this.#nearSizeLimit.delete(key))
        this.#metrics.nearSizeLimit.set(this.#nearSizeLimit.size);
      return;
    }
    this.#reasons.set(key, reason);
    this.#metrics.resources.inc({ reason });
  }
}
