import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BackgroundWriter } from "../../src/kube/background-writes.ts";

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
function recordingWriter(options: {
  maxPending: number;
  concurrency?: number;
  mayRun?: () => boolean;
}) {
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

  test("writes wait while mayRun says more urgent work is waiting, then go", async () => {
    let busy = true;
    let ran = 0;
    const { writer } = recordingWriter({ concurrency: 2, maxPending: 10, mayRun: () => !busy });
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
    await writer.idle();
    assert.equal(ran, 3);
  });
});
