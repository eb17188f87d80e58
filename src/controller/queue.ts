// A work queue with client-go's guarantees: a key is processed by at most one
// worker at a time, adds of a key that is already waiting are coalesced, a key
// added while it is being processed runs again once afterwards (no update is
// lost), and failures back off per key until forget() resets them.
//
// Two lanes: foreground keys (a user's change, a retry) always go before
// background keys (a drift sweep's findings), and a background key added again
// in the foreground moves to the foreground lane.
//
// Within a lane, namespaces take turns (src/util/round-robin.ts): one key of
// each namespace that has keys waiting, then the next, so a namespace with a
// thousand keys waiting delays another namespace's key by at most one key of
// each other namespace. The namespace is only a fairness key, read from the
// key itself; it grants nothing.
import { systemClock, type Clock, type Timer } from "../util/clock.ts";
import { RoundRobin } from "../util/round-robin.ts";
import { Tally } from "../util/tally.ts";

/** Which lane a key waits in. */
export type Lane = "foreground" | "background";

export interface QueueObserver {
  depth(n: number): void;
  added(): void;
  retried(): void;
  waited(seconds: number): void;
  worked(seconds: number): void;
  active(workers: number): void;
  /** Namespaces with keys waiting, and the most keys one of them has waiting. */
  namespaces?(waiting: number, maxDepth: number): void;
  /** How long a namespace with keys waiting waited for its turn, each time it got one. */
  turnWaited?(seconds: number): void;
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5, maxMs: 1000_000 };

/** The namespace of a "namespace/name" key; a key without one shares the "" turn. */
export function namespaceOfKey(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? "" : key.slice(0, slash);
}

const noop: QueueObserver = {
  depth: () => undefined,
  added: () => undefined,
  retried: () => undefined,
  waited: () => undefined,
  worked: () => undefined,
  active: () => undefined,
};

export class WorkQueue {
  readonly #queue = new RoundRobin<string>();
  /** May hold keys since moved to the foreground; #waiting says where a key really is. */
  readonly #low = new RoundRobin<string>();
  readonly #waiting = new Map<string, Lane>();
  /** Keys waiting per namespace, both lanes together. */
  readonly #depths = new Tally();
  /** The lane of a key added while it was being processed. */
  readonly #rerun = new Map<string, Lane>();
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #addedAt = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; timer: Timer }>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #idleListeners: (() => void)[] = [];
  readonly #observer: QueueObserver;
  readonly #backoff: BackoffPolicy;
  readonly #clock: Clock;
  #shuttingDown = false;
  #active = 0;

  constructor(
    observer: QueueObserver = noop,
    backoff: BackoffPolicy = DEFAULT_BACKOFF,
    clock: Clock = systemClock,
  ) {
    this.#observer = observer;
    this.#backoff = backoff;
    this.#clock = clock;
  }

  get length(): number {
    return this.#waiting.size;
  }

  /** Keys being processed. */
  get inFlight(): number {
    return this.#processing.size;
  }

  /**
   * Calls the listener each time the last key being processed is done and none
   * waits (or none will be handed out: the queue is shutting down).
   */
  onIdle(listener: () => void): void {
    this.#idleListeners.push(listener);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  add(key: string, lane: Lane = "foreground"): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) {
      if (lane === "background") return;
      if (this.#processing.has(key)) this.#rerun.set(key, lane);
      else if (this.#waiting.get(key) === "background") {
        this.#waiting.set(key, lane);
        this.#queue.push(namespaceOfKey(key), key, this.#clock.now());
      }
      return;
    }
    this.#observer.added();
    this.#dirty.add(key);
    this.#addedAt.set(key, performance.now());
    if (this.#processing.has(key)) {
      this.#rerun.set(key, lane);
      return;
    }
    this.#push(key, lane);
  }

  /** Adds the key after a delay; of several pending delays the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.#clock.schedule(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, timer });
  }

  /** Requeues a failed key after its exponential backoff; returns the delay used. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = Math.min(this.#backoff.baseMs * 2 ** (failures - 1), this.#backoff.maxMs);
    this.#observer.retried();
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Drops a pending delayed add, for keys whose object is gone. */
  cancel(key: string): void {
    this.#delayed.get(key)?.timer.cancel();
    this.#delayed.delete(key);
    this.#failures.delete(key);
  }

  #push(key: string, lane: Lane): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#take(key);
      waiter(key);
      return;
    }
    this.#waiting.set(key, lane);
    const namespace = namespaceOfKey(key);
    (lane === "foreground" ? this.#queue : this.#low).push(namespace, key, this.#clock.now());
    this.#depths.add(namespace, 1);
    this.#depthChanged();
  }

  #depthChanged(): void {
    this.#observer.depth(this.#waiting.size);
    this.#observer.namespaces?.(this.#depths.flows, this.#depths.max);
  }

  /** The next waiting key, foreground first, namespaces in turn within a lane. */
  #next(): string | undefined {
    const now = this.#clock.now();
    for (const [lane, line] of [
      ["foreground", this.#queue],
      ["background", this.#low],
    ] as const) {
      const turn = line.shift((key) => this.#waiting.get(key) === lane, now);
      if (!turn) continue;
      this.#waiting.delete(turn.item);
      this.#depths.add(turn.flow, -1);
      this.#observer.turnWaited?.(Math.max(0, now - turn.since) / 1000);
      return turn.item;
    }
    return undefined;
  }

  #take(key: string): void {
    this.#dirty.delete(key);
    this.#processing.add(key);
    const addedAt = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (addedAt !== undefined) this.#observer.waited((performance.now() - addedAt) / 1000);
  }

  /**
   * Resolves with the next key, or undefined once the queue shuts down. Unlike
   * client-go, keys still waiting at shutdown are dropped: they are not lost,
   * because the next process (or leader) lists every object again.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#next();
    if (key !== undefined) {
      this.#depthChanged();
      this.#take(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    const lane = this.#rerun.get(key) ?? "foreground";
    this.#rerun.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key, lane);
    const idle = this.#waiting.size === 0 || this.#shuttingDown;
    if (idle && this.#processing.size === 0) for (const listener of this.#idleListeners) listener();
  }

  /** Stops handing out keys; keys being processed finish normally. */
  shutdown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) timer.cancel();
    this.#delayed.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  /**
   * Runs `concurrency` workers until shutdown(). Resolves when every worker has
   * finished its current key. A handler that throws is reported through onError;
   * it never stops its worker.
   */
  async run(
    concurrency: number,
    handler: (key: string) => Promise<void>,
    onError: (key: string, err: unknown) => void,
  ): Promise<void> {
    const worker = async () => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        this.#observer.active(++this.#active);
        const started = performance.now();
        try {
          await handler(key);
        } catch (err) {
          onError(key, err);
        } finally {
          this.#observer.worked((performance.now() - started) / 1000);
          this.#observer.active(--this.#active);
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
}
