// Leader election with a coordination.k8s.io/v1 Lease, as client-go does it:
// the holder renews the lease every retry period; the others poll it and take
// it over once it has gone unrenewed for its duration. Every write carries the
// resourceVersion it read, so two candidates can never both win a round.
//
// Timing, with D the lease duration, R the renew deadline and P the retry period:
//
// - Followers judge expiry by their own clock, never by the holder's renewTime,
//   so clock skew between nodes does not matter. A follower that sees a new
//   record dates the change to its previous read, but never earlier than P
//   before this read: the change happened after that previous read.
// - The holder stops leading R after its last successful renew began. A
//   follower dates that renew at most P too early, so it takes over no sooner
//   than D − P after it; with D > R + P (checked by the flags) the old leader
//   has always stopped first.
// - A follower wakes when the lease it watches expires, not only every P, so
//   a dead leader is replaced at most D after its last renew.
import {
  ApiException,
  CoordinationV1Api,
  Observable,
  V1MicroTime,
  type ConfigurationOptions,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
  type V1Lease,
} from "@kubernetes/client-node";
import { pause } from "../util/sleep.ts";

export interface LeaseRecord {
  /** Absent once released. */
  holderIdentity?: string;
  leaseDurationSeconds: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions: number;
  resourceVersion: string;
}

export type LeaseSpecFields = Omit<LeaseRecord, "resourceVersion">;

/** Another writer changed the lease since it was read (HTTP 409). */
export class LeaseConflictError extends Error {
  override name = "LeaseConflictError";
}

/** Where the lease lives; tests use an in-memory one. */
export interface LeaseStore {
  readonly description: string;
  get(signal: AbortSignal): Promise<LeaseRecord | undefined>;
  create(fields: LeaseSpecFields, signal: AbortSignal): Promise<LeaseRecord>;
  /** Replaces the lease if it still has `resourceVersion`; throws LeaseConflictError if not. */
  update(
    fields: LeaseSpecFields,
    resourceVersion: string,
    signal: AbortSignal,
  ): Promise<LeaseRecord>;
}

export interface LeaderElectionConfig {
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

export interface LeaderElectionEvents {
  /** The holder this candidate saw changed (undefined: released or never held). */
  newLeader?(identity: string | undefined): void;
  /** A read or write of the lease failed; the elector keeps trying. */
  attemptFailed?(err: unknown, leading: boolean): void;
}

export type LostReason = "renew-deadline" | "taken-over";

export class LeaderElector {
  readonly #store: LeaseStore;
  readonly #config: LeaderElectionConfig;
  readonly #events: LeaderElectionEvents;
  readonly #now: () => number;
  /** The last record read or written, and when (local monotonic ms) it is taken to date from. */
  #observed: LeaseRecord | undefined;
  #observedAt = 0;
  #previousReadStart: number | undefined;
  #lastHolder: string | undefined;
  #lastRenew: number | undefined;
  #lost: LostReason | undefined;
  readonly #release = new AbortController();
  #renewing: Promise<void> | undefined;
  readonly #lostPromise: Promise<LostReason>;
  #resolveLost!: (reason: LostReason) => void;

  constructor(
    store: LeaseStore,
    config: LeaderElectionConfig,
    events: LeaderElectionEvents = {},
    now: () => number = () => performance.now(),
  ) {
    if (!(config.leaseDurationMs > config.renewDeadlineMs + config.retryPeriodMs)) {
      throw new RangeError(
        "the lease duration must exceed the renew deadline plus the retry period",
      );
    }
    if (!(config.renewDeadlineMs > config.retryPeriodMs)) {
      throw new RangeError("the renew deadline must exceed the retry period");
    }
    this.#store = store;
    this.#config = config;
    this.#events = events;
    this.#now = now;
    this.#lostPromise = new Promise((resolve) => {
      this.#resolveLost = resolve;
    });
  }

  get identity(): string {
    return this.#config.identity;
  }

  /** True while the last successful renew is within the renew deadline. */
  get leading(): boolean {
    return (
      this.#lastRenew !== undefined &&
      this.#lost === undefined &&
      !this.#release.signal.aborted &&
      this.#now() - this.#lastRenew < this.#config.renewDeadlineMs
    );
  }

  /** Resolves once leadership is lost; never after release(). */
  get lost(): Promise<LostReason> {
    return this.#lostPromise;
  }

  /**
   * Polls the lease until this candidate holds it, then keeps renewing it in
   * the background. Resolves true once leading, false if `signal` aborts first.
   */
  async acquire(signal: AbortSignal): Promise<boolean> {
    const { retryPeriodMs, renewDeadlineMs } = this.#config;
    while (!aborted(signal)) {
      const started = this.#now();
      let waitMs = retryPeriodMs;
      try {
        const result = await this.#tryAcquireOrRenew(
          AbortSignal.any([signal, AbortSignal.timeout(Math.ceil(renewDeadlineMs))]),
        );
        if (result.acquired) {
          this.#lastRenew = started;
          this.#renewing = this.#renewLoop();
          return true;
        }
        // Wake when the lease expires if that comes before the next poll.
        waitMs = Math.min(retryPeriodMs, Math.max(0, result.expiresAt - this.#now()) + 1);
      } catch (err) {
        if (aborted(signal)) break;
        this.#events.attemptFailed?.(err, false);
      }
      await pause(waitMs, { signal });
    }
    return false;
  }

  /**
   * Stops renewing and hands the lease back (no holder, a 1 s duration), so a
   * follower takes over at its next poll instead of waiting out the lease.
   */
  async release(timeoutMs = 5_000): Promise<boolean> {
    const wasLeading = this.leading;
    this.#release.abort();
    await this.#renewing;
    if (!wasLeading || this.#lost !== undefined) return false;
    const signal = AbortSignal.timeout(timeoutMs);
    const current = await this.#store.get(signal);
    if (current?.holderIdentity !== this.identity) return false;
    const now = new Date();
    await this.#store.update(
      {
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: current.leaseTransitions,
      },
      current.resourceVersion,
      signal,
    );
    return true;
  }

  async #renewLoop(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.#config;
    const released = this.#release.signal;
    while (!aborted(released)) {
      await pause(retryPeriodMs, { signal: released });
      if (aborted(released)) return;
      const deadline = (this.#lastRenew ?? 0) + renewDeadlineMs;
      for (;;) {
        const remaining = deadline - this.#now();
        if (remaining <= 0) {
          this.#lose("renew-deadline");
          return;
        }
        const started = this.#now();
        try {
          const result = await this.#tryAcquireOrRenew(
            AbortSignal.any([released, AbortSignal.timeout(Math.max(1, Math.ceil(remaining)))]),
            true,
          );
          if (!result.acquired) {
            this.#lose("taken-over");
            return;
          }
          this.#lastRenew = started;
          break;
        } catch (err) {
          if (aborted(released)) return;
          this.#events.attemptFailed?.(err, true);
        }
        const wait = Math.min(retryPeriodMs, deadline - this.#now());
        if (wait > 0) await pause(wait, { signal: released });
        if (aborted(released)) return;
      }
    }
  }

  #lose(reason: LostReason): void {
    if (this.#lost !== undefined) return;
    this.#lost = reason;
    this.#resolveLost(reason);
  }

  /** With `renewOnly`, a lease held by anyone else counts as lost, expired or not. */
  async #tryAcquireOrRenew(
    signal: AbortSignal,
    renewOnly = false,
  ): Promise<{ acquired: true } | { acquired: false; expiresAt: number }> {
    const id = this.#config.identity;
    const readStart = this.#now();
    const current = await this.#store.get(signal);
    const readEnd = this.#now();
    const wallNow = new Date();
    const leaseDurationSeconds = Math.ceil(this.#config.leaseDurationMs / 1000);
    if (!current && renewOnly) return { acquired: false, expiresAt: 0 };
    if (!current) {
      const created = await this.#store.create(
        {
          holderIdentity: id,
          leaseDurationSeconds,
          acquireTime: wallNow,
          renewTime: wallNow,
          leaseTransitions: 0,
        },
        signal,
      );
      this.#observe(created, this.#now());
      return { acquired: true };
    }
    this.#observeRead(current, readStart, readEnd);
    const holder = current.holderIdentity;
    const expiresAt = this.#observedAt + current.leaseDurationSeconds * 1000;
    if (renewOnly ? holder !== id : holder && holder !== id && this.#now() < expiresAt) {
      return { acquired: false, expiresAt };
    }
    const renewing = holder === id;
    const updated = await this.#store.update(
      {
        holderIdentity: id,
        leaseDurationSeconds,
        acquireTime: renewing ? (current.acquireTime ?? wallNow) : wallNow,
        renewTime: wallNow,
        leaseTransitions: renewing ? current.leaseTransitions : current.leaseTransitions + 1,
      },
      current.resourceVersion,
      signal,
    );
    this.#observe(updated, this.#now());
    return { acquired: true };
  }

  /** Dates a change seen by a read to no earlier than it can have happened. */
  #observeRead(record: LeaseRecord, readStart: number, readEnd: number): void {
    if (record.resourceVersion !== this.#observed?.resourceVersion) {
      const since =
        this.#previousReadStart === undefined
          ? readEnd
          : Math.max(this.#previousReadStart, readEnd - this.#config.retryPeriodMs);
      this.#observe(record, since);
    }
    this.#previousReadStart = readStart;
  }

  #observe(record: LeaseRecord, at: number): void {
    this.#observed = record;
    this.#observedAt = at;
    if (record.holderIdentity !== this.#lastHolder) {
      this.#lastHolder = record.holderIdentity;
      this.#events.newLeader?.(record.holderIdentity);
    }
  }
}

/** A call, so TypeScript does not carry a narrowed `aborted` across awaits. */
function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** The Lease in the cluster, read and replaced through coordination.k8s.io/v1. */
export class KubeLeaseStore implements LeaseStore {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;
  /** Fields of the last lease read that this elector does not manage, kept on replace. */
  #last: V1Lease | undefined;

  constructor(kc: KubeConfig, namespace: string, name: string) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#namespace = namespace;
    this.#name = name;
  }

  get description(): string {
    return `${this.#namespace}/${this.#name}`;
  }

  async get(signal: AbortSignal): Promise<LeaseRecord | undefined> {
    try {
      const lease = await this.#api.readNamespacedLease(
        { name: this.#name, namespace: this.#namespace },
        withSignal(signal),
      );
      this.#last = lease;
      return toRecord(lease);
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  async create(fields: LeaseSpecFields, signal: AbortSignal): Promise<LeaseRecord> {
    try {
      const lease = await this.#api.createNamespacedLease(
        {
          namespace: this.#namespace,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.#name, namespace: this.#namespace },
            spec: toSpec(fields),
          },
        },
        withSignal(signal),
      );
      this.#last = lease;
      return toRecord(lease);
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) {
        throw new LeaseConflictError(`lease ${this.description} was created by another candidate`);
      }
      throw err;
    }
  }

  async update(
    fields: LeaseSpecFields,
    resourceVersion: string,
    signal: AbortSignal,
  ): Promise<LeaseRecord> {
    const base = this.#last;
    try {
      const lease = await this.#api.replaceNamespacedLease(
        {
          name: this.#name,
          namespace: this.#namespace,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: {
              name: this.#name,
              namespace: this.#namespace,
              resourceVersion,
              labels: base?.metadata?.labels,
              annotations: base?.metadata?.annotations,
            },
            // Fields this elector does not manage (strategy, preferredHolder) stay as they were.
            spec: Object.assign({}, base?.spec, toSpec(fields)),
          },
        },
        withSignal(signal),
      );
      this.#last = lease;
      return toRecord(lease);
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) {
        throw new LeaseConflictError(`lease ${this.description} changed since it was read`);
      }
      throw err;
    }
  }
}

/** MicroTime fields must be V1MicroTime: a plain Date serializes with milliseconds and gets HTTP 400. */
function toSpec(fields: LeaseSpecFields): NonNullable<V1Lease["spec"]> {
  return {
    holderIdentity: fields.holderIdentity,
    leaseDurationSeconds: fields.leaseDurationSeconds,
    acquireTime: fields.acquireTime ? new V1MicroTime(fields.acquireTime.getTime()) : undefined,
    renewTime: fields.renewTime ? new V1MicroTime(fields.renewTime.getTime()) : undefined,
    leaseTransitions: fields.leaseTransitions,
  };
}

function toRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  // client-node hands MicroTime fields back as strings.
  const time = (value: unknown) =>
    value === undefined || value === null ? undefined : new Date(value as string);
  return {
    ...(spec.holderIdentity ? { holderIdentity: spec.holderIdentity } : {}),
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: time(spec.acquireTime),
    renewTime: time(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion ?? "",
  };
}

/** Per-request options that let an AbortSignal cancel the HTTP request. */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}

/** controller-runtime's identity: the host name and a random suffix, unique per process. */
export function leaderIdentity(hostname: string): string {
  return `${hostname}_${crypto.randomUUID()}`;
}
