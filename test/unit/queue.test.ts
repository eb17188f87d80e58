import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WorkQueue, type Lane } from "../../src/controller/queue.ts";
import { FakeClock } from "./fakes/clock.ts";

const unexpected = (key: string, err: unknown) => {
  assert.fail(`${key} failed: ${String(err)}`);
};

describe("the work queue", () => {
  test("duplicate adds of a waiting key are coalesced into one reconcile", async () => {
    const queue = new WorkQueue();
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/b");
    assert.equal(queue.length, 2);
    const seen: string[] = [];
    const running = queue.run(
      1,
      async (key) => {
        seen.push(key);
        await Promise.resolve();
      },
      unexpected,
    );
    await sleep(20);
    queue.shutdown();
    await running;
    assert.deepEqual(seen, ["ns/a", "ns/b"]);
  });

  test("a key is never processed by two workers at once and an add during processing runs once more afterwards", async () => {
    const queue = new WorkQueue();
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    const running = queue.run(
      4,
      async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        runs++;
        if (runs === 1) {
          queue.add("ns/a");
          queue.add("ns/a");
        }
        await sleep(10);
        inFlight--;
      },
      unexpected,
    );
    queue.add("ns/a");
    await sleep(60);
    queue.shutdown();
    await running;
    assert.equal(maxInFlight, 1);
    assert.equal(runs, 2, "the update made during processing is not lost, and is coalesced");
  });

  test("concurrency is bounded by the number of workers", async () => {
    const queue = new WorkQueue();
    let inFlight = 0;
    let maxInFlight = 0;
    for (let i = 0; i < 20; i++) queue.add(`ns/${i}`);
    const running = queue.run(
      3,
      async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(5);
        inFlight--;
      },
      unexpected,
    );
    await sleep(100);
    queue.shutdown();
    await running;
    assert.equal(maxInFlight, 3);
  });

  test("failures back off exponentially per key and forget resets the backoff", () => {
    const queue = new WorkQueue(undefined, { baseMs: 10, maxMs: 50 });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => queue.addRateLimited("ns/a")),
      [10, 20, 40, 50, 50],
    );
    assert.equal(queue.addRateLimited("ns/b"), 10, "backoff is per key");
    queue.forget("ns/a");
    assert.equal(queue.addRateLimited("ns/a"), 10);
    queue.shutdown();
  });

  test("a delayed add fires after its delay and the earliest of several delays wins", async () => {
    const queue = new WorkQueue();
    queue.addAfter("ns/a", 200);
    queue.addAfter("ns/a", 10);
    assert.equal(queue.length, 0);
    await sleep(40);
    assert.equal(queue.length, 1);
    queue.shutdown();
  });

  test("shutdown lets the in-flight item finish and hands out no more work", async () => {
    const queue = new WorkQueue();
    const done: string[] = [];
    queue.add("ns/a");
    queue.add("ns/b");
    const running = queue.run(
      1,
      async (key) => {
        queue.shutdown();
        await sleep(10);
        done.push(key);
      },
      unexpected,
    );
    await running;
    assert.deepEqual(done, ["ns/a"]);
    queue.add("ns/c");
    assert.equal(queue.length, 1, "ns/b stays queued; adds after shutdown are ignored");
  });

  test("a handler that throws is reported and does not stop its worker", async () => {
    const queue = new WorkQueue();
    const errors: string[] = [];
    const seen: string[] = [];
    queue.add("ns/a");
    queue.add("ns/b");
    const running = queue.run(
      1,
      async (key) => {
        seen.push(key);
        await Promise.resolve();
        if (key === "ns/a") throw new Error("boom");
      },
      (key) => errors.push(key),
    );
    await sleep(20);
    queue.shutdown();
    await running;
    assert.deepEqual(errors, ["ns/a"]);
    assert.deepEqual(seen, ["ns/a", "ns/b"]);
  });

  test("foreground keys are served before background keys that were added earlier", async () => {
    const queue = new WorkQueue();
    queue.add("ns/sweep-1", "background");
    queue.add("ns/sweep-2", "background");
    queue.add("ns/change-1");
    queue.add("ns/change-2");
    assert.equal(queue.length, 4);
    assert.equal(await queue.get(), "ns/change-1");
    assert.equal(await queue.get(), "ns/change-2");
    assert.equal(await queue.get(), "ns/sweep-1");
    assert.equal(await queue.get(), "ns/sweep-2");
  });

  test("a background key added again in the foreground moves ahead, and runs once", async () => {
    const queue = new WorkQueue();
    queue.add("ns/a", "background");
    queue.add("ns/b", "background");
    queue.add("ns/c");
    queue.add("ns/b");
    queue.add("ns/c", "background");
    assert.equal(queue.length, 3);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const key = await queue.get();
      if (key === undefined) break;
      order.push(key);
      queue.done(key);
    }
    assert.deepEqual(order, ["ns/c", "ns/b", "ns/a"]);
    assert.equal(queue.length, 0, "the moved key left no second entry behind");
  });

  test("a key added in the foreground while it is processed runs again in the foreground", async () => {
    const queue = new WorkQueue();
    queue.add("ns/a", "background");
    const key = await queue.get();
    queue.add("ns/z", "background");
    queue.add("ns/a", "background");
    queue.add("ns/a");
    queue.done(key ?? "");
    assert.equal(await queue.get(), "ns/a");
    assert.equal(await queue.get(), "ns/z");
  });

  test("it says when it goes idle: the last key in flight is done and none waits", async () => {
    const queue = new WorkQueue();
    let idle = 0;
    queue.onIdle(() => idle++);
    queue.add("ns/a");
    queue.add("ns/b");
    const a = await queue.get();
    const b = await queue.get();
    assert.equal(queue.inFlight, 2);
    queue.add("ns/a");
    queue.done(a ?? "");
    assert.equal(idle, 0, "ns/b is still in flight");
    queue.done(b ?? "");
    assert.equal(idle, 0, "ns/a waits to run again");
    const again = await queue.get();
    queue.done(again ?? "");
    assert.equal(idle, 1);
    assert.equal(queue.inFlight, 0);
  });
});

describe("fair turns per namespace", () => {
  /** Keys handed out, in order, until `until` has been handed out. */
  async function order(queue: WorkQueue, until: string): Promise<string[]> {
    const seen: string[] = [];
    for (;;) {
      const key = await queue.get();
      assert.ok(key !== undefined);
      seen.push(key);
      queue.done(key);
      if (key === until) return seen;
    }
  }

  // Each row: keys already waiting per namespace and lane, then one key of a quiet namespace.
  const rows: {
    name: string;
    waiting: Record<string, number>;
    lane: Lane;
    /** The most keys handed out before the quiet namespace's key. */
    before: number;
  }[] = [
    {
      name: "one namespace with 1,000 keys",
      waiting: { flood: 1_000 },
      lane: "foreground",
      before: 1,
    },
    {
      name: "two namespaces with 500 each",
      waiting: { a: 500, b: 500 },
      lane: "foreground",
      before: 2,
    },
    {
      name: "a flood and a trickle",
      waiting: { flood: 800, small: 1 },
      lane: "foreground",
      before: 2,
    },
    { name: "a flood of sweep findings", waiting: { flood: 1_000 }, lane: "background", before: 1 },
  ];
  for (const row of rows) {
    test(`behind ${row.name}, another namespace's key waits at most one round (${String(row.before)} keys)`, async () => {
      const queue = new WorkQueue(undefined, undefined, new FakeClock());
      for (const [ns, n] of Object.entries(row.waiting)) {
        for (let i = 0; i < n; i++) queue.add(`${ns}/p${String(i)}`, row.lane);
      }
      queue.add("quiet/change", row.lane);
      const seen = await order(queue, "quiet/change");
      assert.ok(seen.length - 1 <= row.before, `handed out after ${String(seen.length - 1)} keys`);
      queue.shutdown();
    });
  }

  test("namespaces take turns, one key each, in the order they started waiting", async () => {
    const queue = new WorkQueue(undefined, undefined, new FakeClock());
    for (const key of ["a/1", "a/2", "a/3", "b/1", "c/1", "c/2"]) queue.add(key);
    const seen = await order(queue, "a/3");
    assert.deepEqual(seen, ["a/1", "b/1", "c/1", "a/2", "c/2", "a/3"]);
  });

  test("foreground still goes before background, whatever the namespaces", async () => {
    const queue = new WorkQueue(undefined, undefined, new FakeClock());
    queue.add("quiet/sweep-finding", "background");
    for (let i = 0; i < 5; i++) queue.add(`flood/p${String(i)}`);
    const seen = await order(queue, "quiet/sweep-finding");
    assert.equal(seen.at(-1), "quiet/sweep-finding");
    assert.equal(seen.length, 6);
  });

  test("a key that keeps failing waits out its backoff outside the queue, and the rest go on", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue(undefined, { baseMs: 1_000, maxMs: 60_000 }, clock);
    queue.add("flood/failing");
    const key = await queue.get();
    queue.done(key ?? "");
    queue.addRateLimited("flood/failing");
    assert.equal(queue.length, 0, "it holds no place while it backs off");
    queue.add("quiet/change");
    assert.equal(await queue.get(), "quiet/change");
    await clock.next();
    assert.equal(await queue.get(), "flood/failing");
  });

  test("depth per namespace is reported only as the number of namespaces waiting and the deepest one", async () => {
    const clock = new FakeClock();
    const reported: [number, number][] = [];
    const turns: number[] = [];
    const observer = {
      depth: () => undefined,
      added: () => undefined,
      retried: () => undefined,
      waited: () => undefined,
      worked: () => undefined,
      active: () => undefined,
      namespaces: (waiting: number, deepest: number) => reported.push([waiting, deepest]),
      turnWaited: (s: number) => turns.push(s),
    };
    const queue = new WorkQueue(observer, undefined, clock);
    for (const key of ["a/1", "a/2", "a/3", "b/1"]) queue.add(key);
    assert.deepEqual(reported.at(-1), [2, 3]);
    clock.current = 2_000;
    await queue.get();
    assert.deepEqual(reported.at(-1), [2, 2]);
    await queue.get();
    await queue.get();
    await queue.get();
    assert.deepEqual(reported.at(-1), [0, 0]);
    assert.deepEqual(
      turns,
      [2, 2, 0, 0],
      "a's first turn and b's waited 2 s; a's next came at once",
    );
  });
});
