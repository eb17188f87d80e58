// Coalesces bursts of events per key: a key fires once nothing has come for it
// for `quietMs`, or `maxWaitMs` after its first event, whichever is sooner. A
// thousand grants created at once for ten policies then cost a few rebuilds of
// each policy, not one per grant, while a lone change still goes out promptly.
import type { Clock, Timer } from "./clock.ts";

export class Debouncer {
  readonly #clock: Clock;
  readonly #quietMs: number;
  readonly #maxWaitMs: number;
  readonly #fire: (key: string) => void;
  readonly #pending = new Map<string, { first: number; timer: Timer }>();

  constructor(clock: Clock, quietMs: number, maxWaitMs: number, fire: (key: string) => void) {
    this.#clock = clock;
    this.#quietMs = quietMs;
    this.#maxWaitMs = maxWaitMs;
    this.#fire = fire;
  }

  poke(key: string): void {
    const now = this.#clock.now();
    const pending = this.#pending.get(key);
    pending?.timer.cancel();
    const first = pending?.first ?? now;
    const delay = Math.max(0, Math.min(this.#quietMs, first + this.#maxWaitMs - now));
    const timer = this.#clock.schedule(() => {
      this.#pending.delete(key);
      this.#fire(key);
    }, delay);
    this.#pending.set(key, { first, timer });
  }

  cancel(key: string): void {
    this.#pending.get(key)?.timer.cancel();
    this.#pending.delete(key);
  }

  stop(): void {
    for (const { timer } of this.#pending.values()) timer.cancel();
    this.#pending.clear();
  }
}
