// What time it is and how to run something later. One seam, so tests can drive
// requeues, sweeps and background writes with a clock they move themselves
// instead of real timers.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  schedule(run: () => void, delayMs: number): Timer;
}

/**
 * The real clock. `unref` timers do not keep the process alive, for work that
 * only matters while something else runs (background writes).
 */
export function systemClockWith(options: { unref: boolean }): Clock {
  return {
    now: () => Date.now(),
    schedule: (run, delayMs) => {
      const timer = setTimeout(run, delayMs);
      if (options.unref) timer.unref();
      return {
        cancel: () => {
          clearTimeout(timer);
        },
      };
    },
  };
}

export const systemClock: Clock = systemClockWith({ unref: false });
