// A clock whose timers run only when the test moves it.
import assert from "node:assert/strict";
import type { Clock } from "../../../src/util/clock.ts";

export interface FakeTimer {
  at: number;
  delayMs: number;
  run: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  current: number;
  readonly timers: FakeTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now = (): number => this.current;

  schedule = (run: () => void, delayMs: number) => {
    const timer = { at: this.current + delayMs, delayMs, run, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  };

  pending(): FakeTimer[] {
    return this.timers.filter((t) => !t.cancelled).sort((a, b) => a.at - b.at);
  }

  /** Runs the next timer, moving the clock to it; resolves when `done` does. */
  async next(done?: Promise<unknown>): Promise<void> {
    const timer = this.pending()[0];
    assert.ok(timer, "a timer is scheduled");
    timer.cancelled = true;
    this.current = timer.at;
    timer.run();
    await done;
  }
}
