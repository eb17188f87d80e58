// Client-side rate limit for AWS calls: one token bucket per account and
// region, shared by every worker, and taken once per attempt (retries too).
// CloudWatch Logs control-plane calls share a per-account, per-region quota
// (comparable calls allow 5 requests/s), so a burst of changes must not turn
// into a storm of throttling errors that other tools in the account also pay
// for.
//
// The budget is shared fairly (fair-bucket.ts): waiters of one namespace take
// turns with those of every other namespace waiting at the same bucket, so a
// namespace whose objects keep failing and retrying cannot make another
// namespace's change wait behind its backlog.
//
// Background calls (drift sweeps) come last: they are served only when no
// foreground call waits, so a change waits behind at most the one background
// call that took the last free token. A bucket of their own caps them at a
// share of the rate.
//
// A bucket goes with the last kept client of its account and region
// (logs-clients.ts calls drop); `maxBuckets`, least recently used first, is a
// backstop of its own, so that made-up regions cannot grow the map whatever
// the clients do.
import { accountOfArn } from "../util/arn.ts";
import { systemClock, type Clock } from "../util/clock.ts";
import { FairTokenBucket, type Priority, type RateLimit } from "./fair-bucket.ts";

export { FairTokenBucket, type Priority, type RateLimit } from "./fair-bucket.ts";

/** The share of each account's rate that background calls may use at most. */
const BACKGROUND_SHARE = 0.5;

/** Default cap on buckets kept; above the clients' default cap, which drops buckets first. */
export const DEFAULT_MAX_BUCKETS = 256;

export interface RateLimiterOptions {
  clock?: Clock;
  maxBuckets?: number;
}

export interface TakeOptions {
  /** The caller's namespace: a fairness key only, never an identity. */
  flow?: string | undefined;
  signal?: AbortSignal | undefined;
  priority?: Priority;
}

interface Buckets {
  all: FairTokenBucket;
  /** Created on the first background call. */
  background: FairTokenBucket | undefined;
}

/** The buckets of one controller, keyed by account and region. */
export class AwsRateLimiter {
  readonly #limit: RateLimit;
  /** In order of last use, least recent first. */
  readonly #buckets = new Map<string, Buckets>();
  readonly #clock: Clock;
  readonly #max: number;

  constructor(limit: RateLimit, options: RateLimiterOptions = {}) {
    this.#limit = limit;
    this.#clock = options.clock ?? systemClock;
    this.#max = Math.max(1, options.maxBuckets ?? DEFAULT_MAX_BUCKETS);
  }

  get unlimited(): boolean {
    return this.#limit.ratePerSecond <= 0;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Forgets the key's buckets (see rateLimitKey): the clients of its account and
   * region were evicted (logs-clients.ts). A bucket someone waits at stays:
   * dropping it would strand its waiters. Returns whether it was dropped.
   */
  drop(key: string): boolean {
    const b = this.#buckets.get(key);
    if (!b) return false;
    if (b.all.waiting > 0 || (b.background?.waiting ?? 0) > 0) return false;
    this.#buckets.delete(key);
    return true;
  }

  #bucketsOf(key: string): Buckets {
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key);
    } else {
      b = { all: new FairTokenBucket(this.#limit, this.#clock), background: undefined };
      this.#evict();
    }
    this.#buckets.set(key, b);
    return b;
  }

  /**
   * Makes room for one more bucket. A dropped bucket that was not full lets its
   * account start again with a full burst: at most `burst` calls more than the
   * rate, and only once the map holds `maxBuckets` accounts and regions.
   */
  #evict(): void {
    if (this.#buckets.size < this.#max) return;
    for (const [key, b] of this.#buckets) {
      if (b.all.waiting > 0 || (b.background?.waiting ?? 0) > 0) continue;
      this.#buckets.delete(key);
      if (this.#buckets.size < this.#max) return;
    }
  }

  /** Waits for a token of the key's bucket; returns the ms waited. */
  async take(key: string, options: TakeOptions = {}): Promise<number> {
    if (this.unlimited) return 0;
    const { flow = "", signal, priority = "foreground" } = options;
    const b = this.#bucketsOf(key);
    if (priority === "foreground") return b.all.take(flow, "foreground", signal);
    b.background ??= new FairTokenBucket(
      { ratePerSecond: this.#limit.ratePerSecond * BACKGROUND_SHARE, burst: 1 },
      this.#clock,
    );
    const waited = await b.background.take(flow, "foreground", signal);
    return waited + (await b.all.take(flow, "background", signal));
  }
}

/** "account/region"; the account comes from the role's ARN, "default" for the controller's own. */
export function rateLimitKey(region: string, roleArn?: string): string {
  const account = roleArn === undefined ? undefined : accountOfArn(roleArn)?.accountId;
  return `${account ?? "default"}/${region}`;
}
