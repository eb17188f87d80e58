// The controller's sense of time: what time it is and how to run something
// later. One seam, so tests can drive reconciles, requeues and sweeps with a
// clock they move themselves instead of real timers.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  schedule(run: () => void, delayMs: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule: (run, delayMs) => {
    const timer = setTimeout(run, delayMs);
    return {
      cancel: () => {
        clearTimeout(timer);
      },
    };
  },
};
