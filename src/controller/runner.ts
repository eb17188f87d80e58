// Runs one queued key: reconciles the object the cache holds now, then decides
// from the outcome table whether and how it is looked at again (backoff, the
// drift sweep, or a timer). Also the one place a reconcile in flight is aborted.
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import type { DestinationSweepApi } from "../aws/destinations.ts";
import type { EventSink } from "../kube/events.ts";
import { refOf } from "../kube/keys.ts";
import type { Logger } from "../logger.ts";
import { ControllerMetrics } from "../metrics/metrics.ts";
import type { Clock } from "../util/clock.ts";
import type { PolicyCache } from "./options.ts";
import { OUTCOMES } from "./outcomes.ts";
import { DeletionObserved } from "./phases/aws-failure.ts";
import type { WorkQueue } from "./queue.ts";
import { reconcile, type ReconcileDeps, type ReconcileResult } from "./reconcile.ts";
import { Reporter } from "./report.ts";
import { DEFAULT_BATCH_INTERVAL_MS, type DriftSweeper, type SweptAnswer } from "./sweep.ts";
import { wiredSweeper } from "./sweep-wiring.ts";
import { orphanGrants } from "./grant-settle.ts";

export interface RunnerParts {
  cache: PolicyCache;
  aws: DestinationSweepApi;
  deps: ReconcileDeps;
  queue: WorkQueue;
  events: EventSink;
  metrics: ControllerMetrics;
  log: Logger;
  clock: Clock;
}

export class ReconcileRunner {
  readonly #parts: RunnerParts;
  readonly #report: Reporter;
  readonly #sweeper: DriftSweeper;
  readonly #abort = new AbortController();
  /** Per key, the abort of the reconcile in flight: a deletion or a withdrawn permission cuts it short. */
  readonly #inflight = new Map<string, AbortController>();
  /** What a sweep read for keys it handed back, until their reconcile takes it. */
  readonly #swept = new Map<string, SweptAnswer>();

  constructor(parts: RunnerParts) {
    this.#parts = parts;
    const { aws, clock, metrics, log, events, deps, queue } = parts;
    this.#report = new Reporter(events, metrics, log, clock);
    this.#sweeper = wiredSweeper(aws, clock, metrics, log, {
      changed: (key, answer) => {
        this.#swept.set(key, answer);
        queue.add(key, "background");
      },
      // A sweep's page counts as a read of every object it covers, for the per-object floor.
      read: (uid, at) => {
        deps.lastRead.set(uid, at);
      },
      batchIntervalMs:
        deps.defaultDriftIntervalMs > 0 ? deps.defaultDriftIntervalMs : DEFAULT_BATCH_INTERVAL_MS,
    });
  }

  /** Takes the key out of the sweeps and drops what a sweep read for it. */
  drop(key: string): void {
    this.#sweeper.delete(key);
    this.#swept.delete(key);
  }

  /** Aborts the key's reconcile in flight, if any; whoever asks has queued the key again. */
  interrupt(key: string, reason: Error = new DeletionObserved(`${key} is being deleted`)): void {
    this.#inflight.get(key)?.abort(reason);
  }

  /** The object is gone: nothing of it is counted any more. */
  forget(key: string): void {
    this.drop(key);
    this.#report.forget(key);
  }

  /** Stops the sweeps and, when asked, aborts the AWS retries of reconciles in flight. */
  stop(abortInFlight: boolean): void {
    this.#sweeper.stop();
    if (abortInFlight) this.#abort.abort();
  }

  async process(key: string): Promise<void> {
    const { cache, deps, queue, metrics, log } = this.#parts;
    const ref = refOf(key);
    const object = cache.get(ref.namespace, ref.name);
    const swept = this.#swept.get(key);
    this.#swept.delete(key);
    if (!object) {
      this.#sweeper.delete(key);
      queue.forget(key);
      this.#report.forget(key);
      try {
        await orphanGrants(key, deps);
      } catch (err) {
        log.warn(
          { key, err: String(err) },
          "could not settle the grants of a missing policy; retrying",
        );
        queue.addRateLimited(key);
      }
      return;
    }
    const c = ControllerMetrics.controllerLabels;
    const endTimer = metrics.reconcileTime.startTimer(c);
    const generation = object.metadata.generation ?? 0;
    let result: ReconcileResult;
    const own = new AbortController();
    this.#inflight.set(key, own);
    const signal = AbortSignal.any([this.#abort.signal, own.signal]);
    try {
      result = await reconcile({ object, ref, generation, signal, swept }, deps);
    } catch (err) {
      if (own.signal.aborted) {
        log.info({ key, why: cutShort(own.signal) }, "reconcile cut short");
        return;
      }
      // Only a failed status or annotation write lands here.
      metrics.reconcileErrors.inc(c);
      metrics.reconcileTotal.inc({ ...c, result: "error" });
      log.warn({ key, err: String(err) }, "reconcile could not write its result; retrying");
      queue.addRateLimited(key);
      return;
    } finally {
      endTimer();
      this.#inflight.delete(key);
    }
    this.#report.reconciled(key, object, result);
    // Cut short by a deletion or a withdrawn permission: that has queued the key already, and nothing else is due.
    if (own.signal.aborted) {
      log.info({ key, why: cutShort(own.signal) }, "reconcile cut short");
      return;
    }
    this.#requeue(key, object, result);
    if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
  }

  #requeue(key: string, object: LogDestinationPolicy, result: ReconcileResult): void {
    const { queue, metrics, log } = this.#parts;
    const { outcome, driftIntervalMs, verification } = result;
    const c = ControllerMetrics.controllerLabels;
    this.#sweeper.delete(key);
    if (outcome === undefined || OUTCOMES[outcome.reason].requeue !== "backoff") {
      const requeue = outcome ? OUTCOMES[outcome.reason].requeue : "none";
      queue.forget(key);
      metrics.reconcileTotal.inc({ ...c, result: "success" });
      if (requeue !== "interval" || driftIntervalMs <= 0 || !outcome) return;
      const uid = object.metadata.uid;
      if (verification && uid) {
        // Settled: the next look at the live policy is its region and role's sweep.
        this.#sweeper.set({
          key,
          uid,
          ...verification,
          intervalMs: driftIntervalMs,
          expectEqual: OUTCOMES[outcome.reason].ready === "True",
        });
      } else {
        queue.addAfter(key, Math.round(driftIntervalMs * (0.9 + Math.random() * 0.2)));
      }
      return;
    }
    metrics.reconcileErrors.inc(c);
    metrics.reconcileTotal.inc({ ...c, result: "error" });
    if (queue.shuttingDown) return;
    const delay = queue.addRateLimited(key);
    log.info({ key, reason: outcome.reason, retryInMs: delay }, "requeued with backoff");
  }
}

function cutShort(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.name : "aborted";
}
