// Connects the watch cache to the queue and the queue to reconcile. It owns the
// decisions around a reconcile: which watch events are worth a reconcile, when
// to requeue, which events and metrics to emit.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { LogDestinationPolicyBinding } from "../api/binding.ts";
import { LAST_APPLIED_ANNOTATION } from "../api/names.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import type { DestinationSweepApi } from "../aws/destinations.ts";
import type { EventSink, EventType } from "../kube/events.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { keyOf, refOf } from "../kube/keys.ts";
import type { BindingStatusWriter, PolicyWriter } from "../kube/resources.ts";
import { bindingStatus } from "./binding-status.ts";
import { ControllerMetrics } from "../metrics/metrics.ts";
import type { Logger } from "../logger.ts";
import { policySizeWarning } from "../policy/index.ts";
import { readyReason } from "./conditions.ts";
import { OUTCOMES, type Outcome } from "./outcomes.ts";
import { WorkQueue, type BackoffPolicy } from "./queue.ts";
import { OwnershipIndex, targetOf } from "./ownership.ts";
import { DeletionObserved } from "./phases/aws-failure.ts";
import { Tenancy } from "./tenancy.ts";
import { permissionRequest, type Permission } from "../tenancy/index.ts";
import {
  reconcile,
  type ReconcileDeps,
  type ReconcileResult,
  type Verification,
} from "./reconcile.ts";
import { DriftSweeper, type SweepResult, type SweptAnswer } from "./sweep.ts";
import { rateLimitKey } from "../aws/rate-limit.ts";

export interface PolicyCache {
  get(namespace: string, name: string): LogDestinationPolicy | undefined;
  /** True once the cache has listed every object: ownership is only decided on a complete view. */
  readonly synced: boolean;
}

export interface ControllerOptions {
  concurrency: number;
  defaultRegion: string | undefined;
  defaultDriftIntervalMs: number;
  /** The least time between two reads of one object's live policy; default 1 min. */
  minDriftIntervalMs?: number;
  denyPublicAccessOverride: boolean;
  /** 0 (the default): a failing revoke is retried until it lands. */
  revokeTimeoutMs?: number;
  backoff?: BackoffPolicy;
  /** Bindings and namespace labels; absent: every object is permitted. */
  tenancy?: Tenancy;
  /** Where each binding's Ready condition is written; absent: not written. */
  bindingStatus?: BindingStatusWriter;
}

/**
 * Requeue delays after a failed reconcile. client-go starts at 5 ms, which suits
 * API-server conflicts; a missing destination or an AWS outage needs seconds.
 */
export const REQUEUE_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 300_000 };

export const DEFAULT_MIN_DRIFT_INTERVAL_MS = 60_000;

export class PolicyController {
  readonly #cache: PolicyCache;
  readonly #events: EventSink;
  readonly #metrics: ControllerMetrics;
  readonly #log: Logger;
  readonly #options: ControllerOptions;
  readonly #deps: ReconcileDeps;
  readonly #queue: WorkQueue;
  /** The watch fingerprint last seen per key; see #worthReconciling. */
  readonly #seen = new Map<string, { base: string; annotation: string }>();
  readonly #reasons = new Map<string, string>();
  readonly #nearSizeLimit = new Set<string>();
  readonly #owners = new OwnershipIndex();
  readonly #abort = new AbortController();
  /** Per key, the abort of the reconcile in flight: a deletion cuts it short. */
  readonly #inflight = new Map<string, AbortController>();
  /** Keys whose deletion has been seen. */
  readonly #deleting = new Set<string>();
  /** Keys whose destination another object may have written since their record was made. */
  readonly #suspect = new Set<string>();
  readonly #tenancy: Tenancy;
  /** Keys of the cached objects of each namespace, for re-evaluating one namespace. */
  readonly #byNamespace = new Map<string, Set<string>>();
  /** The tenancy decision per key, for the generation it was made for. */
  readonly #permissions = new Map<string, { generation: number; permission: Permission }>();
  readonly #sweeper: DriftSweeper;
  /** What a sweep read for keys it handed back, until their reconcile takes it. */
  readonly #swept = new Map<string, SweptAnswer>();

  constructor(
    cache: PolicyCache,
    aws: DestinationSweepApi,
    writer: PolicyWriter,
    events: EventSink,
    metrics: ControllerMetrics,
    log: Logger,
    options: ControllerOptions,
  ) {
    this.#cache = cache;
    this.#events = events;
    this.#metrics = metrics;
    this.#log = log;
    this.#options = options;
    this.#tenancy = options.tenancy ?? new Tenancy(false, () => () => false);
    this.#deps = {
      aws,
      writer,
      defaultRegion: options.defaultRegion,
      defaultDriftIntervalMs: options.defaultDriftIntervalMs,
      minDriftIntervalMs: options.minDriftIntervalMs ?? DEFAULT_MIN_DRIFT_INTERVAL_MS,
      denyPublicAccessOverride: options.denyPublicAccessOverride,
      ownerOf: (key) => this.#owners.ownerOtherThan(key),
      revokeTimeoutMs: options.revokeTimeoutMs ?? 0,
      revokeFailingSince: new Map(),
      permission: (object) => this.#permission(object),
      memory: new Map(),
      lastRead: new Map(),
      recordSuspect: (key) => this.#suspect.has(key),
      now: () => new Date(),
    };
    const q = ControllerMetrics.queueLabels;
    const c = ControllerMetrics.controllerLabels;
    this.#queue = new WorkQueue(
      {
        depth: (n) => {
          metrics.queueDepth.set(q, n);
        },
        added: () => {
          metrics.queueAdds.inc(q);
        },
        retried: () => {
          metrics.queueRetries.inc(q);
        },
        waited: (s) => {
          metrics.queueDuration.observe(q, s);
        },
        worked: (s) => {
          metrics.workDuration.observe(q, s);
        },
        active: (n) => {
          metrics.activeWorkers.set(c, n);
        },
      },
      options.backoff ?? REQUEUE_BACKOFF,
    );
    metrics.maxWorkers.set(c, options.concurrency);
    this.#sweeper = new DriftSweeper({
      list: (target, prefix, onPage, signal) => aws.list(target, prefix, onPage, signal),
      changed: (key, answer) => {
        this.#swept.set(key, answer);
        this.#queue.add(key, "background");
      },
      // A sweep's page counts as a read of every object it covers, for the per-object floor.
      read: (uid, at) => {
        this.#deps.lastRead.set(uid, at);
      },
      done: (result) => {
        this.#sweepDone(result);
      },
      now: () => Date.now(),
      schedule: (run, delayMs) => {
        const timer = setTimeout(run, delayMs);
        return {
          cancel: () => {
            clearTimeout(timer);
          },
        };
      },
    });
  }

  /**
   * Status-only updates (our own status writes among them) change neither the
   * generation nor the last-applied annotation, so they are not reconciled:
   * that keeps the controller's writes from feeding back into AWS calls and
   * keeps a backing-off object from being retried early. Nor is the echo of
   * our own last-applied annotation write: the reconcile that wrote it has done
   * everything a second one would, and a second one racing the first one's
   * status write only wrote status again.
   */
  #worthReconciling(obj: LogDestinationPolicy): boolean {
    const m = obj.metadata;
    const base = [m.uid, m.generation, m.deletionTimestamp ? "deleting" : ""].join("\u0000");
    const annotation = m.annotations?.[LAST_APPLIED_ANNOTATION] ?? "";
    const key = keyOf(m);
    const seen = this.#seen.get(key);
    this.#seen.set(key, { base, annotation });
    if (seen?.base !== base) return true;
    if (seen.annotation === annotation) return false;
    const ours = m.uid ? this.#deps.memory.get(m.uid) : undefined;
    return ours === undefined || ours.generation !== m.generation || ours.annotation !== annotation;
  }

  upsert(obj: LogDestinationPolicy): void {
    const key = keyOf(obj.metadata);
    const namespace = obj.metadata.namespace ?? "";
    let keys = this.#byNamespace.get(namespace);
    if (!keys) {
      keys = new Set();
      this.#byNamespace.set(namespace, keys);
    }
    keys.add(key);
    const affected = this.#claim(key, obj);
    // Another object may now write these destinations: records made before prove nothing.
    for (const other of [key, ...affected]) {
      if (this.#owners.ownerOtherThan(other) !== undefined) this.#suspect.add(other);
    }
    if (obj.metadata.deletionTimestamp && !this.#deleting.has(key)) this.#deletionObserved(key);
    // A user's change goes ahead of background work; the reconcile decides whether sweeps cover it again.
    if (this.#worthReconciling(obj)) this.#foreground(key);
    for (const other of affected) this.#foreground(other);
  }

  #foreground(key: string): void {
    this.#sweeper.delete(key);
    this.#swept.delete(key);
    this.#queue.add(key);
  }

  remove(obj: LogDestinationPolicy): void {
    const key = keyOf(obj.metadata);
    this.#interrupt(key);
    // The next-oldest object targeting the same destination may now own it.
    for (const other of this.#owners.delete(key)) this.#queue.add(other);
    this.#seen.delete(key);
    this.#deleting.delete(key);
    this.#suspect.delete(key);
    if (obj.metadata.uid) {
      this.#deps.memory.delete(obj.metadata.uid);
      this.#deps.lastRead.delete(obj.metadata.uid);
      this.#deps.revokeFailingSince.delete(obj.metadata.uid);
    }
    this.#permissions.delete(key);
    const namespace = obj.metadata.namespace ?? "";
    const keys = this.#byNamespace.get(namespace);
    keys?.delete(key);
    if (keys?.size === 0) this.#byNamespace.delete(namespace);
    this.#queue.cancel(key);
    this.#sweeper.delete(key);
    this.#swept.delete(key);
    this.#setReason(key, undefined);
  }

  /**
   * Deletion ends the object's AWS work: its pending retries and requeues are
   * dropped and an AWS call in flight is aborted. The reconcile that follows
   * finishes the deletion, and its revoke is the only write that may come.
   */
  #deletionObserved(key: string): void {
    this.#deleting.add(key);
    this.#interrupt(key);
    this.#queue.cancel(key);
    this.#sweeper.delete(key);
    this.#swept.delete(key);
  }

  #interrupt(key: string): void {
    this.#inflight.get(key)?.abort(new DeletionObserved(`${key} is being deleted`));
  }

  /**
   * Records the destination an object claims. Only a permitted object claims
   * one: a refused object never owns, blocks or takes a destination.
   * Returns the keys whose ownership may have changed.
   */
  #claim(key: string, obj: LogDestinationPolicy): string[] {
    const claim = {
      createdAt: Date.parse(String(obj.metadata.creationTimestamp ?? "")) || 0,
      uid: obj.metadata.uid ?? key,
    };
    const permitted = this.#permission(obj).permitted;
    const target = permitted ? targetOf(obj, this.#options.defaultRegion) : undefined;
    return this.#owners.set(key, target, claim);
  }

  /** The tenancy decision for the object's current generation, made once per generation. */
  #permission(obj: LogDestinationPolicy): Permission {
    const key = keyOf(obj.metadata);
    const generation = obj.metadata.generation ?? 0;
    const known = this.#permissions.get(key);
    if (known?.generation === generation) return known.permission;
    const request = permissionRequest(
      obj.metadata.namespace ?? "",
      obj.spec,
      this.#options.defaultRegion,
    );
    // Without a destination or a region the object is invalid and makes no AWS call.
    const permission: Permission = request
      ? this.#tenancy.decide(request)
      : { permitted: true, binding: "" };
    this.#permissions.set(key, { generation, permission });
    return permission;
  }

  upsertBinding(obj: LogDestinationPolicyBinding): void {
    this.#reevaluate(this.#tenancy.upsertBinding(obj));
    this.#metrics.bindings.set(this.#tenancy.bindingCount);
    const compiled = this.#tenancy.binding(obj.metadata.name);
    if (compiled?.problem !== undefined) {
      this.#log.warn(
        { binding: obj.metadata.name, problem: compiled.problem },
        "binding refused: it selects no namespace and permits nothing",
      );
    }
    const writer = this.#options.bindingStatus;
    const status = compiled ? bindingStatus(obj, compiled, this.#deps.now()) : undefined;
    if (writer && status) {
      writer.patchBindingStatus(obj.metadata.name, status).catch((err: unknown) => {
        this.#log.warn(
          { binding: obj.metadata.name, err: String(err) },
          "could not write binding status",
        );
      });
    }
  }

  removeBinding(obj: LogDestinationPolicyBinding): void {
    this.#reevaluate(this.#tenancy.removeBinding(obj));
    this.#metrics.bindings.set(this.#tenancy.bindingCount);
  }

  upsertNamespace(obj: KubernetesObject): void {
    this.#reevaluate(this.#tenancy.upsertNamespace(obj));
  }

  removeNamespace(obj: KubernetesObject): void {
    this.#reevaluate(this.#tenancy.removeNamespace(obj));
  }

  /**
   * Decides again, and reconciles, exactly the objects of these namespaces:
   * a binding or a namespace's labels changed, so their permission may have.
   */
  #reevaluate(namespaces: readonly string[]): void {
    let count = 0;
    for (const namespace of namespaces) {
      for (const key of this.#byNamespace.get(namespace) ?? []) {
        const ref = refOf(key);
        const obj = this.#cache.get(ref.namespace, ref.name);
        if (!obj) continue;
        this.#permissions.delete(key);
        for (const other of this.#claim(key, obj)) this.#queue.add(other);
        // Out of sweeps until decided again: no AWS read without a binding's permission.
        this.#foreground(key);
        count++;
      }
    }
    if (count > 0) this.#metrics.tenancyReevaluations.inc(count);
  }

  /** Keys waiting for a worker; none once stopping, since those are dropped. */
  get waiting(): number {
    return this.#queue.shuttingDown ? 0 : this.#queue.length;
  }

  /** Runs workers until stop(); resolves once in-flight reconciles have finished. */
  async run(): Promise<void> {
    while (!this.#cache.synced && !this.#queue.shuttingDown) await sleep(50);
    await this.#queue.run(
      this.#options.concurrency,
      (key) => this.#process(key),
      (key, err) => {
        this.#log.error({ key, err }, "reconcile worker failed");
      },
    );
  }

  /** Stops taking work and aborts AWS retries of in-flight reconciles. */
  stop(abortInFlight: boolean): void {
    this.#queue.shutdown();
    this.#sweeper.stop();
    if (abortInFlight) this.#abort.abort();
  }

  async #process(key: string): Promise<void> {
    const ref = refOf(key);
    const object = this.#cache.get(ref.namespace, ref.name);
    const swept = this.#swept.get(key);
    this.#swept.delete(key);
    if (!object) {
      this.#sweeper.delete(key);
      this.#queue.forget(key);
      this.#setReason(key, undefined);
      return;
    }
    const c = ControllerMetrics.controllerLabels;
    const endTimer = this.#metrics.reconcileTime.startTimer(c);
    const generation = object.metadata.generation ?? 0;
    let result: ReconcileResult;
    const own = new AbortController();
    this.#inflight.set(key, own);
    const signal = AbortSignal.any([this.#abort.signal, own.signal]);
    try {
      result = await reconcile({ object, ref, generation, signal, swept }, this.#deps);
    } catch (err) {
      if (own.signal.aborted) {
        this.#log.info({ key }, "the object's deletion cut its reconcile short");
        return;
      }
      // Only a failed status or annotation write lands here.
      this.#metrics.reconcileErrors.inc(c);
      this.#metrics.reconcileTotal.inc({ ...c, result: "error" });
      this.#log.warn({ key, err: String(err) }, "reconcile could not write its result; retrying");
      this.#queue.addRateLimited(key);
      return;
    } finally {
      endTimer();
      this.#inflight.delete(key);
    }
    const { outcome, putCalled } = result;
    if (outcome?.reason === "Applied") this.#suspect.delete(key);
    if (result.drift) this.#driftDetected(object, result.drift);
    if (result.notice) {
      const { reason, message, warning } = result.notice;
      this.#emit(object, warning ? "Warning" : "Normal", reason, "PutDestinationPolicy", message);
    }
    if (result.policyBytes !== undefined)
      this.#sizeChecked(key, object, result.policyBytes, putCalled);
    if (result.notice?.reason === "RevokeAbandoned") this.#metrics.revokeAbandoned.inc();
    if (outcome?.reason === "Applied" && !putCalled) this.#metrics.applySkipped.inc();
    if (putCalled) this.#metrics.lastApply.set(Date.now() / 1000);
    this.#report(key, object, outcome, putCalled);
    // Cut short by a deletion: the deletion has queued the key already, and nothing else is due.
    if (own.signal.aborted) {
      this.#log.info({ key }, "the object's deletion cut its reconcile short");
      return;
    }
    this.#requeue(key, object, outcome, result.driftIntervalMs, result.verification);
    if (result.requeueAfterMs !== undefined) this.#queue.addAfter(key, result.requeueAfterMs);
  }

  #requeue(
    key: string,
    object: LogDestinationPolicy,
    outcome: Outcome | undefined,
    driftIntervalMs: number,
    verification: Verification | undefined,
  ): void {
    const c = ControllerMetrics.controllerLabels;
    this.#sweeper.delete(key);
    if (outcome === undefined || OUTCOMES[outcome.reason].requeue !== "backoff") {
      const requeue = outcome ? OUTCOMES[outcome.reason].requeue : "none";
      this.#queue.forget(key);
      this.#metrics.reconcileTotal.inc({ ...c, result: "success" });
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
        this.#queue.addAfter(key, Math.round(driftIntervalMs * (0.9 + Math.random() * 0.2)));
      }
      return;
    }
    this.#metrics.reconcileErrors.inc(c);
    this.#metrics.reconcileTotal.inc({ ...c, result: "error" });
    if (this.#queue.shuttingDown) return;
    const delay = this.#queue.addRateLimited(key);
    this.#log.info({ key, reason: outcome.reason, retryInMs: delay }, "requeued with backoff");
  }

  #sweepDone(result: SweepResult): void {
    const labels = {
      account: rateLimitKey(result.region, result.roleArn).split("/")[0] ?? "default",
      region: result.region,
    };
    const m = this.#metrics;
    m.sweeps.inc({ ...labels, result: result.error === undefined ? "success" : "error" });
    m.sweepDuration.observe(labels, result.seconds);
    m.sweepReads.observe(labels, result.reads);
    if (result.error === undefined) {
      m.sweepLast.set(labels, Date.now() / 1000);
      m.sweepObjects.set(labels, result.members);
      this.#log.debug({ ...labels, ...result }, "drift sweep done");
      return;
    }
    this.#log.warn(
      { ...labels, reads: result.reads, err: errorText(result.error) },
      "drift sweep failed; its objects stay as they are until the next sweep",
    );
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
      { key, generation: object.metadata.generation, reason: outcome.reason, putCalled },
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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : JSON.stringify(err);
}
