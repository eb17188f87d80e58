// A bounded queue of writes that nothing waits for (Kubernetes Events): a few
// run at a time, and when too many are waiting the least important is dropped
// and counted, never lost silently. client-go's event broadcaster keeps 1,000 too.
//
// They also yield to the writes that make objects Ready: while the controller
// has reconciles waiting or in flight (`busy`), they wait, and go as soon as it
// says it is idle (`wake`). So that a controller that never goes idle cannot
// hold them for ever, the oldest goes anyway once it has waited `maxWaitMs`,
// one at a time while the controller stays busy.

import { systemClockWith, type Clock } from "../util/clock.ts";

export interface BackgroundWrite {
  /** Warning events outrank Normal ones when the queue is full. */
  important: boolean;
  run(): Promise<void>;
  /** Called when this write is dropped from a full queue, never to run. */
  dropped?(): void;
}

export interface BackgroundWriterOptions {
  concurrency: number;
  maxPending: number;
  /** A write was dropped: "queue_full" before it ran, "write_failed" when it failed. */
  dropped(reason: "queue_full" | "write_failed", err?: unknown): void;
  /**
   * True while more urgent writes are waiting or running (reconciles): these
   * writes then wait, until wake() or until the oldest has waited maxWaitMs.
   */
  busy?: () => boolean;
  /** The longest a write waits for `busy` to clear before it goes anyway. */
  maxWaitMs?: number;
  clock?: Clock;
}

/**
 * Long enough to keep events out of the way of a burst of reconciles (1,000
 * new objects converge in about ten seconds, and most of their events then wait
 * for the end), short enough that someone running `kubectl describe` after a
 * change still sees its event within a few seconds when the controller is never
 * idle.
 */
export const DEFAULT_MAX_WAIT_MS = 5_000;

export const DEFAULT_BACKGROUND_WRITES = { concurrency: 2, maxPending: 1_000 } as const;

const realClock = systemClockWith({ unref: true });

interface Waiting {
  write: BackgroundWrite;
  since: number;
}

export class BackgroundWriter {
  readonly #pending: Waiting[] = [];
  readonly #options: BackgroundWriterOptions;
  readonly #clock: Clock;
  readonly #maxWaitMs: number;
  #running = 0;
  #idle: (() => void)[] = [];
  #timer: { cancel(): void } | undefined;
  /** Set by idle(): everything goes now, busy or not (shutdown). */
  #draining = false;

  constructor(options: BackgroundWriterOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  get pending(): number {
    return this.#pending.length;
  }

  push(write: BackgroundWrite): void {
    if (this.#pending.length >= this.#options.maxPending) {
      // Make room for an important write by dropping the oldest unimportant one.
      const victim = write.important ? this.#pending.findIndex((w) => !w.write.important) : -1;
      if (victim < 0) {
        write.dropped?.();
        this.#options.dropped("queue_full");
        return;
      }
      this.#pending.splice(victim, 1)[0]?.write.dropped?.();
      this.#options.dropped("queue_full");
    }
    this.#pending.push({ write, since: this.#clock.now() });
    this.#pump();
  }

  /** The more urgent work is done: waiting writes may go now. */
  wake(): void {
    this.#pump();
  }

  /**
   * Writes everything waiting now, busy or not, and resolves once nothing is
   * pending or running; for shutdown and tests.
   */
  idle(): Promise<void> {
    this.#draining = true;
    if (this.#running === 0 && this.#pending.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#pump();
    return done;
  }

  #pump(): void {
    const free = this.#draining || this.#options.busy?.() !== true;
    // Overdue writes of a busy controller go one at a time: enough for a trickle
    // of changes, and a burst's reconciles keep all but one request slot.
    const slots = free ? this.#options.concurrency : 1;
    while (this.#running < slots) {
      const oldest = this.#pending[0];
      if (!oldest) break;
      if (!free && this.#clock.now() - oldest.since < this.#maxWaitMs) break;
      this.#pending.shift();
      this.#run(oldest.write);
    }
    this.#arm();
    if (this.#running === 0 && this.#pending.length === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  #run(write: BackgroundWrite): void {
    this.#running++;
    write
      .run()
      .catch((err: unknown) => {
        this.#options.dropped("write_failed", err);
      })
      .finally(() => {
        this.#running--;
        this.#pump();
      });
  }

  /** A timer for when the oldest waiting write may go regardless, unless one is set. */
  #arm(): void {
    const oldest = this.#pending[0];
    if (!oldest || this.#running > 0) {
      this.#timer?.cancel();
      this.#timer = undefined;
      return;
    }
    if (this.#timer !== undefined) return;
    const delay = Math.max(0, oldest.since + this.#maxWaitMs - this.#clock.now());
    this.#timer = this.#clock.schedule(() => {
      this.#timer = undefined;
      this.#pump();
    }, delay);
  }
}
