// Leader election as client-go runs it: the holder renews the lease every
// retry period; the others poll it and take it over once it has gone
// unrenewed for its duration. Every write carries the resourceVersion it read,
// so two candidates can never both win a round. What each round writes is
// decided by src/election/lease.ts; this module owns the timers.
import { pause } from "../util/sleep.ts";
import {
  checkTimings,
  decide,
  LeaseObservation,
  nextLookMs,
  releaseFields,
  type LeaderElectionConfig,
  type LeaseStore,
  type LostReason,
} from "./lease.ts";

export interface LeaderElectionEvents {
  /** The holder this candidate saw changed (undefined: released or never held). */
  newLeader?(identity: string | undefined): void;
  /** A read or write of the lease failed; the elector keeps trying. */
  attemptFailed?(err: unknown, leading: boolean): void;
}

export class LeaderElector {
  readonly #store: LeaseStore;
  readonly #config: LeaderElectionConfig;
  readonly #events: LeaderElectionEvents;
  readonly #now: () => number;
  readonly #observation: LeaseObservation;
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
    checkTimings(config);
    this.#store = store;
    this.#config = config;
    this.#events = events;
    this.#now = now;
    this.#observation = new LeaseObservation(config.retryPeriodMs);
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
          false,
        );
        if (result.acquired) {
          this.#lastRenew = started;
          this.#renewing = this.#renewLoop();
          return true;
        }
        waitMs = nextLookMs(result.expiresAt, this.#now(), retryPeriodMs);
      } catch (err) {
        if (aborted(signal)) break;
        this.#events.attemptFailed?.(err, false);
      }
      await pause(waitMs, { signal });
    }
    return false;
  }

  /**
   * Stops renewing and hands the lease back (see releaseFields), so a
   * follower takes over at its next poll instead of waiting out the lease.
   */
  async release(timeoutMs = 5_000): Promise<boolean> {
    const wasLeading = this.leading;
    this.#release.abort();
    await this.#renewing;
    if (!wasLeading || this.#lost !== undefined) return false;
    const signal = AbortSignal.timeout(timeoutMs);
    const current = await this.#store.get(signal);
    const fields = releaseFields(current, this.identity, new Date());
    if (!current || !fields) return false;
    await this.#store.update(fields, current.resourceVersion, signal);
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

  async #tryAcquireOrRenew(
    signal: AbortSignal,
    renewOnly: boolean,
  ): Promise<{ acquired: true } | { acquired: false; expiresAt: number }> {
    const readStart = this.#now();
    const current = await this.#store.get(signal);
    const readEnd = this.#now();
    const wallNow = new Date();
    if (current && this.#observation.read(current, readStart, readEnd)) this.#announce();
    const decision = decide(current, {
      identity: this.#config.identity,
      leaseDurationMs: this.#config.leaseDurationMs,
      renewOnly,
      observedAt: this.#observation.at,
      now: this.#now(),
      wallNow,
    });
    if (decision.action === "wait") return { acquired: false, expiresAt: decision.expiresAt };
    const written =
      decision.action === "create"
        ? await this.#store.create(decision.fields, signal)
        : await this.#store.update(decision.fields, decision.resourceVersion, signal);
    if (this.#observation.wrote(written, this.#now())) this.#announce();
    return { acquired: true };
  }

  #announce(): void {
    this.#events.newLeader?.(this.#observation.holder);
  }
}

/** A call, so TypeScript does not carry a narrowed `aborted` across awaits. */
function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
