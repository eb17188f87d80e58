import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BackgroundWriter,
  type BackgroundWriterOptions,
} from "../../src/kube/background-writes.ts";
import { FakeClock } from "./fakes/clock.ts";

/** A write that finishes when the test says so. */
function gate() {
  let open: () => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { done, open, fail };
}

/**
 * A writer (one write at a time unless told otherwise) that records what ran,
 * the reasons of drops, and the names of the writes told they were dropped.
 */
function recordingWriter(
  options: { maxPending: number } & Partial<Omit<BackgroundWriterOptions, "dropped">>,
) {
  const dropped: string[] = [];
  const ran: string[] = [];
  const told: string[] = [];
  const writer = new BackgroundWriter({
    concurrency: 1,
    ...options,
    dropped: (reason) => dropped.push(reason),
  });
  const push = (name: string, important: boolean, wait?: Promise<void>) => {
    writer.push({
      important,
      run: async () => {
        ran.push(name);
        await wait;
      },
      dropped: () => told.push(name),
    });
  };
  return { writer, dropped, ran, told, push };
}

describe("background writes (events)", () => {
  test("at most `concurrency` writes run at once; the rest wait their turn", async () => {
    const { writer, dropped } = recordingWriter({ concurrency: 2, maxPending: 10 });
    let running = 0;
    let most = 0;
    const gates = Array.from({ length: 5 }, gate);
    for (const g of gates) {
      writer.push({
        important: false,
        run: async () => {
          most = Math.max(most, ++running);
          await g.done;
          running--;
        },
      });
    }
    assert.equal(writer.pending, 3);
    for (const g of gates) g.open();
    await writer.idle();
    assert.equal(most, 2);
    assert.deepEqual(dropped, []);
  });

  test("a full queue drops and counts, and a warning takes the place of an older normal event", async () => {
    const { writer, dropped, ran, push } = recordingWriter({ maxPending: 2 });
    const first = gate();
    push("running", false, first.done);
    push("normal-1", false);
    push("normal-2", false);
    push("normal-3", false);
    push("warning", true);
    assert.deepEqual(dropped, ["queue_full", "queue_full"]);
    first.open();
    await writer.idle();
    assert.deepEqual(ran, ["running", "normal-2", "warning"]);
  });

  test("a write dropped from a full queue is told so, whether refused or made room for", async () => {
    const { writer, told, push } = recordingWriter({ maxPending: 1 });
    const first = gate();
    push("running", false, first.done);
    push("normal-1", false);
    push("normal-2", false);
    push("warning-1", true);
    push("warning-2", true);
    assert.deepEqual(told, ["normal-2", "normal-1", "warning-2"]);
    first.open();
    await writer.idle();
    assert.deepEqual(told, ["normal-2", "normal-1", "warning-2"]);
  });

  test("a failed write is counted, and later writes still run", async () => {
    const { writer, dropped } = recordingWriter({ maxPending: 5 });
    let ok = false;
    writer.push({ important: true, run: () => Promise.reject(new Error("403")) });
    writer.push({
      important: false,
      run: () => {
        ok = true;
        return Promise.resolve();
      },
    });
    await writer.idle();
    assert.deepEqual(dropped, ["write_failed"]);
    assert.equal(ok, true);
  });

  test("writes wait while busy says more urgent work is waiting, then go", async () => {
    let busy = true;
    let ran = 0;
    const { writer } = recordingWriter({ concurrency: 2, maxPending: 10, busy: () => busy });
    for (let i = 0; i < 3; i++) {
      writer.push({
        important: false,
        run: () => {
          ran++;
          return Promise.resolve();
        },
      });
    }
    assert.equal(ran, 0);
    assert.equal(writer.pending, 3);
    busy = false;
    writer.wake();
    await writer.idle();
    assert.equal(ran, 3);
  });

  /** A writer whose "controller" is busy until the test says otherwise, on a clock the test moves. */
  function yielding(maxWaitMs = 3_000) {
    const clock = new FakeClock(1_000_000);
    const state = { busy: true };
    const ran: string[] = [];
    const writer = new BackgroundWriter({
      concurrency: 2,
      maxPending: 10,
      dropped: () => undefined,
      busy: () => state.busy,
      maxWaitMs,
      clock,
    });
    const push = (name: string) => {
      writer.push({
        important: false,
        run: () => {
          ran.push(name);
          return Promise.resolve();
        },
      });
    };
    return { clock, state, ran, writer, push };
  }

  /** Lets the writes started so far finish and their completions run. */
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  test("an event waits while the controller is busy", async () => {
    const { clock, ran, writer, push } = yielding();
    push("a");
    push("b");
    clock.current += 2_999;
    writer.wake();
    await settle();
    assert.deepEqual(ran, []);
    assert.equal(writer.pending, 2);
  });

  test("an event goes as soon as the controller goes idle", async () => {
    const { state, ran, writer, push } = yielding();
    push("a");
    push("b");
    push("c");
    assert.deepEqual(ran, []);
    state.busy = false;
    writer.wake();
    await settle();
    assert.deepEqual(ran, ["a", "b", "c"]);
    assert.equal(writer.pending, 0);
  });

  test("an event goes after the longest wait even while the controller stays busy", async () => {
    const { clock, ran, writer, push } = yielding(3_000);
    push("old");
    writer.wake();
    clock.current += 2_000;
    push("new");
    assert.equal(clock.pending()[0]?.at, 1_003_000);
    await clock.next(settle());
    assert.deepEqual(ran, ["old"]);
    assert.equal(clock.pending()[0]?.at, 1_005_000);
    await clock.next(settle());
    assert.deepEqual(ran, ["old", "new"]);
    assert.equal(clock.pending().length, 0);
  });

  test("overdue events of a controller that stays busy go one at a time", async () => {
    const clock = new FakeClock(0);
    let running = 0;
    let most = 0;
    const writer = new BackgroundWriter({
      concurrency: 2,
      maxPending: 10,
      dropped: () => undefined,
      busy: () => true,
      maxWaitMs: 3_000,
      clock,
    });
    for (let i = 0; i < 4; i++) {
      writer.push({
        important: false,
        run: async () => {
          most = Math.max(most, ++running);
          await settle();
          running--;
        },
      });
    }
    await clock.next(settle());
    assert.equal(most, 1);
    for (let i = 0; i < 10 && writer.pending > 0; i++) await settle();
    assert.equal(writer.pending, 0);
    assert.equal(most, 1);
  });

  test("the flush at shutdown writes everything waiting, busy or not", async () => {
    const { clock, ran, writer, push } = yielding();
    for (const name of ["a", "b", "c", "d"]) push(name);
    await writer.idle();
    assert.deepEqual(ran, ["a", "b", "c", "d"]);
    assert.equal(writer.pending, 0);
    assert.equal(clock.pending().length, 0);
  });
});
