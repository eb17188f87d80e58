// A token bucket whose waiters are served fairly. With rate r and capacity b it
// grants at most b + r·T tokens in any interval of length T: it starts full,
// holds at most b, refills at r, and grants a token only when a whole one is
// there (tokens never go below zero, so nothing is reserved ahead of time).
//
// Who waits decides who goes next, not who asked first: foreground waiters are
// served one flow (namespace) at a time in turn, and background waiters only
// when no foreground waiter is left. A caller that waits holds no token, and an
// aborted waiter leaves nothing behind, so a flow that keeps failing and
// retrying takes one turn in each round and never more.
import { systemClock, type Clock, type Timer } from "../util/clock.ts";
import { RoundRobin } from "../util/round-robin.ts";

/** Requests per second (0 = unlimited) and the bucket's capacity. */
export interface RateLimit {
  ratePerSecond: number;
  burst: number;
}

/** Foreground: a user's change or a retry of one. Background: verification that can wait. */
export type Priority = "foreground" | "background";

interface Waiter {
  asked: number;
  settled: boolean;
  grant(waitedMs: number): void;
}

export class FairTokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #clock: Clock;
  readonly #foreground = new RoundRobin<Waiter>();
  readonly #background: Waiter[] = [];
  #tokens: number;
  #last: number;
  /** Waiters not yet granted nor aborted. */
  #waiting = 0;
  #timer: Timer | undefined;

  constructor(limit: RateLimit, clock: Clock = systemClock) {
    if (!(limit.ratePerSecond > 0)) throw new RangeError("rate must be above 0");
    if (!(limit.burst >= 1)) throw new RangeError("burst must be at least 1");
    this.#perMs = limit.ratePerSecond / 1000;
    this.#burst = Math.floor(limit.burst);
    this.#clock = clock;
    this.#tokens = this.#burst;
    this.#last = clock.now();
  }

  /** Callers waiting for a token. */
  get waiting(): number {
    return this.#waiting;
  }

  #refilled(now: number): number {
    return Math.min(this.#burst, this.#tokens + Math.max(0, now - this.#last) * this.#perMs);
  }

  #refill(): number {
    const now = this.#clock.now();
    this.#tokens = this.#refilled(now);
    this.#last = Math.max(this.#last, now);
    return now;
  }

  /**
   * Waits for a token; rejects with the signal's reason if aborted first.
   * Resolves with the ms waited. `flow` is a fairness key only (the caller's
   * namespace): it decides the order of waiters, never whether one is served.
   */
  take(flow: string, priority: Priority = "foreground", signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    const now = this.#refill();
    // Nobody waits whenever a whole token is there (#grant hands it out at once).
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return Promise.resolve(0);
    }
    return new Promise<number>((resolve, reject) => {
      const onAbort = () => {
        if (waiter.settled) return;
        waiter.settled = true;
        this.#waiting--;
        reject(signal?.reason as Error);
      };
      const waiter: Waiter = {
        asked: now,
        settled: false,
        grant: (waitedMs) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(waitedMs);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      if (priority === "foreground") this.#foreground.push(flow, waiter);
      else this.#background.push(waiter);
      this.#waiting++;
      this.#wake();
    });
  }

  /** The next waiter to serve: foreground flows in turn, then background in order. */
  #nextWaiter(): Waiter | undefined {
    const turn = this.#foreground.shift((w) => !w.settled);
    if (turn) return turn.item;
    for (let w = this.#background.shift(); w; w = this.#background.shift())
      if (!w.settled) return w;
    return undefined;
  }

  #grant(): void {
    this.#timer = undefined;
    const now = this.#refill();
    while (this.#tokens >= 1 && this.#waiting > 0) {
      const waiter = this.#nextWaiter();
      if (!waiter) break;
      waiter.settled = true;
      this.#waiting--;
      this.#tokens -= 1;
      waiter.grant(now - waiter.asked);
    }
    this.#wake();
  }

  /** Schedules the next grant for when a whole token will be there, if anyone waits. */
  #wake(): void {
    if (this.#timer || this.#waiting === 0) return;
    // Rounded up: a timer that fires a fraction early would find no whole token.
    const delay = Math.max(0, Math.ceil((1 - this.#tokens) / this.#perMs));
    this.#timer = this.#clock.schedule(() => {
      this.#grant();
    }, delay);
  }
}
