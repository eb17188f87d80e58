// Connects the watch caches to the queue and the queue to reconcile. This
// module decides what a watch event does: which keys it queues, which
// reconciles in flight it cuts short, what it forgets. Running a key is the
// runner's (runner.ts); what a result says, the outcome table's.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { LogDestinationPolicyBinding } from "../api/binding.ts";
import type { LogDestinationGrant } from "../api/grant.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import type { DestinationSweepApi } from "../aws/destinations.ts";
import type { EventSink } from "../kube/events.ts";
import { keyOf, refOf } from "../kube/keys.ts";
import type { PolicyWriter } from "../kube/resources.ts";
import { bindingStatus } from "./binding-status.ts";
import { ControllerMetrics } from "../metrics/metrics.ts";
import type { Logger } from "../logger.ts";
import { ChangeFilter } from "./change-filter.ts";
import { DeletionObserved, PermissionWithdrawn } from "./phases/aws-failure.ts";
import { GrantWatch } from "./grant-watch.ts";
import { systemClock } from "../util/clock.ts";
import {
  DEFAULT_MIN_DRIFT_INTERVAL_MS,
  REQUEUE_BACKOFF,
  type ControllerOptions,
  type PolicyCache,
} from "./options.ts";
import { DestinationEvidence } from "./evidence.ts";
import { destinationId, destinationOf, OwnershipIndex, targetOf, unresolved } from "./ownership.ts";
import type { AwsAccount } from "../util/arn.ts";
import { Permissions } from "./permissions.ts";
import { queueMetrics } from "./queue-metrics.ts";
import { WorkQueue } from "./queue.ts";
import type { ReconcileDeps } from "./reconcile.ts";
import { ReconcileRunner } from "./runner.ts";
import { Tenancy } from "./tenancy.ts";
import { pause } from "../util/sleep.ts";
import { grantMetrics, NO_GRANT_WRITER } from "./grant-wiring.ts";

export {
  DEFAULT_MIN_DRIFT_INTERVAL_MS,
  REQUEUE_BACKOFF,
  type ControllerOptions,
  type PolicyCache,
} from "./options.ts";

export class PolicyController {
  readonly #cache: PolicyCache;
  readonly #metrics: ControllerMetrics;
  readonly #log: Logger;
  readonly #options: ControllerOptions;
  readonly #deps: ReconcileDeps;
  readonly #queue: WorkQueue;
  readonly #runner: ReconcileRunner;
  readonly #changes: ChangeFilter;
  readonly #owners = new OwnershipIndex();
  /** Uids of the objects whose deletion has been seen. */
  readonly #deleting = new Set<string>();
  /** The uid each key's cached object has: what is kept per uid goes when another object takes the name. */
  readonly #uids = new Map<string, string>();
  /** What this process has seen at each destination; see record.ts. */
  readonly #evidence: DestinationEvidence;
  /** The controller's own account, once GetCallerIdentity has answered. */
  #own: AwsAccount | undefined;
  readonly #tenancy: Tenancy;
  readonly #permissions: Permissions;
  readonly #grants: GrantWatch;

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
    this.#metrics = metrics;
    this.#log = log;
    this.#options = options;
    const clock = options.clock ?? systemClock;
    this.#tenancy = options.tenancy ?? new Tenancy(false, () => () => false);
    this.#permissions = new Permissions(this.#tenancy, options.defaultRegion);
    // Another object's write or a read of a changed policy: the others at that
    // destination forget their records soon, in status, so the doubt outlasts a restart.
    this.#evidence = new DestinationEvidence((keys) => {
      for (const other of keys) this.#queue.add(other, "background");
    });
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
      permission: (object) => this.#permissions.of(object),
      memory: new Map(),
      lastRead: new Map(),
      identity: (region) => this.#identify(aws, region),
      destinationOf: (region, name, roleArn) =>
        destinationId(region, name, roleArn, this.#own?.accountId),
      evidence: this.#evidence,
      grantsOf: (key) => this.#grants.of(key),
      grantWriter: options.grantWriter ?? NO_GRANT_WRITER,
      namespaceLabels: (namespace) => this.#tenancy.labels(namespace),
      grantDecision: (request) => this.#tenancy.decide(request),
      grantMetrics: grantMetrics(metrics),
      grantMemory: new Map(),
      now: () => new Date(clock.now()),
    };
    this.#changes = new ChangeFilter(this.#deps.memory);
    this.#grants = new GrantWatch(options.grants, clock, this.#deps, (key) => {
      this.#queue.add(key);
    });
    this.#queue = new WorkQueue(queueMetrics(metrics), options.backoff ?? REQUEUE_BACKOFF, clock);
    metrics.maxWorkers.set(ControllerMetrics.controllerLabels, options.concurrency);
    this.#runner = new ReconcileRunner({
      cache,
      aws,
      deps: this.#deps,
      queue: this.#queue,
      events,
      metrics,
      log,
      clock,
    });
  }

  upsert(obj: LogDestinationPolicy): void {
    const key = keyOf(obj.metadata);
    const uid = obj.metadata.uid ?? key;
    const before = this.#uids.get(key);
    // A relist can replace an object by a new one of the same name without a delete: the old one is gone.
    if (before !== undefined && before !== uid) this.#replaced(key, before);
    this.#uids.set(key, uid);
    this.#permissions.track(obj);
    const affected = this.#claim(key, obj);
    if (obj.metadata.deletionTimestamp && !this.#deleting.has(uid))
      this.#deletionObserved(key, uid);
    // A user's change goes ahead of background work; the reconcile decides whether sweeps cover it again.
    if (this.#changes.worthReconciling(obj)) this.#foreground(key);
    for (const other of affected) this.#foreground(other);
  }

  #foreground(key: string): void {
    this.#runner.drop(key);
    this.#queue.add(key);
  }

  remove(obj: LogDestinationPolicy): void {
    const key = keyOf(obj.metadata);
    this.#runner.interrupt(key);
    // A writer that goes (Retain, or a revoke that failed) leaves a policy nobody has read.
    const target = this.#owners.targetOfKey(key);
    if (target !== undefined) this.#evidence.writerGone(target, key);
    this.#evidence.track(key, undefined);
    // The next-oldest object targeting the same destination may now own it.
    for (const other of this.#owners.delete(key)) this.#queue.add(other);
    this.#changes.forget(key);
    this.#forgetUid(obj.metadata.uid ?? key);
    this.#uids.delete(key);
    this.#permissions.forget(obj);
    this.#queue.cancel(key);
    this.#runner.forget(key);
    // Its grants learn that it is gone, and give up their finalizers.
    if (this.#grants.named(key)) this.#queue.add(key);
  }

  /** What is kept per uid, for an object that is gone. */
  #forgetUid(uid: string): void {
    this.#deleting.delete(uid);
    this.#deps.memory.delete(uid);
    this.#deps.lastRead.delete(uid);
    this.#deps.revokeFailingSince.delete(uid);
  }

  /** Another object took the key's name: the old one's AWS work and what was kept for it end. */
  #replaced(key: string, uid: string): void {
    this.#runner.interrupt(key, new DeletionObserved(`${key} was replaced by a new object`));
    this.#forgetUid(uid);
    this.#queue.cancel(key);
  }

  /**
   * Deletion ends the object's AWS work: its pending retries and requeues are
   * dropped and an AWS call in flight is aborted. The reconcile that follows
   * finishes the deletion, and its revoke is the only write that may come.
   */
  #deletionObserved(key: string, uid: string): void {
    this.#deleting.add(uid);
    this.#runner.interrupt(key);
    this.#queue.cancel(key);
    this.#runner.drop(key);
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
    const permitted = this.#permissions.of(obj).permitted;
    const region = this.#options.defaultRegion;
    const own = this.#own?.accountId;
    this.#evidence.track(key, permitted ? destinationOf(obj, region, own) : undefined);
    const target = permitted ? targetOf(obj, region, own) : undefined;
    return this.#owners.set(key, target, claim);
  }

  /**
   * The own account, looked up once. Learning it re-keys every role-less
   * object before any reconcile waiting for it goes on, so ownership is decided
   * on one name per destination before the first write.
   */
  async #identify(aws: DestinationSweepApi, region: string): Promise<AwsAccount | undefined> {
    const known = this.#own;
    if (known) return known;
    const account = await aws.account({ region });
    if (account) this.#learn(account);
    return this.#own;
  }

  #learn(account: AwsAccount): void {
    if (this.#own) return;
    this.#own = account;
    for (const key of this.#evidence.keysWhere(unresolved)) {
      const ref = refOf(key);
      const obj = this.#cache.get(ref.namespace, ref.name);
      if (obj) for (const other of this.#claim(key, obj)) this.#queue.add(other);
    }
  }

  /** A grant's change is a change of the policies it names (see grant-watch.ts). */
  upsertGrant(obj: LogDestinationGrant): void {
    this.#grants.upsert(obj);
  }

  removeGrant(obj: LogDestinationGrant): void {
    this.#grants.remove(obj);
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
   * An object no longer permitted loses its AWS call in flight, as a deleted
   * one does: nothing may reach AWS on a permission that is gone.
   */
  #reevaluate(namespaces: readonly string[]): void {
    let count = 0;
    for (const key of this.#permissions.keysIn(namespaces)) {
      const ref = refOf(key);
      const obj = this.#cache.get(ref.namespace, ref.name);
      if (!obj) continue;
      this.#permissions.undecide(key);
      if (!this.#permissions.of(obj).permitted) {
        this.#runner.interrupt(key, new PermissionWithdrawn(`${key} is no longer permitted`));
      }
      for (const other of this.#claim(key, obj)) this.#queue.add(other);
      // Out of sweeps until decided again: no AWS read without a binding's permission.
      this.#foreground(key);
      count++;
    }
    if (count > 0) this.#metrics.tenancyReevaluations.inc(count);
    // Both consents of a grant hang on its namespace's labels and bindings.
    for (const policy of this.#grants.policiesIn(namespaces)) this.#queue.add(policy);
  }

  /** Keys waiting for a worker; none once stopping, since those are dropped. */
  get waiting(): number {
    return this.#queue.shuttingDown ? 0 : this.#queue.length;
  }

  /** Reconciles waiting or in flight, whose writes matter more than events'. */
  get busy(): boolean {
    return this.waiting + this.#queue.inFlight > 0;
  }

  /** Calls the listener whenever the last reconcile finishes with nothing waiting. */
  onIdle(listener: () => void): void {
    this.#queue.onIdle(listener);
  }

  /** Runs workers until stop(); resolves once in-flight reconciles have finished. */
  async run(): Promise<void> {
    while (!this.#cache.synced && !this.#queue.shuttingDown) await pause(50);
    await this.#queue.run(
      this.#options.concurrency,
      (key) => this.#runner.process(key),
      (key, err) => {
        this.#log.error({ key, err }, "reconcile worker failed");
      },
    );
  }

  /** Stops taking work and aborts AWS retries of in-flight reconciles. */
  stop(abortInFlight: boolean): void {
    this.#grants.stop();
    this.#queue.shutdown();
    this.#runner.stop(abortInFlight);
  }
}
