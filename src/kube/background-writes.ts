// A bounded queue of writes that nothing waits for (Kubernetes Events): a few
// run at a time, so they never crowd out the status writes that make objects
// Ready, and when too many are waiting the least important is dropped and
// counted, never lost silently. client-go's event broadcaster keeps 1,000 too.

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
   * False while more urgent writes are waiting (reconciles in the queue): these
   * writes then wait too, and are looked at again shortly.
   */
  mayRun?: () => boolean;
}

/** How soon writes held back by mayRun are looked at again. */
const RECHECK_MS = 200;

export const DEFAULT_BACKGROUND_WRITES = { concurrency: 2, maxPending: 1_000 } as const;

export class BackgroundWriter {
  readonly #pending: BackgroundWrite[] = [];
  readonly #options: BackgroundWriterOptions;
  #running = 0;
  #idle: (() => void)[] = [];
  #recheck: NodeJS.Timeout | undefined;

  constructor(options: BackgroundWriterOptions) {
    this.#options = options;
  }

  get pending(): number {
    return this.#pending.length;
  }

  push(write: BackgroundWrite): void {
    if (this.#pending.length >= this.#options.maxPending) {
      // Make room for an important write by dropping the oldest unimportant one.
      const victim = write.important ? this.#pending.findIndex((w) => !w.important) : -1;
      if (victim < 0) {
        write.dropped?.();
        this.#options.dropped("queue_full");
        return;
      }
      this.#pending.splice(victim, 1)[0]?.dropped?.();
      this.#options.dropped("queue_full");
    }
    this.#pending.push(write);
    this.#pump();
  }

  /** Resolves once nothing is pending or running; for shutdown and tests. */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    if (this.#pending.length > 0 && this.#options.mayRun && !this.#options.mayRun()) {
      if (this.#recheck === undefined) {
        this.#recheck = setTimeout(() => {
          this.#recheck = undefined;
          this.#pump();
        }, RECHECK_MS).unref();
      }
      return;
    }
    while (this.#running < this.#options.concurrency) {
      const write = this.#pending.shift();
      if (!write) break;
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
    if (this.#running === 0 && this.#pending.length === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}
