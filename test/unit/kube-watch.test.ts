import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { StreamEvent, WatcherOptions } from "../../src/kube/reflector.ts";
import { nextPageSize, PolicyWatcher } from "../../src/kube/watch.ts";
import type { WatchTransport } from "../../src/kube/watch-stream.ts";
import { fastClock } from "../support/fast-clock.ts";

interface OpenWatch {
  resourceVersion: string;
  aborted: boolean;
  emit(type: string, object: unknown): void;
  end(err: unknown): void;
}

/** A transport the test drives: lists answer from `items`, watches are opened for the test to feed. */
class FakeTransport implements WatchTransport {
  items: KubernetesObject[] = [];
  resourceVersion = "1";
  lists = 0;
  watches: OpenWatch[] = [];
  failWatch: unknown;

  list(): Promise<{ items: KubernetesObject[]; resourceVersion: string }> {
    this.lists++;
    return Promise.resolve({ items: [...this.items], resourceVersion: this.resourceVersion });
  }

  watch(
    _namespace: string | undefined,
    resourceVersion: string,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<{ abort(): void }> {
    const open: OpenWatch = {
      resourceVersion,
      aborted: false,
      emit: (type, object) => {
        onEvent(type, object);
      },
      end: (err) => {
        onDone(err);
      },
    };
    this.watches.push(open);
    if (this.failWatch !== undefined) {
      const err = this.failWatch;
      queueMicrotask(() => {
        onDone(err);
      });
    }
    return Promise.resolve({
      abort: () => {
        open.aborted = true;
      },
    });
  }

  get current(): OpenWatch {
    const open = this.watches.at(-1);
    if (!open) throw new Error("no watch open");
    return open;
  }
}

function policy(name: string, resourceVersion: string): KubernetesObject {
  return { metadata: { namespace: "ns", name, resourceVersion } };
}

/** Watchers a test started; stopped after each test, so a failed one cannot keep the process alive. */
const started: PolicyWatcher[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop()));
});

function setup(options: WatcherOptions = {}) {
  const transport = new FakeTransport();
  const upserts: string[] = [];
  const removes: string[] = [];
  const errors: number[] = [];
  const events: StreamEvent[] = [];
  const watcher = new PolicyWatcher(
    transport,
    undefined,
    {
      upsert: (o) => upserts.push(`${o.metadata.name}@${o.metadata.resourceVersion ?? ""}`),
      remove: (o) => removes.push(o.metadata.name),
      error: (_err, _ns, retryInMs) => errors.push(retryInMs),
      event: (e) => events.push(e),
    },
    { minBackoffMs: 10, maxBackoffMs: 40, ...options },
  );
  started.push(watcher);
  return { transport, watcher, upserts, removes, errors, events };
}

async function until(what: string, check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("the policy watcher", () => {
  test("it lists, watches from the list's resourceVersion, and follows events and bookmarks", async (t) => {
    fastClock(t);
    const { transport, watcher, upserts, removes } = setup();
    transport.items = [policy("a", "3")];
    transport.resourceVersion = "5";
    watcher.start();
    await until("a watch", () => transport.watches.length === 1);
    assert.ok(watcher.synced);
    assert.deepEqual(upserts, ["a@3"]);
    assert.equal(transport.current.resourceVersion, "5");

    transport.current.emit("MODIFIED", policy("a", "6"));
    transport.current.emit("ADDED", policy("b", "7"));
    transport.current.emit("DELETED", policy("a", "8"));
    transport.current.emit("BOOKMARK", { metadata: { resourceVersion: "12" } });
    assert.deepEqual(upserts, ["a@3", "a@6", "b@7"]);
    assert.deepEqual(removes, ["a"]);
    assert.equal(watcher.get("ns", "b")?.metadata.resourceVersion, "7");
    assert.equal(watcher.get("ns", "a"), undefined);

    // The server ends a watch after its timeout: resume from the bookmark, no relist.
    await sleep(1_000);
    transport.current.end(null);
    await until("a second watch", () => transport.watches.length === 2);
    assert.equal(transport.current.resourceVersion, "12");
    assert.equal(transport.lists, 1);
    await watcher.stop();
  });

  test("a 410 Gone ERROR event relists, and objects deleted meanwhile become removes", async (t) => {
    fastClock(t);
    const { transport, watcher, upserts, removes, events } = setup();
    transport.items = [policy("a", "3"), policy("b", "4")];
    transport.resourceVersion = "5";
    watcher.start();
    await until("a watch", () => transport.watches.length === 1);

    transport.items = [policy("a", "9"), policy("c", "10")];
    transport.resourceVersion = "11";
    transport.current.emit("ERROR", {
      kind: "Status",
      code: 410,
      reason: "Expired",
      message: "too old resource version",
    });
    await until("a relist and a new watch", () => transport.watches.length === 2);
    assert.equal(transport.lists, 2);
    assert.ok(transport.watches[0]?.aborted);
    assert.equal(transport.current.resourceVersion, "11");
    assert.deepEqual(upserts, ["a@3", "b@4", "a@9", "c@10"]);
    assert.deepEqual(removes, ["b"]);
    assert.ok(events.some((e) => e.type === "expired"));
    await watcher.stop();
  });

  test("a 410 Gone HTTP status on connect relists too", async (t) => {
    fastClock(t);
    const { transport, watcher } = setup();
    watcher.start();
    await until("a watch", () => transport.watches.length === 1);
    transport.current.end(Object.assign(new Error("Gone"), { statusCode: 410 }));
    await until("a second watch", () => transport.watches.length === 2);
    assert.equal(transport.lists, 2);
    await watcher.stop();
  });

  test("the watchdog restarts a silent watch from the same resourceVersion without a relist", async (t) => {
    fastClock(t);
    const { transport, watcher, events } = setup({ silenceTimeoutMs: 300 });
    transport.resourceVersion = "5";
    watcher.start();
    await until("a watch", () => transport.watches.length === 1);
    const opened = performance.now();
    await until("a restarted watch", () => transport.watches.length === 2, 3_000);
    const restartedAfter = performance.now() - opened;
    assert.ok(restartedAfter >= 290, `restarted after ${restartedAfter} ms`);
    assert.ok(transport.watches[0]?.aborted, "the silent watch was closed");
    assert.equal(transport.current.resourceVersion, "5");
    assert.equal(transport.lists, 1);
    assert.ok(events.some((e) => e.type === "silent"));

    // Events keep a watch alive.
    const keepAlive = setInterval(() => {
      transport.current.emit("BOOKMARK", { metadata: { resourceVersion: "6" } });
    }, 100);
    await sleep(800);
    clearInterval(keepAlive);
    assert.equal(transport.watches.length, 2);
    await watcher.stop();
  });

  test("failed watches back off with growing delays and keep trying", async (t) => {
    fastClock(t);
    const { transport, watcher, errors } = setup();
    transport.failWatch = Object.assign(new Error("connect ECONNREFUSED"), {
      code: "ECONNREFUSED",
    });
    watcher.start();
    await until("four failures", () => errors.length >= 4);
    assert.ok(errors.every((delay, i) => i === 0 || delay >= (errors[i - 1] ?? 0) * 0.6));
    assert.ok(errors.every((delay) => delay <= 40 * 1.2));
    transport.failWatch = undefined;
    const before = transport.watches.length;
    await until("a watch that stays open", () => transport.watches.length === before + 1);
    await watcher.stop();
  });

  test("stop closes the open watch and nothing is opened after it", async (t) => {
    fastClock(t);
    const { transport, watcher } = setup();
    watcher.start();
    await until("a watch", () => transport.watches.length === 1);
    await watcher.stop();
    assert.ok(transport.current.aborted);
    await sleep(100);
    assert.equal(transport.watches.length, 1);
  });
});

test("a list page holds as many objects as fit its budget at the largest size seen", () => {
  assert.equal(nextPageSize(2_000, 500), 500);
  assert.equal(nextPageSize(1_400_000, 500), 5);
  assert.equal(nextPageSize(50_000_000, 500), 1);
});
