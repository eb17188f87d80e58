import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LeaderElector } from "../../src/election/elector.ts";
import {
  LeaseConflictError,
  type LeaseRecord,
  type LeaseSpecFields,
  type LeaseStore,
} from "../../src/election/lease.ts";
import { fastClock } from "../support/fast-clock.ts";

/** One Lease in memory, with resourceVersion checks like the API server's. */
class MemoryLease {
  record: LeaseRecord | undefined;
  #version = 0;

  write(fields: LeaseSpecFields): LeaseRecord {
    this.record = { ...fields, resourceVersion: String(++this.#version) };
    return { ...this.record };
  }
}

/** A candidate's connection to the lease; cutting it fails every call, like a partition. */
class Link implements LeaseStore {
  readonly description = "memory";
  cut = false;
  readonly #lease: MemoryLease;

  constructor(lease: MemoryLease) {
    this.#lease = lease;
  }

  async #check(): Promise<void> {
    await sleep(1);
    if (this.cut) throw new Error("connect ECONNREFUSED");
  }

  async get(): Promise<LeaseRecord | undefined> {
    await this.#check();
    return this.#lease.record ? { ...this.#lease.record } : undefined;
  }

  async create(fields: LeaseSpecFields): Promise<LeaseRecord> {
    await this.#check();
    if (this.#lease.record) throw new LeaseConflictError("exists");
    return this.#lease.write(fields);
  }

  async update(fields: LeaseSpecFields, resourceVersion: string): Promise<LeaseRecord> {
    await this.#check();
    if (this.#lease.record?.resourceVersion !== resourceVersion) {
      throw new LeaseConflictError("changed");
    }
    return this.#lease.write(fields);
  }
}

// The Lease keeps its duration in whole seconds.
const timing = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 150 };

function candidate(lease: MemoryLease, identity: string) {
  const link = new Link(lease);
  const elector = new LeaderElector(link, { identity, ...timing });
  return { link, elector };
}

describe("leader election", () => {
  test("a follower takes over a cut-off leader only after the leader has stopped, within the lease duration", async (t) => {
    fastClock(t);
    const lease = new MemoryLease();
    const a = candidate(lease, "a");
    const b = candidate(lease, "b");
    const stop = new AbortController();
    assert.equal(await a.elector.acquire(stop.signal), true);
    t.after(async () => {
      stop.abort();
      await b.elector.release();
    });
    let bLeadsAt = 0;
    const bAcquired = b.elector.acquire(stop.signal).then((won) => {
      bLeadsAt = performance.now();
      return won;
    });
    await sleep(700);
    assert.ok(a.elector.leading);
    assert.ok(!b.elector.leading, "the follower waits while the leader renews");

    const cutAt = performance.now();
    a.link.cut = true;
    const reason = await a.elector.lost;
    const lostAt = performance.now();
    assert.equal(reason, "renew-deadline");
    assert.ok(!a.elector.leading);
    assert.equal(await bAcquired, true);
    assert.equal(lease.record?.holderIdentity, "b");
    assert.equal(lease.record.leaseTransitions, 1);
    assert.ok(lostAt < bLeadsAt, "the old leader stopped before the new one started");
    assert.ok(
      bLeadsAt - cutAt <= timing.leaseDurationMs + timing.retryPeriodMs,
      `taken over ${(bLeadsAt - cutAt).toFixed(0)} ms after the cut`,
    );
  });

  test("a released lease is taken over at the follower's next look", async (t) => {
    fastClock(t);
    const lease = new MemoryLease();
    const a = candidate(lease, "a");
    const b = candidate(lease, "b");
    const stop = new AbortController();
    await a.elector.acquire(stop.signal);
    const bAcquired = b.elector.acquire(stop.signal).then(() => performance.now());
    await sleep(250);
    const releasedAt = performance.now();
    assert.equal(await a.elector.release(), true);
    assert.equal(lease.record?.holderIdentity, undefined);
    assert.equal(lease.record?.leaseDurationSeconds, 1);
    const took = (await bAcquired) - releasedAt;
    assert.ok(took < 2 * timing.retryPeriodMs, `taken over ${took.toFixed(0)} ms after release`);
    await b.elector.release();
  });

  test("candidates that start together elect exactly one leader", async (t) => {
    fastClock(t);
    const lease = new MemoryLease();
    const stop = new AbortController();
    const all = ["a", "b", "c", "d"].map((id) => candidate(lease, id));
    for (const c of all) void c.elector.acquire(stop.signal);
    await sleep(300);
    assert.equal(all.filter((c) => c.elector.leading).length, 1);
    assert.equal(
      all.find((c) => c.elector.leading)?.elector.identity,
      lease.record?.holderIdentity,
    );
    stop.abort();
    await Promise.all(all.map((c) => c.elector.release()));
  });

  test("a leader whose lease someone else holds stops at its next renew", async (t) => {
    fastClock(t);
    const lease = new MemoryLease();
    const a = candidate(lease, "a");
    await a.elector.acquire(new AbortController().signal);
    lease.write({ holderIdentity: "intruder", leaseDurationSeconds: 15, leaseTransitions: 5 });
    assert.equal(await a.elector.lost, "taken-over");
    assert.ok(!a.elector.leading);
    assert.equal(await a.elector.release(), false, "a lease lost is not handed back");
    assert.equal(lease.record?.holderIdentity, "intruder");
  });

  test("timings that would let a follower take over before the leader stops are refused", () => {
    assert.throws(
      () =>
        new LeaderElector(new Link(new MemoryLease()), {
          identity: "a",
          leaseDurationMs: 11_000,
          renewDeadlineMs: 10_000,
          retryPeriodMs: 2_000,
        }),
      /renew deadline plus the retry period/,
    );
  });
});
