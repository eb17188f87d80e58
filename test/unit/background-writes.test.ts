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

describe("background writes (events)", () => {
  test("at most `concurrency` writes run at once; the rest wait their turn", async () => {
    const dropped: string[] = [];
    const writer = new BackgroundWriter({
      concurrency: 2,
      maxPending: 10,
      dropped: (reason) => dropped.push(reason),
    });
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
    const dropped: string[] = [];
    const ran: string[] = [];
    const writer = new BackgroundWriter({
      concurrency: 1,
      maxPending: 2,
      dropped: (reason) => dropped.push(reason),
    });
    const first = gate();
    const push = (name: string, important: boolean, wait?: Promise<void>) => {
      writer.push({
        important,
        run: async () => {
          ran.push(name);
          await wait;
        },
      });
    };
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
    const told: string[] = [];
    const writer = new BackgroundWriter({
      concurrency: 1,
      maxPending: 1,
      dropped: () => undefined,
    });
    const first = gate();
    const push = (name: string, important: boolean, wait?: Promise<void>) => {
      writer.push({
        important,
        run: async () => {
          await wait;
        },
        dropped: () => told.push(name),
      });
    };
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
    const dropped: string[] = [];
    const writer = new BackgroundWriter({
      concurrency: 1,
      maxPending: 5,
      dropped: (reason) => dropped.push(reason),
    });
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
    const writer = new BackgroundWriter({
      concurrency: 2,
      maxPending: 10,
      dropped: () => undefined,
      mayRun: () => !busy,
    });
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
