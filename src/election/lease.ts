// The lease algorithm of leader election, as client-go has it, apart from
// timers and from where the lease is kept: what a candidate writes given the
// record it read and its clock. No I/O; src/election/elector.ts runs it, and
// src/kube/lease.ts keeps the record in a coordination.k8s.io/v1 Lease.
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

export type LostReason = "renew-deadline" | "taken-over";

/** Refuses timings that would let a follower take over before the leader stops. */
export function checkTimings(config: LeaderElectionConfig): void {
  if (!(config.leaseDurationMs > config.renewDeadlineMs + config.retryPeriodMs)) {
    throw new RangeError("the lease duration must exceed the renew deadline plus the retry period");
  }
  if (!(config.renewDeadlineMs > config.retryPeriodMs)) {
    throw new RangeError("the renew deadline must exceed the retry period");
  }
}

/** What a candidate does with the record it read. */
export type Decision =
  | { action: "create"; fields: LeaseSpecFields }
  /** Replace the record only if it is still the one read. */
  | { action: "update"; fields: LeaseSpecFields; resourceVersion: string }
  /** Someone else holds the lease: look again, at the latest when it expires (local monotonic ms). */
  | { action: "wait"; expiresAt: number };

/**
 * Acquire or renew. `observedAt` dates `current` by this candidate's clock
 * (see LeaseObservation); `now` is that clock now, `wallNow` the time written
 * into the record. With `renewOnly`, a lease held by anyone else counts as
 * lost, expired or not, and so does one that no longer exists.
 */
export function decide(
  current: LeaseRecord | undefined,
  input: {
    identity: string;
    leaseDurationMs: number;
    renewOnly: boolean;
    observedAt: number;
    now: number;
    wallNow: Date;
  },
): Decision {
  const { identity, wallNow } = input;
  const leaseDurationSeconds = Math.ceil(input.leaseDurationMs / 1000);
  if (!current) {
    if (input.renewOnly) return { action: "wait", expiresAt: 0 };
    return {
      action: "create",
      fields: {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: wallNow,
        renewTime: wallNow,
        leaseTransitions: 0,
      },
    };
  }
  const holder = current.holderIdentity;
  const expiresAt = input.observedAt + current.leaseDurationSeconds * 1000;
  const heldByOther = input.renewOnly
    ? holder !== identity
    : holder && holder !== identity && input.now < expiresAt;
  if (heldByOther) return { action: "wait", expiresAt };
  const renewing = holder === identity;
  return {
    action: "update",
    resourceVersion: current.resourceVersion,
    fields: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: renewing ? (current.acquireTime ?? wallNow) : wallNow,
      renewTime: wallNow,
      leaseTransitions: renewing ? current.leaseTransitions : current.leaseTransitions + 1,
    },
  };
}

/** How long a follower waits before its next look: a retry period, or until the lease expires if sooner. */
export function nextLookMs(expiresAt: number, now: number, retryPeriodMs: number): number {
  return Math.min(retryPeriodMs, Math.max(0, expiresAt - now) + 1);
}

/**
 * What handing the lease back writes: no holder and a 1 s duration, so a
 * follower takes over at its next look instead of waiting out the lease.
 * Undefined when this candidate no longer holds it.
 */
export function releaseFields(
  current: LeaseRecord | undefined,
  identity: string,
  wallNow: Date,
): LeaseSpecFields | undefined {
  if (current?.holderIdentity !== identity) return undefined;
  return {
    leaseDurationSeconds: 1,
    acquireTime: wallNow,
    renewTime: wallNow,
    leaseTransitions: current.leaseTransitions,
  };
}

/**
 * The last record a candidate read or wrote, and when (its own monotonic
 * clock) that record is taken to date from.
 */
export class LeaseObservation {
  readonly #retryPeriodMs: number;
  #record: LeaseRecord | undefined;
  #at = 0;
  #previousReadStart: number | undefined;
  #holder: string | undefined;

  constructor(retryPeriodMs: number) {
    this.#retryPeriodMs = retryPeriodMs;
  }

  get at(): number {
    return this.#at;
  }

  /**
   * Dates a change seen by a read to no earlier than it can have happened.
   * Returns true when the holder changed.
   */
  read(record: LeaseRecord, readStart: number, readEnd: number): boolean {
    let changed = false;
    if (record.resourceVersion !== this.#record?.resourceVersion) {
      const since =
        this.#previousReadStart === undefined
          ? readEnd
          : Math.max(this.#previousReadStart, readEnd - this.#retryPeriodMs);
      changed = this.wrote(record, since);
    }
    this.#previousReadStart = readStart;
    return changed;
  }

  /** A record this candidate wrote, or read, dated `at`. Returns true when the holder changed. */
  wrote(record: LeaseRecord, at: number): boolean {
    this.#record = record;
    this.#at = at;
    if (record.holderIdentity === this.#holder) return false;
    this.#holder = record.holderIdentity;
    return true;
  }

  get holder(): string | undefined {
    return this.#holder;
  }
}

/** controller-runtime's identity: the host name and a random suffix, unique per process. */
export function leaderIdentity(hostname: string): string {
  return `${hostname}_${crypto.randomUUID()}`;
}
