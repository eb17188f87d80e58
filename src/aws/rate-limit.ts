// Client-side rate limit for AWS calls: one token bucket per account and
// region, shared by every worker, and taken once per attempt (retries too).
// CloudWatch Logs control-plane calls share a per-account, per-region quota
// (comparable calls allow 5 requests/s), so a burst of changes must not turn
// into a storm of throttling errors that other tools in the account also pay
// for.
//
// A bucket with rate r and capacity b grants at most b + r·T tokens in any
// interval of length T: it starts full, holds at most b, and refills at r.
// Waiters are served in the order they asked.
//
// Background calls (drift sweeps) come last: they take a token only when one is
// free right now, so they never hold a reservation ahead of a user's change, and
// a change waits behind at most the one background call that took the last free
// token. A bucket of their own caps them at a share of the rate.
import { accountOfArn } from "../util/arn.ts";
import { sleep } from "../util/sleep.ts";

/** Requests per second (0 = unlimited) and the bucket's capacity. */
export interface RateLimit {
  ratePerSecond: number;
  burst: number;
}

export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  /** May go negative: each waiter reserves a token that is still to come. */
  #tokens: number;
  #last: number;

  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    if (!(limit.ratePerSecond > 0)) throw new RangeError("rate must be above 0");
    if (!(limit.burst >= 1)) throw new RangeError("burst must be at least 1");
    this.#perMs = limit.ratePerSecond / 1000;
    this.#burst = Math.floor(limit.burst);
    this.#now = now;
    this.#tokens = this.#burst;
    this.#last = now();
  }

  /** True when the bucket has not been used for `idleMs` and is full again: dropping it changes nothing. */
  idleFor(idleMs: number): boolean {
    const now = this.#now();
    return (
      now - this.#last >= idleMs && this.#tokens + (now - this.#last) * this.#perMs >= this.#burst
    );
  }

  /**
   * Reserves the next token and returns how long to wait for it, in ms. A
   * reservation is never handed back: returning it could let a later caller
   * go before a waiter already scheduled, and break the bound above.
   */
  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    this.#tokens -= 1;
    // Rounded up: a timer that fires a fraction early would grant a token too soon.
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#perMs);
  }

  /** Ms until a whole token is free without reserving one; 0 when one is free now. */
  untilFree(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#perMs);
  }

  /**
   * Waits until a token is free and no reservation is waiting, then takes it.
   * Returns the ms waited. Polls rather than reserves: a reservation would put
   * this call ahead of foreground calls that arrive while it waits.
   */
  async takeWhenFree(signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    let waited = 0;
    for (let wait = this.untilFree(); wait > 0; wait = this.untilFree()) {
      await sleep(wait, signal);
      waited += wait;
    }
    this.#tokens -= 1;
    return waited;
  }

  /** Waits for a token; rejects with the signal's reason if aborted first. Returns the ms waited. */
  async take(signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    const wait = this.reserve();
    if (wait > 0) await sleep(wait, signal);
    return wait;
  }
}

/** Foreground: a user's change or a retry of one. Background: verification that can wait. */
export type Priority = "foreground" | "background";

/** The share of each account's rate that background calls may use at most. */
const BACKGROUND_SHARE = 0.5;

/** The buckets of one controller, keyed by account and region. */
export class AwsRateLimiter {
  readonly #limit: RateLimit;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #now: (() => number) | undefined;
  readonly #background = new Map<string, TokenBucket>();

  constructor(limit: RateLimit, now?: () => number) {
    this.#limit = limit;
    this.#now = now;
  }

  get unlimited(): boolean {
    return this.#limit.ratePerSecond <= 0;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Drops buckets unused for `idleMs`. A dropped bucket would have refilled by
   * now, so a new one starting full grants nothing the old one would not.
   */
  sweep(idleMs: number): void {
    for (const [key, bucket] of this.#buckets)
      if (bucket.idleFor(idleMs)) this.#buckets.delete(key);
    for (const [key, bucket] of this.#background)
      if (bucket.idleFor(idleMs)) this.#background.delete(key);
  }

  /** Forgets the key's buckets: the clients of its account and region were evicted (logs-clients.ts). */
  drop(key: string): void {
    this.#buckets.delete(key);
    this.#background.delete(key);
  }

  /** Waits for a token of the key's bucket; returns the ms waited. */
  async take(
    key: string,
    signal?: AbortSignal,
    priority: Priority = "foreground",
  ): Promise<number> {
    if (this.unlimited) return 0;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.#limit, this.#now);
      this.#buckets.set(key, bucket);
    }
    if (priority === "foreground") return bucket.take(signal);
    let share = this.#background.get(key);
    if (!share) {
      share = new TokenBucket(
        { ratePerSecond: this.#limit.ratePerSecond * BACKGROUND_SHARE, burst: 1 },
        this.#now,
      );
      this.#background.set(key, share);
    }
    const waited = await share.take(signal);
    return waited + (await bucket.takeWhenFree(signal));
  }
}

/** "account/region"; the account comes from the role's ARN, "default" for the controller's own. */
export function rateLimitKey(region: string, roleArn?: string): string {
  const account = roleArn === undefined ? undefined : accountOfArn(roleArn)?.accountId;
  return `${account ?? "default"}/${region}`;
}
