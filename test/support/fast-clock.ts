// A mocked clock for tests that wait for time to pass: it moves one millisecond
// per turn of the event loop, so a wait of seconds takes milliseconds, while
// timers still fire in the order, and at the gaps, real time would give them.
// setTimeout and setInterval (global, node:timers and node:timers/promises, also
// where a module imported them by name), Date and performance.now all follow it
// until the test ends; then the real ones are back, for every module.
import { syncBuiltinESMExports } from "node:module";
import type { TestContext } from "node:test";

export function fastClock(t: TestContext): void {
  const timers = t.mock.timers;
  const reset = timers.reset.bind(timers);
  // Named imports of node:timers* are bindings of their own: the mock, and its
  // undoing, reach them only when the built-in modules' exports are synced.
  timers.reset = () => {
    reset();
    syncBuiltinESMExports();
  };
  timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: Date.now() });
  syncBuiltinESMExports();
  t.mock.method(performance, "now", () => Date.now());
  const turn = () => {
    try {
      timers.tick(1);
    } catch {
      // The test has ended and its mocks are undone: the clock stops with it.
      return;
    }
    setImmediate(turn);
  };
  setImmediate(turn);
}
