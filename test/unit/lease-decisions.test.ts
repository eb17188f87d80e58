// The lease algorithm on its own: what a candidate writes given the record it
// read and its clock, with no timers and no store.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkTimings,
  decide,
  LeaseObservation,
  nextLookMs,
  releaseFields,
  type LeaseRecord,
} from "../../src/election/lease.ts";

const wallNow = new Date("2026-01-02T03:04:05Z");
const base = { identity: "a", leaseDurationMs: 15_000, renewOnly: false, wallNow };

function record(fields: Partial<LeaseRecord>): LeaseRecord {
  return { leaseDurationSeconds: 15, leaseTransitions: 3, resourceVersion: "7", ...fields };
}

describe("lease decisions", () => {
  test("no lease: a candidate creates it, a leader renewing counts it as lost", () => {
    assert.deepEqual(decide(undefined, { ...base, observedAt: 0, now: 0 }), {
      action: "create",
      fields: {
        holderIdentity: "a",
        leaseDurationSeconds: 15,
        acquireTime: wallNow,
        renewTime: wallNow,
        leaseTransitions: 0,
      },
    });
    assert.equal(
      decide(undefined, { ...base, renewOnly: true, observedAt: 0, now: 0 }).action,
      "wait",
    );
  });

  test("another holder's lease is taken over only once it has expired by the candidate's clock", () => {
    const held = record({ holderIdentity: "b" });
    assert.deepEqual(decide(held, { ...base, observedAt: 1_000, now: 15_999 }), {
      action: "wait",
      expiresAt: 16_000,
    });
    const taken = decide(held, { ...base, observedAt: 1_000, now: 16_000 });
    assert.equal(taken.action, "update");
    assert.equal(taken.resourceVersion, "7");
    assert.equal(taken.fields.holderIdentity, "a");
    assert.equal(taken.fields.leaseTransitions, 4);
    assert.equal(taken.fields.acquireTime, wallNow);
  });

  test("a renew keeps the acquire time and the transitions; a renew of another's lease is refused", () => {
    const acquired = new Date("2026-01-01T00:00:00Z");
    const own = record({ holderIdentity: "a", acquireTime: acquired });
    const renewed = decide(own, { ...base, renewOnly: true, observedAt: 0, now: 1 });
    assert.ok(renewed.action === "update");
    assert.equal(renewed.fields.acquireTime, acquired);
    assert.equal(renewed.fields.renewTime, wallNow);
    assert.equal(renewed.fields.leaseTransitions, 3);
    const expired = record({ holderIdentity: "b" });
    assert.equal(
      decide(expired, { ...base, renewOnly: true, observedAt: 0, now: 60_000 }).action,
      "wait",
    );
  });

  test("a released lease (no holder) is taken at once", () => {
    const released = record({ leaseDurationSeconds: 1 });
    assert.equal(decide(released, { ...base, observedAt: 5_000, now: 5_000 }).action, "update");
  });

  test("only the holder hands the lease back, with no holder and a 1 s duration", () => {
    assert.equal(releaseFields(record({ holderIdentity: "b" }), "a", wallNow), undefined);
    assert.equal(releaseFields(undefined, "a", wallNow), undefined);
    assert.deepEqual(releaseFields(record({ holderIdentity: "a" }), "a", wallNow), {
      leaseDurationSeconds: 1,
      acquireTime: wallNow,
      renewTime: wallNow,
      leaseTransitions: 3,
    });
  });

  test("a follower looks again at the latest when the lease expires", () => {
    assert.equal(nextLookMs(10_000, 9_500, 2_000), 501);
    assert.equal(nextLookMs(10_000, 5_000, 2_000), 2_000);
    assert.equal(nextLookMs(10_000, 12_000, 2_000), 1);
  });

  test("a changed record is dated to the previous read, but never more than a retry period back", () => {
    const seen = new LeaseObservation(2_000);
    assert.equal(seen.read(record({ holderIdentity: "b", resourceVersion: "1" }), 0, 10), true);
    assert.equal(seen.at, 10, "the first read dates the record to when it was read");
    assert.equal(
      seen.read(record({ holderIdentity: "b", resourceVersion: "1" }), 1_000, 1_010),
      false,
    );
    assert.equal(seen.at, 10, "an unchanged record keeps its date");
    seen.read(record({ holderIdentity: "b", resourceVersion: "2" }), 2_000, 2_010);
    assert.equal(seen.at, 1_000, "changed after the previous read began");
    seen.read(record({ holderIdentity: "c", resourceVersion: "3" }), 9_000, 9_010);
    assert.equal(seen.at, 7_010, "at most one retry period before this read");
    assert.equal(seen.holder, "c");
  });

  test("timings that would let a follower take over before the leader stops are refused", () => {
    const config = { identity: "a", leaseDurationMs: 15_000, renewDeadlineMs: 10_000 };
    assert.doesNotThrow(() => {
      checkTimings({ ...config, retryPeriodMs: 2_000 });
    });
    assert.throws(() => {
      checkTimings({ ...config, retryPeriodMs: 5_000 });
    }, /renew deadline plus the retry period/);
  });
});
